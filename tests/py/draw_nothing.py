"""Adds to page 1 of a filled form, in an incremental update, things that
draw nothing, as some PDF programs leave them: an image XObject painted at
zero size (`0 0 0 0 cm`), an empty `q Q` pair, and a Square annotation whose
appearance stream is empty. With --visible the image is painted 100 pt wide
instead, over the policy text: a real change.

draw_nothing.py IN OUT [--visible]"""
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

source, out = sys.argv[1:3]
visible = "--visible" in sys.argv[3:]
writer = pypdf.PdfWriter(pypdf.PdfReader(source), incremental=True)
page = writer.pages[0]

image = DecodedStreamObject()
image.set_data(bytes([0]) * 64)
image.update({
    NameObject("/Type"): NameObject("/XObject"),
    NameObject("/Subtype"): NameObject("/Image"),
    NameObject("/Width"): NumberObject(8),
    NameObject("/Height"): NumberObject(8),
    NameObject("/ColorSpace"): NameObject("/DeviceGray"),
    NameObject("/BitsPerComponent"): NumberObject(8),
})
resources = page["/Resources"].get_object()
xobjects = resources.get("/XObject")
if xobjects is None:
    xobjects = DictionaryObject()
    resources[NameObject("/XObject")] = xobjects
xobjects.get_object()[NameObject("/ImAdded")] = writer._add_object(image)
matrix = "100 0 0 100 200 400" if visible else "0 0 0 0 200 400"
added = DecodedStreamObject()
added.set_data(f"q Q q {matrix} cm /ImAdded Do Q".encode())
contents = page["/Contents"]
streams = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
page[NameObject("/Contents")] = ArrayObject(streams + [writer._add_object(added)])

empty = DecodedStreamObject()
empty.set_data(b"")
empty.update({
    NameObject("/Type"): NameObject("/XObject"),
    NameObject("/Subtype"): NameObject("/Form"),
    NameObject("/BBox"): ArrayObject([FloatObject(0)] * 4),
})
note = DictionaryObject({
    NameObject("/Type"): NameObject("/Annot"),
    NameObject("/Subtype"): NameObject("/Square"),
    NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (100, 500, 300, 600)]),
    NameObject("/F"): NumberObject(4),
    NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(empty)}),
})
if "/Annots" not in page:
    page[NameObject("/Annots")] = ArrayObject()
page["/Annots"].get_object().append(writer._add_object(note))
with open(out, "wb") as f:
    writer.write(f)
