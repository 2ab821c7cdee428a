#!/usr/bin/env python3
"""Make the pyHanko-signed corpus that kyso's verdicts are compared against.

usage: make_pyhanko_corpus.py OUTDIR --pki DIR [--base FILE.pdf]

DIR is a certomancer PKI made and served by `scripts/peers/certomancer.sh start DIR PORT`
(keys, certificates, and the TSA/OCSP/CRL services on the port in DIR/port). OUTDIR receives
the PDFs and `manifest.json`: for every file, how it was made and what pyHanko is expected to
say about each signature (see PROVENANCE.md next to this script). Nothing is committed: the
files depend on the keys, which certomancer.sh generates on first use.

Signing uses pyHanko's Python API (pyHanko 0.38.0); the base document is the committed
tests/corpus/one-page.pdf (fpdf2, see tests/corpus/NOTES.md).
"""
import argparse
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import info as pyhanko_info
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

ARCH = "kyso-demo"


class _MetadataClock(datetime):
    """pyHanko writes the trailer's /Info /ModDate (whole seconds) in every incremental
    update. Whether a later update changes /Info then depends on whether it is written within
    the same second as the signature — for LTV extensions and second signatures made in a real
    office, it never is. This clock, used only for /ModDate, advances one minute per update, so
    every later revision changes /Info, deterministically, as it would in practice."""

    _next = None

    @classmethod
    def now(cls, tz=None):
        if cls._next is None:
            cls._next = datetime.now(tz=tz).replace(microsecond=0)
        cls._next += timedelta(minutes=1)
        return cls._next


pyhanko_info.datetime = _MetadataClock
HERE = Path(__file__).resolve().parent


class Pki:
    def __init__(self, d: Path):
        self.dir = d
        self.port = (d / "port").read_text().strip()
        self.url = f"http://127.0.0.1:{self.port}/{ARCH}"
        self.root = load_cert_from_pemder(str(d / "certs/root.cert.pem"))
        self.timestamper = timestamps.HTTPTimeStamper(f"{self.url}/tsa/tsa")

    def signer(self, label):
        return signers.SimpleSigner.load(
            key_file=str(self.dir / f"keys/{label}.key.pem"),
            cert_file=str(self.dir / f"certs/{label}.cert.pem"),
            ca_chain_files=(str(self.dir / "certs/inter.cert.pem"),),
        )

    def vc(self):
        """Validation context used while signing B-LT/B-LTA (pyHanko fetches OCSP/CRLs)."""
        return ValidationContext(trust_roots=[self.root], allow_fetching=True)


# A stamp without the signer's name: pyHanko's built-in font is not for Vietnamese.
STAMP = TextStampStyle(stamp_text="Ky so DEMO (pyHanko)\n%(ts)s")
VISIBLE_BOX = (360, 60, 560, 130)


def sig(intact=True, trusted=True, revoked=False, modification="none", kind="signature"):
    """What pyHanko is expected to say about one signature.

    modification: "none" (nothing after it), "allowed" (only changes its policy allows),
    "disallowed"."""
    return {
        "kind": kind,
        "intact": intact,
        "trusted": trusted,
        "revoked": revoked,
        "modification": modification,
        # pyHanko's bottom line: intact, valid, trusted, not revoked, no disallowed change.
        "valid": intact and trusted and not revoked and modification != "disallowed",
    }


class Corpus:
    def __init__(self, out: Path, pki: Pki, base: Path):
        self.out, self.pki, self.base = out, pki, base
        self.entries = []

    def add(self, name, how, expected, gated=None):
        self.entries.append(
            {"file": name, "how": how, "pyhanko": expected, **({"gated": gated} if gated else {})}
        )

    def sign(self, src, dst, label, *, field="Signature1", visible=False, level="B-B",
             certify=None, new_field=True, force=False):
        """Sign SRC (a path) into DST with pyHanko; level is B-B, B-T, B-LT or B-LTA."""
        pki = self.pki
        meta = dict(field_name=field, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
                    reason="Phê duyệt (demo)", location="Tỉnh Demo")
        ts = None
        if level in ("B-T", "B-LT", "B-LTA"):
            ts = pki.timestamper
        if level in ("B-LT", "B-LTA"):
            meta.update(embed_validation_info=True, validation_context=pki.vc())
        if level == "B-LTA":
            meta.update(use_pades_lta=True)
        if certify is not None:
            meta.update(certify=True, docmdp_permissions=certify)
        with open(src, "rb") as inf:
            w = IncrementalPdfFileWriter(inf)
            if new_field:
                box = VISIBLE_BOX if visible else None
                fields.append_signature_field(w, SigFieldSpec(field, on_page=0, box=box))
            pdf_signer = signers.PdfSigner(
                signers.PdfSignatureMetadata(**meta),
                signer=pki.signer(label),
                timestamper=ts,
                stamp_style=STAMP if visible else None,
            )
            if force:
                # pyHanko refuses to sign a document whose certification forbids it; the
                # corpus needs exactly such a document, so skip that check.
                pdf_signer._enforce_certification_constraints = lambda _reader: None
            with open(self.out / dst, "wb") as outf:
                pdf_signer.sign_pdf(w, output=outf)

    def doc_timestamp(self, src, dst):
        with open(src, "rb") as inf:
            w = IncrementalPdfFileWriter(inf)
            with open(self.out / dst, "wb") as outf:
                signers.PdfTimeStamper(self.pki.timestamper).timestamp_pdf(
                    w, "sha256", validation_context=self.pki.vc(), output=outf
                )

    def update(self, src, dst, change):
        """An incremental update of SRC made by change(writer)."""
        with open(self.out / src, "rb") as inf:
            w = IncrementalPdfFileWriter(inf)
            change(w)
            with open(self.out / dst, "wb") as outf:
                w.write(outf)


def first_page(w):
    ref = w.root["/Pages"]["/Kids"].raw_get(0)
    return ref, ref.get_object()


def replace_content(w):
    """Point page 1 at a new content stream (the signed one stays in the file)."""
    ref, page = first_page(w)
    forged = generic.StreamObject(
        stream_data=b"BT /F1 28 Tf 72 720 Td (FORGED: DA THAY NOI DUNG) Tj ET\n"
    )
    page["/Contents"] = w.add_object(forged)
    w.mark_update(ref)


def add_annotation(w):
    """A sticky-note (/Text) annotation on page 1."""
    ref, page = first_page(w)
    annot = w.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Text"),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.FloatObject(x) for x in (72, 72, 92, 92)]),
        generic.NameObject("/Contents"): generic.TextStringObject("Ghi chú thêm sau khi ký (demo)"),
        generic.NameObject("/P"): ref,
    }))
    annots = page.raw_get("/Annots") if "/Annots" in page else None
    if isinstance(annots, generic.IndirectObject):
        arr = annots.get_object()
        arr.append(annot)
        w.mark_update(annots)
    else:
        arr = generic.ArrayObject(list(annots or [])) if annots is not None else generic.ArrayObject()
        arr.append(annot)
        page["/Annots"] = arr
        w.mark_update(ref)


def flip_signed_byte(src: Path, dst: Path):
    """Change one digit of the page's /MediaBox (inside the first signed byte range)."""
    data = bytearray(src.read_bytes())
    at = data.index(b"595.28")
    data[at + 5] = ord("9")
    dst.write_bytes(bytes(data))


def prepare_base(src: Path, dst: Path):
    """SRC plus an incremental update removing the catalog's /OpenAction.

    fpdf2's /OpenAction points at page 1; pyHanko's diff analysis then cannot tell a later
    update of page 1 (a new widget in its /Annots) from a suspicious one ("also used in
    .Root.OpenAction[0]") and flags even an allowed second signature as disallowed. Without
    it, pyHanko's verdicts on later changes reflect its policy rather than that quirk."""
    with open(src, "rb") as inf:
        w = IncrementalPdfFileWriter(inf)
        del w.root["/OpenAction"]
        w.update_root()
        with open(dst, "wb") as outf:
            w.write(outf)


def build(out: Path, pki: Pki, src: Path):
    """Make every file; the order matters (variants start from earlier files)."""
    base = out / "base.pdf"
    prepare_base(src, base)
    c = Corpus(out, pki, base)
    o = lambda name: out / name  # noqa: E731

    # Plain approval signatures: each PAdES level, RSA and ECDSA, visible and invisible.
    c.sign(base, "bb-rsa-invisible.pdf", "personal")
    c.add("bb-rsa-invisible.pdf", "PAdES B-B, RSA-2048 personal signer, invisible field", [sig()])
    c.sign(base, "bb-ecdsa-visible.pdf", "ecdsa", visible=True)
    c.add("bb-ecdsa-visible.pdf", "PAdES B-B, ECDSA P-256 signer, visible field with a text stamp",
          [sig()])
    c.sign(base, "bt-org-visible.pdf", "org", visible=True, level="B-T")
    c.add("bt-org-visible.pdf", "PAdES B-T (signature timestamp from certomancer's TSA), "
          "organization signer (RSA), visible", [sig()])
    c.sign(base, "bt-ecdsa-invisible.pdf", "ecdsa", level="B-T")
    c.add("bt-ecdsa-invisible.pdf", "PAdES B-T, ECDSA P-256 signer, invisible", [sig()])
    c.sign(base, "blt-rsa-invisible.pdf", "personal", level="B-LT")
    c.add("blt-rsa-invisible.pdf", "PAdES B-LT: B-T plus a DSS with the chain, OCSP responses "
          "and CRLs fetched from certomancer (a second revision)", [sig(modification="allowed")])
    c.sign(base, "blta-ecdsa-visible.pdf", "ecdsa", visible=True, level="B-LTA")
    c.add("blta-ecdsa-visible.pdf", "PAdES B-LTA: B-LT plus a document timestamp (and the "
          "TSA's revocation data in the DSS)",
          [sig(modification="allowed"), sig(kind="document_timestamp", modification="none")])
    c.sign(base, "blta-rsa-invisible.pdf", "personal", level="B-LTA")
    c.add("blta-rsa-invisible.pdf", "PAdES B-LTA, RSA personal signer, invisible",
          [sig(modification="allowed"), sig(kind="document_timestamp", modification="none")])

    # Revoked signer (revoked 2025-06-01, signing time = now, after the revocation).
    c.sign(base, "revoked-bb.pdf", "revoked")
    c.add("revoked-bb.pdf", "PAdES B-B by the signer revoked since 2025-06-01 (key compromise); "
          "the signing time is after the revocation", [sig(revoked=True)])

    # Certification signatures (DocMDP P=1, 2, 3) by the organization, then later changes.
    for p, perm in ((1, MDPPerm.NO_CHANGES), (2, MDPPerm.FILL_FORMS), (3, MDPPerm.ANNOTATE)):
        c.sign(base, f"cert-p{p}.pdf", "org", certify=perm, level="B-T")
        c.add(f"cert-p{p}.pdf", f"certification signature, DocMDP P={p}, organization signer, "
              "B-T", [sig()])

    # P=1: a document timestamp is allowed (PAdES LTA updates); a new signature is not.
    c.doc_timestamp(o("cert-p1.pdf"), "cert-p1-then-doctimestamp.pdf")
    c.add("cert-p1-then-doctimestamp.pdf", "cert-p1.pdf plus a document timestamp (DSS and "
          "timestamp updates are allowed even at P=1)",
          [sig(modification="allowed"), sig(kind="document_timestamp")])
    c.sign(o("cert-p1.pdf"), "cert-p1-then-signature.pdf", "personal", field="Signature2",
           force=True)
    c.add("cert-p1-then-signature.pdf", "cert-p1.pdf plus an approval signature in a new field "
          "(P=1 allows no change)", [sig(modification="disallowed"), sig()])

    # P=2: a new approval signature is allowed; an annotation is not.
    # (Invisible: pyHanko's diff policy refuses a new *visible* signature field after a
    # certification signature, allow_new_visible_after_certify=False by default.)
    c.sign(o("cert-p2.pdf"), "cert-p2-then-signature.pdf", "personal", field="Signature2")
    c.add("cert-p2-then-signature.pdf", "cert-p2.pdf plus an invisible approval signature in "
          "a new field (allowed at P=2)", [sig(modification="allowed"), sig()])
    c.update("cert-p2.pdf", "cert-p2-then-annotation.pdf", add_annotation)
    c.add("cert-p2-then-annotation.pdf", "cert-p2.pdf plus an incremental update adding a /Text "
          "annotation to page 1 (not allowed at P=2)", [sig(modification="disallowed")])

    # P=3: an annotation is allowed; replacing the page content is not.
    c.update("cert-p3.pdf", "cert-p3-then-annotation.pdf", add_annotation)
    # ISO 32000 permits annotations at P=3, but pyHanko 0.38's diff policy has no rule for
    # annotations other than signature widgets and refuses them at every level.
    c.add("cert-p3-then-annotation.pdf", "cert-p3.pdf plus a /Text annotation (permitted at "
          "P=3 by ISO 32000; refused by pyHanko's diff policy)",
          [sig(modification="disallowed")])
    c.update("cert-p3.pdf", "cert-p3-then-content.pdf", replace_content)
    c.add("cert-p3-then-content.pdf", "cert-p3.pdf plus an incremental update pointing page 1 "
          "at a new content stream (not allowed at P=3)", [sig(modification="disallowed")])

    # Modified variants of approval signatures.
    flip_signed_byte(o("bb-rsa-invisible.pdf"), o("mod-byte-flipped.pdf"))
    c.add("mod-byte-flipped.pdf", "bb-rsa-invisible.pdf with one digit of the /MediaBox changed "
          "(inside the signed byte range)",
          # pyHanko does not validate the certificate path of a signature that is not intact.
          [sig(intact=False, trusted=False)])
    c.update("bt-org-visible.pdf", "mod-content-replaced.pdf", replace_content)
    c.add("mod-content-replaced.pdf", "bt-org-visible.pdf plus an incremental update replacing "
          "page 1's content (an approval signature: pyHanko applies its default diff policy, "
          "which forbids it)", [sig(modification="disallowed")])
    c.update("bb-rsa-invisible.pdf", "mod-annotation-after-approval.pdf", add_annotation)
    c.add("mod-annotation-after-approval.pdf", "bb-rsa-invisible.pdf plus an added /Text "
          "annotation (no DocMDP: pyHanko's default policy does not allow annotations)",
          [sig(modification="disallowed")])
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--pki", type=Path, required=True)
    ap.add_argument("--base", type=Path,
                    default=HERE.parent / "corpus" / "one-page.pdf")
    a = ap.parse_args()
    a.outdir.mkdir(parents=True, exist_ok=True)
    c = build(a.outdir, Pki(a.pki), a.base)
    manifest = {
        "generator": "tests/peers/make_pyhanko_corpus.py",
        "base": os.path.relpath(a.base, HERE.parent.parent),
        "pki": "tests/peers/certomancer.yml (certomancer 0.16.0), trust anchor root.pem",
        "port": c.pki.port,
        "files": c.entries,
    }
    (a.outdir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    print(f"{len(c.entries)} files in {a.outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
