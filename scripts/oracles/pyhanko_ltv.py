#!/usr/bin/env python3
"""pyHanko's PAdES long-term validation of every signature in a PDF, offline (only what the
document carries: its DSS and timestamps), as an independent check of kyso's B-LT/B-LTA output.

usage: pyhanko_ltv.py FILE.pdf ROOT.pem LEVEL     LEVEL: lt | lta
prints one JSON object per signature: {"field", "bottom_line", "intact", "valid", "trusted",
"timestamp": bool, "modification_level", "error"} and exits 0 (verdicts are in the output).
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import RevocationInfoValidationType, validate_pdf_ltv_signature


def main():
    path, root, level = sys.argv[1], sys.argv[2], sys.argv[3]
    vtype = {
        "lt": RevocationInfoValidationType.PADES_LT,
        "lta": RevocationInfoValidationType.PADES_LTA,
    }[level]
    trust = load_cert_from_pemder(root)
    with open(path, "rb") as f:
        r = PdfFileReader(f, strict=False)
        for sig in r.embedded_regular_signatures:
            out = {"field": sig.field_name}
            try:
                st = validate_pdf_ltv_signature(
                    sig, vtype, validation_context_kwargs={"trust_roots": [trust]}
                )
                out.update(
                    bottom_line=bool(st.bottom_line),
                    intact=bool(st.intact),
                    valid=bool(st.valid),
                    trusted=bool(st.trusted),
                    timestamp=st.timestamp_validity is not None,
                    modification_level=str(st.modification_level),
                )
            except Exception as e:  # noqa: BLE001 — a failure is a verdict here
                out.update(bottom_line=False, error=f"{type(e).__name__}: {e}")
            print(json.dumps(out))


if __name__ == "__main__":
    main()
