"""A real SMTP server on loopback for the mail tests: aiosmtpd, delivering
each message it accepts into a Maildir (the folder Dovecot would serve).
Prints its port on the first line of stdout, then serves until killed.
usage: smtp_server.py MAILDIR [--refuse ADDR]... [--later ADDR]... [--login USER:PASSWORD]
  --refuse ADDR  answers RCPT TO:<ADDR> with 550 5.1.1 (no such mailbox)
  --later ADDR   answers it with 451 4.3.0 the first time, then accepts
  --login U:P    requires AUTH (PLAIN or LOGIN) with that user and password
  --starttls CERT KEY  requires STARTTLS with that certificate chain and key
                 (and AUTH only over it)
"""
import argparse
import mailbox
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("maildir")
parser.add_argument("--refuse", action="append", default=[])
parser.add_argument("--later", action="append", default=[])
parser.add_argument("--login")
parser.add_argument("--starttls", nargs=2)
args = parser.parse_args()

box = mailbox.Maildir(args.maildir, create=True)
put_off = set()


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        if address in args.later and address not in put_off:
            put_off.add(address)
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        box.add(envelope.original_content)
        return "250 2.0.0 Ok: queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    user, password = args.login.split(":", 1)
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    # handled=False: aiosmtpd answers 535 itself.
    return AuthResult(success=ok, handled=False)


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
options = {}
if args.login:
    options = dict(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.starttls))
if args.starttls:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*args.starttls)
    options.update(tls_context=context, require_starttls=True)
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **options)
controller.start()
print(port, flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
