"""Lists a PDF's form fields as pypdf sees them: one JSON object per widget with the
field name, type, value, page number, the widget rectangle and the page's box."""
import json
import sys

import pypdf


def plain(value):
    """A field's value as JSON holds it: text and names as they are, a
    signature's dictionary as "(signature)"."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    value = value.get_object()
    if isinstance(value, dict):
        return "(signature)" if "/ByteRange" in value else "(dictionary)"
    return str(value)


reader = pypdf.PdfReader(sys.argv[1])
out = {"fields": [], "viewer_preferences": None, "metadata": {}}
for number, page in enumerate(reader.pages, start=1):
    for annot in page.get("/Annots") or []:
        annot = annot.get_object()
        if annot.get("/Subtype") != "/Widget":
            continue
        out["fields"].append({
            "name": annot.get("/T"),
            "type": annot.get("/FT"),
            "value": plain(annot.get("/V")),
            "page": number,
            "rect": [float(v) for v in annot["/Rect"]],
            "page_box": [float(v) for v in page.mediabox],
            "has_appearance": "/AP" in annot,
        })
prefs = reader.trailer["/Root"].get("/ViewerPreferences")
if prefs is not None:
    out["viewer_preferences"] = {k: str(v) for k, v in prefs.get_object().items()}
out["metadata"] = {k: str(v) for k, v in (reader.metadata or {}).items()}
xmp = reader.xmp_metadata
out["xmp_has_form_id"] = xmp is not None and b"aup:formId" in xmp.stream.get_data()
print(json.dumps(out))
