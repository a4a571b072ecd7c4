"""A real SMTP server on loopback for the mail tests: aiosmtpd, delivering
each message it accepts into a Maildir (the folder Dovecot would serve).
Prints its port on the first line of stdout, then serves until killed.
usage: smtp_server.py MAILDIR [--refuse ADDR]... [--later ADDR]... [--login USER:PASSWORD]
  --refuse ADDR  answers RCPT TO:<ADDR> with 550 5.1.1 (no such mailbox)
  --later ADDR   answers it with 451 4.3.0 the first time, then accepts
  --login U:P    requires AUTH (PLAIN or LOGIN) with that user and password
  --starttls CERT KEY  requires STARTTLS with that certificate chain and key
                 (and AUTH only over it)
  --oauth        also runs an OAuth 2.0 token endpoint (POST /token, and
                 POST /introspect as RFC 7662 for Dovecot; client
                 aup / s3cret; refresh tokens rotate on every use, the old one
                 void) and takes AUTH XOAUTH2 with its unexpired tokens only;
                 prints "SMTP_PORT TOKEN_PORT"; GET /stats says how many tokens
                 it gave and the refresh token now current
  --token-lifetime SECONDS  how long its access tokens last (default 3600)
  --service-account PEM  the token endpoint also takes RFC 7523 assertions
                 (Google's service accounts) signed RS256 by the key whose
                 public half is in PEM, from aup-mail@pakeman-aup.iam.gserviceaccount.com,
                 for the mailbox office@pakeman.example with scope
                 https://mail.google.com/, audience the endpoint's /token
                 address, lasting at most an hour; checked with Python's
                 cryptography, as Google words its refusals
  --lmtp PORT    delivers through LMTP on that loopback port (Dovecot's)
                 instead of into MAILDIR
"""
import argparse
import base64
import http.server
import json
import threading
import urllib.parse
import mailbox
import smtplib
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
parser.add_argument("--oauth", action="store_true")
parser.add_argument("--token-lifetime", type=int, default=3600)
parser.add_argument("--lmtp", type=int)
parser.add_argument("--service-account")
args = parser.parse_args()
if args.oauth and not args.login:
    # AUTH is required; only XOAUTH2 can succeed.
    args.login = "nobody:" + base64.b64encode(b"no password works").decode()

box = mailbox.Maildir(args.maildir, create=True)
put_off = set()
tokens = {}  # access token -> expiry (time.time())
oauth = {"refresh": "refresh-0", "issued": 0, "client_credentials": 0, "refreshed": 0, "assertions": 0}


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_assertion(jwt, audience):
    """Google's checks of a service account's assertion: None, or its refusal."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.exceptions import InvalidSignature
    try:
        header, claims, signature = jwt.split(".")
        head = json.loads(b64url(header))
        body = json.loads(b64url(claims))
    except ValueError:
        return "Invalid JWT: malformed"
    if head.get("alg") != "RS256":
        return "Invalid JWT: alg must be RS256"
    key = serialization.load_pem_public_key(open(args.service_account, "rb").read())
    try:
        key.verify(b64url(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "Invalid JWT Signature."
    now = time.time()
    if body.get("iss") != "aup-mail@pakeman-aup.iam.gserviceaccount.com":
        return "Invalid issuer"
    if body.get("aud") != audience:
        return "Invalid JWT: audience"
    if not (body.get("iat", 0) - 300 <= now <= body.get("exp", 0)) or body["exp"] - body["iat"] > 3600:
        return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
    if body.get("sub") != "office@pakeman.example":
        return "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
    if body.get("scope") != "https://mail.google.com/":
        return "Invalid OAuth scope or ID token audience provided."
    return None


class TokenEndpoint(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(200, oauth)

    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        one = lambda key: (form.get(key) or [""])[0]
        if self.path.startswith("/introspect"):
            # RFC 7662, as Dovecot's oauth2 passdb asks: is this token live, and whose?
            live = tokens.get(one("token"), 0) > time.time()
            return self.answer(200, {"active": live, "username": "office"} if live else {"active": False})
        answer = {"token_type": "Bearer", "expires_in": args.token_lifetime}
        if one("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer" and args.service_account:
            host, port = self.server.server_address[:2]
            refused = check_assertion(one("assertion"), f"http://{host}:{port}/token")
            if refused:
                return self.answer(400, {"error": "invalid_grant", "error_description": refused})
            oauth["assertions"] += 1
            return self.give(answer)
        if one("client_id") != "aup" or one("client_secret") != "s3cret":
            return self.answer(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
        if one("grant_type") == "client_credentials":
            oauth["client_credentials"] += 1
        elif one("grant_type") == "refresh_token":
            if one("refresh_token") != oauth["refresh"]:
                return self.answer(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            oauth["refreshed"] += 1
            oauth["refresh"] = f"refresh-{oauth['refreshed']}"
            answer["refresh_token"] = oauth["refresh"]
        else:
            return self.answer(400, {"error": "unsupported_grant_type"})
        self.give(answer)

    def give(self, answer):
        oauth["issued"] += 1
        token = f"access-{oauth['issued']}"
        tokens[token] = time.time() + args.token_lifetime
        answer["access_token"] = token
        self.answer(200, answer)

    def log_message(self, *a):
        pass


class Handler:
    async def auth_XOAUTH2(self, server, auth_args):
        if not args.oauth:
            return AuthResult(success=False, handled=False)
        if len(auth_args) > 1:
            response = auth_args[1].encode()
        else:
            response = await server.challenge_auth("", encode_to_b64=False)
            if response is None:
                return AuthResult(success=False, handled=True)
        try:
            fields = base64.b64decode(response).decode().split("\x01")
        except Exception:
            return AuthResult(success=False, handled=False)
        bearer = next((f[len("auth=Bearer "):] for f in fields if f.startswith("auth=Bearer ")), "")
        ok = tokens.get(bearer, 0) > time.time()
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        if address in args.later and address not in put_off:
            put_off.add(address)
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if args.lmtp:
            with smtplib.LMTP("127.0.0.1", args.lmtp) as lmtp:
                lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        else:
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
if args.oauth:
    endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    print(port, endpoint.server_address[1], flush=True)
else:
    print(port, flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
