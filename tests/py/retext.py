"""Rewrites a file with one glyph of a page's text changed, as an editor that
saves the whole file would: retext.py IN OUT PAGE. The first hex string shown
with TJ on the page gets its last glyph id raised by one."""
import re
import sys

import pypdf
from pypdf.generic import NameObject

source, out, number = sys.argv[1], sys.argv[2], int(sys.argv[3])
writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
page = writer.pages[number - 1]
contents = page.get_contents()
data = contents.get_data()
match = re.search(rb"<([0-9a-fA-F]{4,})>", data)
if match is None:
    sys.exit("no hex text on that page")
digits = match.group(1)
glyph = int(digits[-4:], 16) + 1
edited = data[: match.start(1)] + digits[:-4] + b"%04x" % glyph + data[match.end(1) :]
contents.set_data(edited)
page[NameObject("/Contents")] = writer._add_object(contents)
writer.write(out)
