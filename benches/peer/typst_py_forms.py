"""The peer for `cargo bench --bench generate`: personal forms made the way a
school's IT person would script them, one typst-py compile per person of the
same staff template and policy, with that person's QR code (the python
qrcode library, PNG) and name laid over the first page.
Prints the seconds the loop took.
usage: typst_py_forms.py TEMPLATES FONTS POLICY_JSON PEOPLE OUT
"""
import json
import os
import shutil
import sys
import time

import qrcode
import typst

templates, fonts, policy_json, people, out = sys.argv[1:6]
people = int(people)
root = os.path.join(out, "root")
os.makedirs(root, exist_ok=True)
for name in os.listdir(templates):
    shutil.copy(os.path.join(templates, name), root)
shutil.copy(policy_json, os.path.join(root, "policy.json"))
with open(os.path.join(root, "issue.json"), "w") as f:
    json.dump({"year": "2025-26", "date": "2025-09-01", "form": True}, f)

started = time.monotonic()
for n in range(people):
    form_id = f"PAK-2526-{n + 1:04d}-K"
    qrcode.make(f"T:{form_id}:1/3:0123ABCD:BEEF", box_size=4, border=1).save(
        os.path.join(root, "qr.png")
    )
    with open(os.path.join(root, "person.typ"), "w") as f:
        f.write(
            '#set page(foreground: context if here().page() == 1 {\n'
            '  place(top + right, dx: -12mm, dy: 10mm, image("qr.png", width: 15mm))\n'
            f'  place(top + left, dx: 20mm, dy: 14mm, text(size: 9pt)[{form_id} · Person {n}])\n'
            '})\n'
            '#include "staff-aup.typ"\n'
        )
    pdf = typst.compile(
        os.path.join(root, "person.typ"),
        root=root,
        font_paths=[fonts],
        ignore_system_fonts=True,
    )
    with open(os.path.join(out, f"{form_id}.pdf"), "wb") as f:
        f.write(pdf)
print(f"{time.monotonic() - started:.3f}")
