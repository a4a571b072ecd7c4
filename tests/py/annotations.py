"""Lists a page's annotations as pypdf sees them: annotations.py PDF PAGE prints
one line per annotation: subtype, /Rect, and its appearance's /BBox and /Matrix."""
import sys

import pypdf

page = pypdf.PdfReader(sys.argv[1]).pages[int(sys.argv[2]) - 1]
for annot in page.get("/Annots") or []:
    annot = annot.get_object()
    normal = (annot.get("/AP") or {}).get("/N")
    normal = normal.get_object() if normal is not None else {}
    print(
        str(annot.get("/Subtype"))[1:],
        [float(v) for v in annot["/Rect"]],
        [float(v) for v in normal.get("/BBox", [])],
        [float(v) for v in normal.get("/Matrix", [1, 0, 0, 1, 0, 0])],
    )
