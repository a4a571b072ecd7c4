"""A screen reader's order against the page's: the text of the structure tree,
in tree order (poppler's `pdfinfo -struct-text`), and the text pdftotext reads
off the pages, with what is marked as an artifact (QR form id, "page i of n",
footers) and the form's field values (read with pypdf) taken out of the page
text. Both are
compared without spaces, hyphens and list bullets (pdftotext joins hyphenated
words and may place a bullet across a page break). Prints "same" or where the
two first differ.
usage: reading_order.py FILE
"""
import re
import subprocess
import sys

import pypdf

path = sys.argv[1]
fields = pypdf.PdfReader(path).get_fields() or {}
values = [str(f.get("/V")) for f in fields.values() if f.get("/V")]

# poppler writes element titles with non-ASCII letters as raw UTF-16; only the
# text lines, which are UTF-8, are read.
structure = subprocess.run(
    ["pdfinfo", "-struct-text", path], capture_output=True, check=True
).stdout.decode("utf-8", "replace")
tree_text = "".join(
    re.sub(r'^\s*"(.*)"\s*$', r"\1", line)
    for line in structure.splitlines()
    if re.match(r'^\s*".*"\s*$', line)
)

artifact = re.compile(
    r"^([A-Z]{2,5}-\d{4}-\d{4}-[0-9A-Z]|page \d+ of \d+|\d+ / \d+|\d+/\d+"
    r"|Print at 100% \(actual size\), not “fit to page”\.)$"
)
page_lines = subprocess.run(
    ["pdftotext", path, "-"], capture_output=True, text=True, check=True
).stdout.splitlines()
page_text = "\n".join(l for l in page_lines if not artifact.match(l.strip()))
for value in values:
    page_text = page_text.replace(value, "", 1)


def squeeze(text):
    return re.sub(r"[\s\-•\u00ad]", "", text)


tree, pages = squeeze(tree_text), squeeze(page_text)
if tree == pages:
    print("same")
else:
    at = next((i for i, (a, b) in enumerate(zip(tree, pages)) if a != b), min(len(tree), len(pages)))
    print(f"differ at {at}:\n  tree:  {tree[max(0, at - 60):at + 60]}\n  pages: {pages[max(0, at - 60):at + 60]}")
