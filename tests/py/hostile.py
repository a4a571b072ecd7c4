"""Writes a hostile PDF that claims (in its metadata) to be one of our forms, so
that it reaches the digital checks: hostile.py OUT KIND FORM_ID, KIND one of
cycle, deep, broken_xref, huge_contents, bogus_byterange."""
import sys

out, kind, form_id = sys.argv[1:4]

signature = b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 0000000000 0000000000 0000000000] /Contents <HOLE> >>"
objects = {
    1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>",
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R /Annots [4 0 R] >>",
    4: b"<< /FT /Sig /T (signer_signature) /Type /Annot /Subtype /Widget /Rect [50 50 250 100] /P 3 0 R /V 5 0 R >>",
    5: signature,
    6: None,
    7: b"<< /AupFormId (" + form_id.encode() + b") /Producer (hostile.py) >>",
}
hole = b"3082"
if kind == "cycle":
    # A field that is its own kid, and a page tree node that is its own child.
    objects[4] = b"<< /T (loop) /Kids [4 0 R 8 0 R] >>"
    objects[8] = b"<< /T (inner) /Kids [4 0 R] /Parent 4 0 R >>"
    objects[2] = b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>"
elif kind == "deep":
    objects[7] = b"<< /AupFormId (" + form_id.encode() + b") /Deep " + b"[" * 20000 + b"]" * 20000 + b" >>"
    objects[4] = b"<< /FT /Tx /T (signer_name) /V " + b"<<" * 5000 + b">>" * 5000 + b" >>"
elif kind == "huge_contents":
    hole = b"00" * (3 << 20)
elif kind == "bogus_byterange":
    pass

content = b"BT /F1 12 Tf 72 720 Td (This is not the policy) Tj ET"
pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
offsets = {}
for number in sorted(objects):
    offsets[number] = len(pdf)
    if number == 6:
        pdf += b"6 0 obj\n<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream\nendobj\n"
        continue
    body = objects[number].replace(b"HOLE", hole)
    pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
xref = len(pdf)
count = max(objects) + 1
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % count
for number in range(1, count):
    pdf += b"%010d 00000 n \n" % offsets.get(number, 0)
pdf += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref)

placeholder = b"[0 0000000000 0000000000 0000000000]"
at = pdf.find(placeholder)
if kind == "bogus_byterange":
    numbers = b"[0 0099999999 0099999999 0099999999]"
else:
    start = pdf.find(b"<", pdf.find(b"/Contents", at))
    end = pdf.find(b">", start) + 1
    numbers = b"[0 %010d %010d %010d]" % (start, end, len(pdf) - end)
if at >= 0:
    pdf[at:at + len(placeholder)] = numbers
if kind == "broken_xref":
    pdf = pdf[:xref] + b"xref\n0 8\ngarbage garbage\ntrailer\n<< /Size 3 >>\nstartxref\n999999\n%%EOF\n"
with open(out, "wb") as f:
    f.write(pdf)
