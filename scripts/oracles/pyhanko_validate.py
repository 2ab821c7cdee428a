#!/usr/bin/env python3
"""Validate signed PDFs with pyHanko in one process (the oracle the test suite trusts).

usage: pyhanko_validate.py ROOT.pem FILE.pdf [FILE.pdf ...]

Prints one JSON object per file on stdout:
  {"file": ..., "strict": bool, "error": null | "...",
   "signatures": [{"field": ..., "intact": bool, "valid": bool, "trusted": bool,
                   "coverage": "ENTIRE_FILE" | "ENTIRE_REVISION" | ...,
                   "modification_level": "NONE" | "LTA_UPDATES" | "FORM_FILLING" | ...,
                   "docmdp_ok": bool | null, "signer": "...", "summary": "..."}]}
Revocation is not checked (the demo PKI's responder is not running); strict syntax is on.
Equivalent, one file at a time: pyhanko sign validate --trust ROOT.pem --trust-replace
--no-revocation-check FILE.pdf
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def name(level):
    return None if level is None else getattr(level, "name", str(level))


def validate(path, root, strict):
    out = {"file": path, "strict": strict, "error": None, "signatures": []}
    with open(path, "rb") as f:
        reader = PdfFileReader(f, strict=strict)
        for sig in reader.embedded_signatures:
            vc = ValidationContext(trust_roots=[root], allow_fetching=False)
            st = validate_pdf_signature(sig, vc)
            out["signatures"].append({
                        "field": sig.field_name,
                        "intact": bool(st.intact),
                        "valid": bool(st.valid),
                        "trusted": bool(st.trusted),
                        "coverage": name(st.coverage),
                        "modification_level": name(st.modification_level),
                        "docmdp_ok": st.docmdp_ok,
                        "signer": st.signing_cert.subject.human_friendly,
                "summary": st.summary(),
            })
    return out


def main():
    root = load_cert_from_pemder(sys.argv[1])
    for path in sys.argv[2:]:
        try:
            try:
                out = validate(path, root, strict=True)
            except Exception as e:
                # pyHanko validates hybrid-reference files only in non-strict mode (its CLI:
                # --no-strict-syntax); the output records that it was needed.
                if "hybrid-reference" not in str(e):
                    raise
                out = validate(path, root, strict=False)
        except Exception as e:  # reported, not raised: the test decides
            out = {"file": path, "error": f"{type(e).__name__}: {e}", "signatures": []}
        print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
