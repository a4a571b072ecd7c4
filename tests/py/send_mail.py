"""Sends one message by SMTP, as a person's mail program would: a text part
and attachments, or a raw message as it is.
usage: send_mail.py PORT FROM TO SUBJECT [--attach FILE[:NAME]]... [--raw FILE] [--in-reply-to ID] [--header NAME:VALUE]...
"""
import argparse
import mimetypes
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("sender")
parser.add_argument("to")
parser.add_argument("subject")
parser.add_argument("--attach", action="append", default=[])
parser.add_argument("--raw")
parser.add_argument("--in-reply-to")
parser.add_argument("--header", action="append", default=[])
args = parser.parse_args()

if args.raw:
    data = open(args.raw, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
else:
    message = EmailMessage()
    message["From"] = args.sender
    message["To"] = args.to
    message["Subject"] = args.subject
    message["Message-ID"] = make_msgid(domain=args.sender.split("@")[-1])
    if args.in_reply_to:
        message["In-Reply-To"] = args.in_reply_to
    for header in args.header:
        name, value = header.split(":", 1)
        message[name] = value.strip()
    message.set_content("Please find my signed form attached.\n")
    for attach in args.attach:
        path, _, name = attach.partition(":")
        name = name or path.rsplit("/", 1)[-1]
        kind = (mimetypes.guess_type(name)[0] or "application/octet-stream").split("/")
        message.add_attachment(open(path, "rb").read(), maintype=kind[0], subtype=kind[1], filename=name)
    # SMTP lines end in CRLF; smtplib leaves bytes as they are.
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
with smtplib.SMTP("127.0.0.1", args.port) as smtp:
    smtp.sendmail(args.sender, [args.to], data)
print(len(data))
