"""Reads every message of a Maildir with Python's own e-mail parser and prints
them as a JSON list: headers that matter, the text and HTML parts, and each
attachment's file name, content type and SHA-256.
usage: read_maildir.py MAILDIR
"""
import email.policy
import hashlib
import json
import mailbox
import sys

messages = []
for key, raw in sorted(mailbox.Maildir(sys.argv[1], factory=None, create=False).items()):
    message = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = [
        {
            "name": part.get_filename(),
            "type": part.get_content_type(),
            "sha256": hashlib.sha256(part.get_payload(decode=True)).hexdigest(),
        }
        for part in message.iter_attachments()
    ]
    messages.append(
        {
            "to": str(message["To"]),
            "from": str(message["From"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "auto_submitted": str(message["Auto-Submitted"]),
            "date": str(message["Date"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "attachments": attachments,
        }
    )
print(json.dumps(messages, indent=1))
