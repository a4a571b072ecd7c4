"""The messages in IMAP folders, read with Python's imaplib: prints JSON
{folder: [{"subject": ..., "message_id": ..., "uid": ...}]}, and with
--text each message's plain text too ("text").
usage: imap_folders.py [--text] HOST PORT USER PASSWORD FOLDER...
"""
import email
import email.policy
import imaplib
import json
import sys

args = sys.argv[1:]
with_text = args[:1] == ["--text"]
host, port, user, password, *folders = args[1:] if with_text else args
imap = imaplib.IMAP4(host, int(port))
imap.login(user, password)
# Folders are named with "/"; the server may separate them otherwise.
_, listed = imap.list('""', '""')
delimiter = listed[0].decode().split('"')[1] if listed and listed[0] else "/"
found = {}
for folder in folders:
    status, _ = imap.select(f'"{folder.replace("/", delimiter)}"', readonly=True)
    if status != "OK":
        found[folder] = None
        continue
    _, data = imap.uid("search", None, "ALL")
    messages = []
    for uid in data[0].split():
        _, parts = imap.uid("fetch", uid, "(BODY.PEEK[HEADER])")
        header = email.message_from_bytes(parts[0][1], policy=email.policy.default)
        message = {"uid": int(uid), "subject": str(header["Subject"]), "message_id": str(header["Message-ID"])}
        if with_text:
            _, parts = imap.uid("fetch", uid, "(BODY.PEEK[])")
            whole = email.message_from_bytes(parts[0][1], policy=email.policy.default)
            body = whole.get_body(preferencelist=("plain",))
            message["text"] = body.get_content() if body else ""
        messages.append(message)
    found[folder] = messages
imap.logout()
print(json.dumps(found))
