//! Reading a PKCS#12 file (RFC 7292), as a certificate authority hands out a
//! seal: its private key and certificates. Bags encrypted with PBES2 (what
//! OpenSSL 3, Windows and macOS write: AES with PBKDF2) are opened with the
//! pkcs5/pkcs8 crates; the old 3DES/RC2 encryption is refused with how to
//! export the file again. The file's MAC is not checked: a wrong password
//! fails to decrypt, and the key must then match one of the certificates.

use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode};

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";
/// PKCS#12's own password-based encryption (pbeWithSHAAnd...), the old kind.
const PKCS12_PBE_PREFIX: &str = "1.2.840.113549.1.12.1.";

/// What a PKCS#12 file holds: private keys (PKCS#8 DER) and certificates (DER).
#[derive(Default)]
pub struct Contents {
    pub keys: Vec<Vec<u8>>,
    pub certificates: Vec<Vec<u8>>,
}

const OLD_ENCRYPTION: &str = "it uses the old 3DES/RC2 encryption, which aup does not read: export it again with AES (OpenSSL 3 does by default: `openssl pkcs12 -export -inkey KEY -in CERT -certfile CHAIN -out seal.p12`)";

fn oid(text: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(text)
}

/// The keys and certificates in `p12`, opened with `password`.
pub fn read(p12: &[u8], password: &str) -> Result<Contents, String> {
    let malformed = |what: &str| format!("it is not a PKCS#12 file ({what})");
    let pfx: Vec<Any> = Vec::from_der(p12).map_err(|_| malformed("no PFX"))?;
    let auth_safe = pfx.get(1).ok_or_else(|| malformed("no authSafe"))?;
    let auth_safe = ContentInfo::from_der(&auth_safe.to_der().map_err(|e| e.to_string())?)
        .map_err(|_| malformed("authSafe"))?;
    if auth_safe.content_type != oid(ID_DATA) {
        return Err(
            "it is signed with a public key, not a password, which aup does not read".into(),
        );
    }
    let safes = OctetString::from_der(&auth_safe.content.to_der().map_err(|e| e.to_string())?)
        .map_err(|_| malformed("authSafe content"))?;
    let safes: Vec<ContentInfo> =
        Vec::from_der(safes.as_bytes()).map_err(|_| malformed("AuthenticatedSafe"))?;
    let mut contents = Contents::default();
    for safe in safes {
        let bags = match safe.content_type {
            t if t == oid(ID_DATA) => {
                OctetString::from_der(&safe.content.to_der().map_err(|e| e.to_string())?)
                    .map_err(|_| malformed("SafeContents"))?
                    .as_bytes()
                    .to_vec()
            }
            t if t == oid(ID_ENCRYPTED_DATA) => {
                let data =
                    EncryptedData::from_der(&safe.content.to_der().map_err(|e| e.to_string())?)
                        .map_err(|_| malformed("EncryptedData"))?;
                let info = data.enc_content_info;
                let encrypted = info
                    .encrypted_content
                    .ok_or_else(|| malformed("no encrypted content"))?;
                decrypt(&info.content_enc_alg, encrypted.as_bytes(), password)?
            }
            _ => continue,
        };
        read_bags(&bags, password, &mut contents)?;
    }
    if contents.keys.is_empty() {
        return Err("it holds no private key".into());
    }
    Ok(contents)
}

fn decrypt(
    algorithm: &spki::AlgorithmIdentifierOwned,
    ciphertext: &[u8],
    password: &str,
) -> Result<Vec<u8>, String> {
    if algorithm.oid.to_string().starts_with(PKCS12_PBE_PREFIX) {
        return Err(OLD_ENCRYPTION.into());
    }
    let scheme = pkcs5::EncryptionScheme::from_der(&algorithm.to_der().map_err(|e| e.to_string())?)
        .map_err(|_| format!("its encryption ({}) is not one aup reads", algorithm.oid))?;
    scheme
        .decrypt(password, ciphertext)
        .map_err(|_| "the password does not open it".to_owned())
}

fn read_bags(bags: &[u8], password: &str, contents: &mut Contents) -> Result<(), String> {
    let malformed = |what: &str| format!("it is not a PKCS#12 file ({what})");
    let bags: Vec<Vec<Any>> = Vec::from_der(bags).map_err(|_| malformed("SafeBag"))?;
    for bag in bags {
        let [id, value, ..] = &bag[..] else {
            return Err(malformed("SafeBag"));
        };
        let id: ObjectIdentifier = id.decode_as().map_err(|_| malformed("bag id"))?;
        // `[0] EXPLICIT`: the bag's value is the TLV inside.
        let inner = value.value();
        match id.to_string().as_str() {
            KEY_BAG => contents.keys.push(inner.to_vec()),
            SHROUDED_KEY_BAG => {
                let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::try_from(inner)
                    .map_err(|_| malformed("shrouded key"))?;
                if encrypted
                    .encryption_algorithm
                    .oid()
                    .to_string()
                    .starts_with(PKCS12_PBE_PREFIX)
                {
                    return Err(OLD_ENCRYPTION.into());
                }
                let key = encrypted
                    .decrypt(password)
                    .map_err(|_| "the password does not open its key".to_owned())?;
                contents.keys.push(key.as_bytes().to_vec());
            }
            CERT_BAG => {
                let cert_bag: Vec<Any> = Vec::from_der(inner).map_err(|_| malformed("CertBag"))?;
                let [kind, value] = &cert_bag[..] else {
                    return Err(malformed("CertBag"));
                };
                let kind: ObjectIdentifier = kind.decode_as().map_err(|_| malformed("cert id"))?;
                if kind == oid(X509_CERTIFICATE) {
                    let der = OctetString::from_der(value.value())
                        .map_err(|_| malformed("certificate"))?;
                    contents.certificates.push(der.as_bytes().to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
