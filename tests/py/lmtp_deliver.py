"""Delivers COUNT messages straight into a Dovecot mailbox over LMTP, each
with its own small PDF attached, as a busy September morning would.
usage: lmtp_deliver.py PORT TO COUNT [FIRST] [--megabytes N]
  --megabytes N  each attachment is N MB (a scanner's 600 dpi colour PDF)
"""
import smtplib
import sys
from email.message import EmailMessage

megabytes = 0
if "--megabytes" in sys.argv:
    at = sys.argv.index("--megabytes")
    megabytes = int(sys.argv[at + 1])
    del sys.argv[at : at + 2]
port, to, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
with smtplib.LMTP("127.0.0.1", port) as lmtp:
    for n in range(first, first + count):
        message = EmailMessage()
        message["From"] = f"person{n}@pakeman.example"
        message["To"] = to
        message["Subject"] = f"my form {n}"
        message["Message-ID"] = f"<return-{n}@pakeman.example>"
        message.set_content("Signed form attached.\n")
        pdf = f"%PDF-1.4\n% return {n}\n".encode() + bytes(max(2000, megabytes * 1024 * 1024))
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"form-{n}.pdf")
        lmtp.sendmail(message["From"], [to], message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
print(count)
