"""Writes the page a drawing app saves when a person draws their signature to
stamp onto a form: stamp_pages.py OUT PAGES PAGE X0 Y0 X1 Y1 makes PAGES A4
pages, empty but for a pen scribble inside the box (X0 Y0 X1 Y1) on PAGE, as
`pdftk FORM multistamp OUT` expects."""
import sys

out, pages, signed_page = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x0, y0, x1, y1 = (float(v) for v in sys.argv[4:8])

w, h = x1 - x0, y1 - y0
scribble = ["0.1 0.1 0.5 RG 1.4 w 1 J 1 j", f"{x0 + 0.08 * w:.2f} {y0 + 0.35 * h:.2f} m"]
for i in range(1, 12):
    x = x0 + (0.08 + 0.07 * i) * w
    y = y0 + (0.25 if i % 2 else 0.7) * h
    scribble.append(f"{x:.2f} {y:.2f} l")
scribble.append("S")
drawing = "\n".join(scribble).encode()

objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
kids = []
for n in range(1, pages + 1):
    page_id, content_id = 2 + 2 * n - 1, 2 + 2 * n
    kids.append(f"{page_id} 0 R")
    content = drawing if n == signed_page else b""
    objects[page_id] = (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents {content_id} 0 R /Resources << >> >>"
    ).encode()
    objects[content_id] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>".encode()

pdf = bytearray(b"%PDF-1.7\n")
offsets = {}
for number in sorted(objects):
    offsets[number] = len(pdf)
    pdf += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
for number in sorted(objects):
    pdf += b"%010d 00000 n \n" % offsets[number]
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
open(out, "wb").write(pdf)
