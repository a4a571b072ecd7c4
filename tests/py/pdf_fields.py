"""Each form field's widget as pikepdf reads it, one line per field:
  <name> | <TU> | <F flags> | <appearance keys> | <StructParent>
and fails when the AcroForm asks viewers to regenerate appearances
(NeedAppearances) or a page with widgets has no /Tabs /S.
usage: pdf_fields.py FILE
"""
import sys

import pikepdf

pdf = pikepdf.open(sys.argv[1])
acro = pdf.Root.AcroForm
assert not acro.get("/NeedAppearances", False), "NeedAppearances is set"
for number, page in enumerate(pdf.pages, 1):
    widgets = [a for a in page.get("/Annots", []) if a.get("/Subtype") == "/Widget"]
    if widgets:
        assert page.get("/Tabs") == "/S", f"page {number} has widgets but no /Tabs /S"
for field in acro.Fields:
    print(
        " | ".join(
            [
                str(field.T),
                str(field.get("/TU", "")),
                str(int(field.get("/F", 0))),
                ",".join(k[1:] for k in field.AP.keys()),
                str(field.get("/StructParent")),
            ]
        )
    )
