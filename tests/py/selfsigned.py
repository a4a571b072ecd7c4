"""Writes a signing key and certificate: selfsigned.py KEY CERT NAME [rsa|ec|ca]
[CA_KEY CA_CERT]. Self-signed unless a CA's key and certificate are given; `ca`
makes an RSA certificate authority (basic constraints CA, key usage cert sign).
A NAME like "Laptop 7 <amelia@school.uk>" gives the common name "Laptop 7" and
the e-mail address as an rfc822Name alternative name, as S/MIME certificates
name their holder."""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

key_path, cert_path, name = sys.argv[1:4]
kind = sys.argv[4] if len(sys.argv) > 4 else "rsa"
key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(public_exponent=65537, key_size=2048)
email = None
if name.endswith(">") and "<" in name:
    name, email = name[:-1].split("<", 1)
    name = name.strip()
subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
issuer_name, issuer_key = subject, key
if len(sys.argv) > 6:
    with open(sys.argv[5], "rb") as f:
        issuer_key = serialization.load_pem_private_key(f.read(), None)
    with open(sys.argv[6], "rb") as f:
        issuer_name = x509.load_pem_x509_certificate(f.read()).subject
now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
builder = (
    x509.CertificateBuilder()
    .subject_name(subject)
    .issuer_name(issuer_name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now)
    .not_valid_after(now + datetime.timedelta(days=3650))
)
if kind == "ca":
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
else:
    builder = builder.add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
if email:
    builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
cert = builder.sign(issuer_key, hashes.SHA256())
with open(key_path, "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
with open(cert_path, "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
