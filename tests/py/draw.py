"""Draws a signature over the signature box the way PDF readers save one: an Ink
annotation (Acrobat, Preview) or a Stamp (Firefox's pdf.js), with its appearance
stream, after filling text fields; saved incrementally (Acrobat, pdf.js) or
rewritten (Chrome, Preview).

draw.py IN OUT ink|stamp incremental|rewrite [@box=FIELD] [name=value...]
(@box: the signature box to draw over; signer_signature unless given.)"""
import sys

import pypdf
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
)

source, out, kind, mode = sys.argv[1:5]
values = dict(arg.split("=", 1) for arg in sys.argv[5:])
signature_box = values.pop("@box", "signer_signature")
reader = pypdf.PdfReader(source)
if mode == "incremental":
    writer = pypdf.PdfWriter(reader, incremental=True)
else:
    writer = pypdf.PdfWriter(clone_from=reader)
if values:
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)

drawn = False
for page in writer.pages:
    for annot in list(page.get("/Annots") or []):
        widget = annot.get_object()
        if widget.get("/T") != signature_box:
            continue
        x0, y0, x1, y1 = [float(v) for v in widget["/Rect"]]
        w, h = x1 - x0, y1 - y0
        # A handwritten-looking zigzag across the middle of the box.
        points = [(w * (0.1 + 0.8 * i / 24), h * (0.5 + (0.25 if i % 2 else -0.2))) for i in range(25)]
        path = " ".join(f"{x:.1f} {y:.1f} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(points))
        appearance = DecodedStreamObject()
        appearance.set_data(f"q 0 0 0.4 RG 1.6 w 1 J 1 j {path} S Q".encode())
        appearance.update({
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(w), FloatObject(h)]),
        })
        annotation = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Ink" if kind == "ink" else "/Stamp"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (x0, y0, x1, y1)]),
            NameObject("/F"): NumberObject(4),
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(appearance)}),
        })
        if kind == "ink":
            annotation[NameObject("/InkList")] = ArrayObject([
                ArrayObject([FloatObject(c) for x, y in points for c in (x0 + x, y0 + y)])
            ])
        page[NameObject("/Annots")].append(writer._add_object(annotation))
        drawn = True
if not drawn:
    sys.exit("no signer_signature widget")
writer.write(out)
