"""Lists a PDF's signature fields' widgets as pypdf sees them: one JSON object
each with the field name, the widget rectangle and its /F flags."""
import json
import sys

import pypdf

reader = pypdf.PdfReader(sys.argv[1], strict=False)
out = []
for page in reader.pages:
    for annot in page.get("/Annots") or []:
        annot = annot.get_object()
        if annot.get("/Subtype") != "/Widget":
            continue
        field = annot if "/FT" in annot else annot.get("/Parent").get_object()
        if field.get("/FT") != "/Sig":
            continue
        out.append({
            "name": str(field.get("/T")),
            "rect": [float(v) for v in annot["/Rect"]],
            "flags": int(annot.get("/F", 0)),
        })
print(json.dumps(out))
