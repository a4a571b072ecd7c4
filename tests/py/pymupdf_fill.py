"""Fills a form as a PyMuPDF (MuPDF) user does: text fields by name, a pen
signature as an Ink annotation over the signature box, then saved whole or,
with --bake, flattened (fields and annotations drawn into the page, as
PyMuPDF's Document.bake() does).

pymupdf_fill.py IN OUT [--bake] [--no-ink] [name=value...]"""
import sys

import pymupdf

source, out = sys.argv[1:3]
flags = {a for a in sys.argv[3:] if a.startswith("--")}
values = dict(a.split("=", 1) for a in sys.argv[3:] if not a.startswith("--"))
doc = pymupdf.open(source)
for page in doc:
    for widget in page.widgets():
        if widget.field_name in values:
            widget.field_value = values[widget.field_name]
            widget.update()
        if widget.field_name == "signer_signature" and "--no-ink" not in flags:
            r = widget.rect
            stroke = [
                (r.x0 + r.width * (0.1 + 0.8 * i / 24), r.y0 + r.height * (0.5 + (0.25 if i % 2 else -0.2)))
                for i in range(25)
            ]
            annot = page.add_ink_annot([stroke])
            annot.set_border(width=1.6)
            annot.set_colors(stroke=(0, 0, 0.4))
            annot.update()
if "--bake" in flags:
    doc.bake()
doc.save(out, garbage=3, deflate=True)
