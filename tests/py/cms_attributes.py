"""The signed attributes of each signature in a PDF, as asn1crypto (pyHanko's
ASN.1 library) reads its CMS: one line per signature field,
  <field>: <attribute>,<attribute>,...
usage: cms_attributes.py FILE
"""
import sys

import pypdf
from asn1crypto import cms

reader = pypdf.PdfReader(sys.argv[1])
for field in reader.get_fields().values():
    value = field.get("/V")
    if field.get("/FT") != "/Sig" or value is None:
        continue
    signature = value.get_object()
    contents = bytes(signature["/Contents"])
    # The CMS is followed by the zeros that fill its room; its own length says
    # where it ends (its last byte may be a zero too).
    length = contents[1]
    if length & 0x80:
        count = length & 0x7F
        length = 2 + count + int.from_bytes(contents[2 : 2 + count], "big")
    else:
        length += 2
    info = cms.ContentInfo.load(contents[:length])
    signer = info["content"]["signer_infos"][0]
    names = [a["type"].native for a in signer["signed_attrs"]]
    print(f"{field['/T']}: {','.join(names)}")
