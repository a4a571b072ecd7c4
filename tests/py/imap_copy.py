"""Copies every message of one IMAP folder into another, as a person
dragging mail back in their mail program would (the copies get new UIDs).
usage: imap_copy.py HOST PORT USER PASSWORD FROM TO
"""
import imaplib
import sys

host, port, user, password, source, target = sys.argv[1:]
imap = imaplib.IMAP4(host, int(port))
imap.login(user, password)
_, listed = imap.list('""', '""')
delimiter = listed[0].decode().split('"')[1] if listed and listed[0] else "/"
source, target = source.replace("/", delimiter), target.replace("/", delimiter)
imap.select(f'"{source}"')
_, data = imap.uid("search", None, "ALL")
for uid in data[0].split():
    status, answer = imap.uid("copy", uid, f'"{target}"')
    assert status == "OK", answer
imap.logout()
