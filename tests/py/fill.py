"""Fills text fields with pypdf, as a PDF reader would: fill.py IN OUT name=value..."""
import sys

import pypdf

reader = pypdf.PdfReader(sys.argv[1])
writer = pypdf.PdfWriter(clone_from=reader)
values = dict(arg.split("=", 1) for arg in sys.argv[3:])
for page in writer.pages:
    writer.update_page_form_field_values(page, values, auto_regenerate=False)
writer.write(sys.argv[2])
