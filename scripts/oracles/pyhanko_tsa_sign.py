#!/usr/bin/env python3
"""Sign a PDF with pyHanko using a timestamp from a TSA, then validate it with revocation
checked online (OCSP/CRL fetched from the URLs in the certificates), as pyHanko's own oracle
of kyso's PKI services (`kyso pki serve`).

usage: pyhanko_tsa_sign.py ROOT.pem SIGNER.p12 TSA_URL IN.pdf OUT.pdf
       (the PKCS#12 password is read from the environment variable KYSO_TEST_PW)

Prints one JSON object on stdout:
  {"signed": bool, "error": null | "...", "intact": bool, "valid": bool, "trusted": bool,
   "revoked": bool, "timestamp": {"intact", "valid", "trusted", "gen_time"} | null,
   "summary": "..."}
Equivalent on the command line:
  pyhanko sign addsig --field Sig1 --timestamp-url TSA_URL pkcs12 --passfile F IN OUT SIGNER.p12
  pyhanko sign validate --trust ROOT.pem --trust-replace OUT.pdf
"""
import json
import os
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers, timestamps
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main():
    root_path, p12, tsa_url, inp, outp = sys.argv[1:6]
    out = {"signed": False, "error": None}
    try:
        signer = signers.SimpleSigner.load_pkcs12(
            p12, passphrase=os.environ["KYSO_TEST_PW"].encode()
        )
        meta = signers.PdfSignatureMetadata(field_name="Sig1", md_algorithm="sha256")
        with open(inp, "rb") as f:
            w = IncrementalPdfFileWriter(f, strict=False)
            signed = signers.sign_pdf(
                w, meta, signer=signer, timestamper=timestamps.HTTPTimeStamper(tsa_url)
            )
        with open(outp, "wb") as f:
            f.write(signed.getvalue())
        out["signed"] = True
        root = load_cert_from_pemder(root_path)
        with open(outp, "rb") as f:
            sig = PdfFileReader(f, strict=False).embedded_signatures[0]
            # Online: OCSP and CRLs fetched from kyso's services; hard-fail when unreachable.
            vc = ValidationContext(
                trust_roots=[root], allow_fetching=True, revocation_mode="hard-fail"
            )
            tvc = ValidationContext(
                trust_roots=[root], allow_fetching=True, revocation_mode="hard-fail"
            )
            st = validate_pdf_signature(
                sig, signer_validation_context=vc, ts_validation_context=tvc
            )
            ts = st.timestamp_validity
            out.update(
                {
                    "intact": bool(st.intact),
                    "valid": bool(st.valid),
                    "trusted": bool(st.trusted),
                    "revoked": bool(getattr(st, "revoked", False)),
                    "timestamp": None
                    if ts is None
                    else {
                        "intact": bool(ts.intact),
                        "valid": bool(ts.valid),
                        "trusted": bool(ts.trusted),
                        "gen_time": ts.timestamp.isoformat(),
                    },
                    "summary": st.summary(),
                }
            )
    except Exception as e:  # reported, not raised: the test decides
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
