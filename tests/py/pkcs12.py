"""Bundles a key and its certificate as PKCS#12, as a person's certificate comes
from their authority, for importing into an NSS database: pkcs12.py KEY CERT OUT NAME"""
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

key_path, cert_path, out_path, name = sys.argv[1:5]
with open(key_path, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), None)
with open(cert_path, "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())
with open(out_path, "wb") as f:
    f.write(
        pkcs12.serialize_key_and_certificates(
            name.encode(), key, cert, None, serialization.NoEncryption()
        )
    )
