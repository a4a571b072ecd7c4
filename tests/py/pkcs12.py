"""Bundles a key and its certificate as PKCS#12, as a person's certificate comes
from their authority, for importing into an NSS database or as a school's seal:
pkcs12.py KEY CERT OUT NAME [PASSWORD [aes|legacy] [CA_CERT]]. Without a
password the bundle is not encrypted; `aes` encrypts it as OpenSSL 3 does
(PBES2, AES-256, PBKDF2), `legacy` as OpenSSL 1 did (3DES); CA_CERT is added
as the authority's certificate."""
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

key_path, cert_path, out_path, name = sys.argv[1:5]
password = sys.argv[5].encode() if len(sys.argv) > 5 else None
kind = sys.argv[6] if len(sys.argv) > 6 else "aes"
ca_path = sys.argv[7] if len(sys.argv) > 7 else None
with open(key_path, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), None)
with open(cert_path, "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())
cas = None
if ca_path:
    with open(ca_path, "rb") as f:
        cas = [x509.load_pem_x509_certificate(f.read())]
if password is None:
    encryption = serialization.NoEncryption()
elif kind == "legacy":
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .build(password)
    )
else:
    encryption = serialization.BestAvailableEncryption(password)
with open(out_path, "wb") as f:
    f.write(pkcs12.serialize_key_and_certificates(name.encode(), key, cert, cas, encryption))
