#!/usr/bin/env python3
"""Sign a PDF with pyHanko's CSC client (pyhanko.sign.signers.csc_signer.CSCSigner) through a
CSC service — the independent client the test suite runs against `kyso csc serve`.

usage: pyhanko_csc_sign.py BASE_URL CREDENTIAL_ID IN.pdf OUT.pdf

Environment: CSC_USER, CSC_PASSWORD (HTTP Basic for auth/login), CSC_PIN (the credential's
PIN, sent with credentials/authorize). pyHanko's CSC client speaks API v1 (`/csc/v1/...`,
fields `hash`, `hashAlgo`); the SAD is requested per signature, bound to its hash (SCAL 2).
Prints nothing on success; secrets are never printed.
"""
import asyncio
import base64
import os
import sys

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import csc_signer


class PinAuthorizationManager(csc_signer.CSCAuthorizationManager):
    """credentials/authorize with the PIN and the hashes (explicit authorization)."""

    def __init__(self, session, pin, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.pin = pin

    async def authorize_signature(self, hash_b64s):
        req = self.format_csc_auth_request(
            num_signatures=len(hash_b64s), pin=self.pin, hash_b64s=hash_b64s
        )
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.session.post(
            url, headers=self.auth_headers, json=req, raise_for_status=True
        ) as resp:
            data = await resp.json()
        return self.parse_csc_auth_response(data)


async def main():
    base, credential, src, dst = sys.argv[1:5]
    user, password, pin = (os.environ[k] for k in ("CSC_USER", "CSC_PASSWORD", "CSC_PIN"))
    async with aiohttp.ClientSession() as session:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        async with session.post(
            f"{base}/csc/v1/auth/login",
            headers={"Authorization": f"Basic {basic}"},
            json={},
            raise_for_status=True,
        ) as resp:
            token = (await resp.json())["access_token"]
        info = csc_signer.CSCServiceSessionInfo(
            service_url=base, credential_id=credential, oauth_token=token, api_ver="v1"
        )
        cred = await csc_signer.fetch_certs_in_csc_credential(session, info)
        auth = PinAuthorizationManager(
            session, pin, csc_session_info=info, credential_info=cred
        )
        signer = csc_signer.CSCSigner(session=session, auth_manager=auth)
        meta = signers.PdfSignatureMetadata(
            field_name="PyHankoCSC", subfilter=fields.SigSeedSubFilter.PADES
        )
        with open(src, "rb") as inf:
            w = IncrementalPdfFileWriter(inf, strict=False)
            pdf_signer = signers.PdfSigner(meta, signer=signer)
            with open(dst, "wb") as outf:
                await pdf_signer.async_sign_pdf(w, output=outf)


if __name__ == "__main__":
    asyncio.run(main())
