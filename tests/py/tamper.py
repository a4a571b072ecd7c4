"""Appends an incremental update that changes what a page draws: a white box over
part of the policy text. tamper.py IN OUT PAGE"""
import sys

import pypdf
from pypdf.generic import ArrayObject, DecodedStreamObject, NameObject

source, out, number = sys.argv[1], sys.argv[2], int(sys.argv[3])
writer = pypdf.PdfWriter(pypdf.PdfReader(source), incremental=True)
page = writer.pages[number - 1]
cover = DecodedStreamObject()
cover.set_data(b"q 1 g 60 400 480 200 re f Q")
contents = page["/Contents"]
streams = list(contents) if isinstance(contents.get_object(), ArrayObject) else [contents]
page[NameObject("/Contents")] = ArrayObject(streams + [writer._add_object(cover)])
writer.write(out)
