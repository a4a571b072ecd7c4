"""Where a return's page differs from the issued form's, as poppler renders
both at 72 dpi: per field box of the form ("<field>: inked" when the box has
dark pixels in the return and not in the form, else "<field>: blank"), and how
many pixels changed outside every field box ("outside boxes: N pixels changed").
Pages are compared one by one; only pages with a field box are reported.
usage: ink_outside_boxes.py ISSUED RETURN
"""
import subprocess
import sys
import tempfile

import pypdf


def render(pdf, page, folder, name):
    out = f"{folder}/{name}"
    subprocess.run(
        ["pdftoppm", "-r", "72", "-gray", "-f", str(page), "-l", str(page), pdf, out],
        check=True,
    )
    import glob

    path = sorted(glob.glob(out + "*.pgm"))[0]
    with open(path, "rb") as f:
        data = f.read()
    # P5 width height maxval, then bytes.
    parts = data.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    return width, height, parts[4][: width * height]


issued, returned = sys.argv[1], sys.argv[2]
reader = pypdf.PdfReader(issued)
with tempfile.TemporaryDirectory() as folder:
    for number, page in enumerate(reader.pages, 1):
        boxes = []
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") == "/Widget" and annot.get("/T"):
                x0, y0, x1, y1 = [float(v) for v in annot["/Rect"]]
                boxes.append((str(annot["/T"]), min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        if not boxes:
            continue
        w, h, before = render(issued, number, folder, f"a{number}")
        _, _, after = render(returned, number, folder, f"b{number}")
        page_height = float(page.mediabox.height)
        scale = h / page_height

        def in_box(x, y, box, margin=1):
            _, x0, y0, x1, y1 = box
            px, py = x / scale, page_height - y / scale
            return x0 - margin <= px <= x1 + margin and y0 - margin <= py <= y1 + margin

        changed_outside = 0
        inked = {b[0]: 0 for b in boxes}
        for y in range(h):
            row = y * w
            for x in range(w):
                a, b = before[row + x], after[row + x]
                if a == b:
                    continue
                inside = [box for box in boxes if in_box(x, y, box)]
                if not inside:
                    changed_outside += 1
                elif b < 128:
                    inked[inside[0][0]] += 1
        for name, count in inked.items():
            print(f"{name}: {'inked' if count > 20 else 'blank'}")
        print(f"outside boxes: {changed_outside} pixels changed")
