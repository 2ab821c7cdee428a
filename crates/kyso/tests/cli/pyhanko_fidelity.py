#!/usr/bin/env python3
"""pyHanko as the first signer and as a second opinion for the byte-fidelity test (fidelity.rs).

usage: pyhanko_fidelity.py sign approval|certify IN.pdf OUT.pdf KEY.p12 PASSWORD
       pyhanko_fidelity.py levels ROOT.pem FILE.pdf [FILE.pdf ...]

sign approval: a visible approval signature in a new field on page 1 (pyHanko rewrites page 1
  and the catalog; PAdES B-B). sign certify: an invisible certification signature, DocMDP P=2.
levels: per file, one JSON line {"file", "signatures": [{"level", "suspicious"}]}: pyHanko's
  difference analysis of each signature (strict syntax) under its default diff policy except
  that a new *visible* signature field after a certification is allowed
  (SigFieldCreationRule(allow_new_visible_after_certify=True)): the modification level, or the
  reason it found a suspicious modification.
"""
import json
import sys

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY, StandardDiffPolicy, FormUpdatingRule, SigFieldCreationRule,
    SigFieldModificationRule, GenericFieldModificationRule,
)
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.diff_analysis.policy_api import SuspiciousModification


def sign(mode, src, dst, p12, password):
    signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=password.encode())
    meta = dict(field_name="PyHanko1", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256")
    # Clear of where kyso's forms go in fidelity.rs (a new signature over another one's
    # widget is a change of its own, not what this test is about).
    box = (20, 100, 120, 140) if mode == "approval" else None
    if mode == "certify":
        meta.update(certify=True, docmdp_permissions=MDPPerm.FILL_FORMS)
    with open(src, "rb") as inf:
        w = IncrementalPdfFileWriter(inf, strict=True)
        fields.append_signature_field(w, fields.SigFieldSpec("PyHanko1", on_page=0, box=box))
        with open(dst, "wb") as out:
            signers.PdfSigner(signers.PdfSignatureMetadata(**meta), signer=signer).sign_pdf(
                w, output=out)


def levels(root, files):
    policy = StandardDiffPolicy(
        global_rules=DEFAULT_DIFF_POLICY.global_rules,
        form_rule=FormUpdatingRule(field_rules=[
            SigFieldCreationRule(allow_new_visible_after_certify=True),
            SigFieldModificationRule(), GenericFieldModificationRule(),
        ]),
    )
    for path in files:
        out = {"file": path, "signatures": []}
        with open(path, "rb") as f:
            r = PdfFileReader(f, strict=True)
            for s in r.embedded_signatures:
                s.compute_integrity_info()
                res = s.evaluate_modifications(policy)
                if isinstance(res, SuspiciousModification):
                    out["signatures"].append({"level": None, "suspicious": str(res)})
                else:
                    out["signatures"].append(
                        {"level": res.modification_level.name, "suspicious": None})
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "sign":
        sign(*sys.argv[2:7])
    else:
        levels(sys.argv[2], sys.argv[3:])
