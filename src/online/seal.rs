//! The school's seal: a key and a certificate naming the school, with which aup
//! signs what a person signed online, so that any PDF reader shows the return as
//! unmodified and sealed by the school. Made here (P-256, self-signed) or
//! imported from a certificate authority's PKCS#12 file (P-256 or RSA, with the
//! authority's chain). Kept beside the archive, in `<archive>/seals/<slug>/`:
//! `seal.key` (PKCS#8, readable by its owner only), `seal.crt`, and `chain.pem`
//! for an imported seal's authorities. Nothing under `seals/` is ever served.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use der::asn1::{BitString, OctetString, UtcTime};
use der::{Decode, DecodePem, Encode, EncodePem};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use spki::AlgorithmIdentifierOwned;
use x509_cert::certificate::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::time::Time;

/// ecdsa-with-SHA256 (RFC 5758).
pub const ECDSA_WITH_SHA256: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// How long a seal made by `aup seal init` is valid: records are kept six years
/// after the year ends, and a seal outlives the returns it sealed.
const VALID_YEARS: u64 = 10;

/// sha256WithRSAEncryption (RFC 4055).
pub const SHA256_WITH_RSA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// A seal's private key: made here (P-256), or a certificate authority's
/// (P-256 or RSA, as most issue).
pub enum SealKey {
    P256(SigningKey),
    Rsa(Box<rsa::PrivateKey>),
}

impl SealKey {
    /// The key from PKCS#8 DER, of either kind.
    fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(key) = SigningKey::from_pkcs8_der(der) {
            return Ok(Self::P256(key));
        }
        rsa::PrivateKey::from_pkcs8_der(der)
            .map(|key| Self::Rsa(Box::new(key)))
            .map_err(|_| "the key is neither P-256 nor RSA".to_owned())
    }

    fn to_pkcs8_pem(&self) -> Result<String, String> {
        let pem = match self {
            Self::P256(key) => key.to_pkcs8_pem(LineEnding::LF),
            Self::Rsa(key) => {
                rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(key.as_ref(), LineEnding::LF)
            }
        };
        pem.map(|p| p.to_string()).map_err(|e| e.to_string())
    }

    /// The public key's SubjectPublicKeyInfo, DER.
    fn public_der(&self) -> Result<Vec<u8>, String> {
        let der = match self {
            Self::P256(key) => key.verifying_key().to_public_key_der(),
            Self::Rsa(key) => rsa::pkcs8::EncodePublicKey::to_public_key_der(&key.to_public_key()),
        };
        der.map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }

    /// Signs `message` with SHA-256: the algorithm's OID (with its NULL
    /// parameters for RSA, as RFC 4055 writes it) and the signature.
    pub fn sign(&self, message: &[u8]) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), String> {
        match self {
            Self::P256(key) => {
                let signature: DerSignature = key.sign(message);
                Ok((
                    AlgorithmIdentifierOwned {
                        oid: ECDSA_WITH_SHA256,
                        parameters: None,
                    },
                    signature.as_bytes().to_vec(),
                ))
            }
            Self::Rsa(key) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.as_ref().clone());
                let signature = rsa::signature::Signer::try_sign(&signer, message)
                    .map_err(|e| e.to_string())?;
                Ok((
                    AlgorithmIdentifierOwned {
                        oid: SHA256_WITH_RSA,
                        parameters: Some(der::Any::null()),
                    },
                    rsa::signature::SignatureEncoding::to_vec(&signature),
                ))
            }
        }
    }
}

/// A school's seal: its key, certificate and the authorities above it.
pub struct Seal {
    pub key: SealKey,
    pub certificate: Certificate,
    /// The certificate's DER bytes, as embedded in each signature.
    pub certificate_der: Vec<u8>,
    /// An imported seal's issuing authorities, embedded too so readers can
    /// build the chain; empty for a seal made here.
    pub chain: Vec<Certificate>,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{} already holds a seal for this school; it is kept, not replaced", .0.display())]
    Exists(PathBuf),
    #[error("school {0} has no seal: run `aup seal init --school {0}` first")]
    Missing(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a seal aup can use: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot make the seal: {0}")]
    Make(String),
    #[error("the PKCS#12 file cannot be the seal: {0}")]
    Import(String),
}

/// Refuses to make a seal where there is one: returns already sealed name its
/// certificate.
fn no_seal_yet(archive: &Path, slug: &str) -> Result<(), SealError> {
    let dir = seal_dir(archive, slug);
    match dir.join("seal.key").exists() {
        true => Err(SealError::Exists(dir)),
        false => Ok(()),
    }
}

/// `<archive>/seals/<slug>`.
pub fn seal_dir(archive: &Path, slug: &str) -> PathBuf {
    archive.join("seals").join(slug)
}

impl Seal {
    /// Makes a new key and a self-signed certificate naming the school, valid
    /// from `today` for ten years, and writes both. An existing seal is never
    /// replaced: returns already sealed name its certificate.
    pub fn create(
        archive: &Path,
        slug: &str,
        school_name: &str,
        today: time::Date,
    ) -> Result<Self, SealError> {
        no_seal_yet(archive, slug)?;
        let key = new_key()?;
        let certificate = self_signed(&key, school_name, today)?;
        let certificate_der = certificate
            .to_der()
            .map_err(|e| SealError::Make(e.to_string()))?;
        let seal = Self {
            key: SealKey::P256(key),
            certificate,
            certificate_der,
            chain: Vec::new(),
        };
        seal.write(archive, slug)?;
        Ok(seal)
    }

    /// Takes the school's seal from a certificate authority's PKCS#12 file:
    /// the key and certificate (P-256 or RSA) and the authorities with them.
    /// An existing seal is never replaced.
    pub fn import(
        archive: &Path,
        slug: &str,
        p12: &[u8],
        password: &str,
    ) -> Result<Self, SealError> {
        no_seal_yet(archive, slug)?;
        let refused = |message: String| SealError::Import(message);
        let contents = super::pkcs12::read(p12, password).map_err(refused)?;
        let mut certificates = contents
            .certificates
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| refused(format!("a certificate in it cannot be read: {e}")))?;
        let key = SealKey::from_pkcs8_der(&contents.keys[0]).map_err(refused)?;
        let public = key.public_der().map_err(refused)?;
        // The key's own certificate first, whatever order the file keeps.
        let own = certificates
            .iter()
            .position(|c| {
                c.tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .is_ok_and(|spki| spki == public)
            })
            .ok_or_else(|| refused("none of its certificates is the key's".into()))?;
        let certificate = certificates.remove(own);
        let certificate_der = certificate
            .to_der()
            .map_err(|e| SealError::Make(e.to_string()))?;
        let seal = Self {
            key,
            certificate,
            certificate_der,
            chain: certificates,
        };
        seal.write(archive, slug)?;
        Ok(seal)
    }

    /// Writes the seal's files: the key (0600, never over an existing one),
    /// the certificate, and the authorities' chain when there is one.
    fn write(&self, archive: &Path, slug: &str) -> Result<(), SealError> {
        let dir = seal_dir(archive, slug);
        let make = |e: der::Error| SealError::Make(e.to_string());
        let write = |path: &Path, source| SealError::Write {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(|e| write(&dir, e))?;
        restrict_to_owner(&dir, 0o700).map_err(|e| write(&dir, e))?;
        let key_path = dir.join("seal.key");
        let pem = self.key.to_pkcs8_pem().map_err(SealError::Make)?;
        write_private(&key_path, pem.as_bytes()).map_err(|e| write(&key_path, e))?;
        let cert_path = dir.join("seal.crt");
        let cert_pem = self.certificate.to_pem(LineEnding::LF).map_err(make)?;
        crate::durable::write_atomically(&cert_path, cert_pem.as_bytes())
            .map_err(|e| write(&cert_path, e))?;
        if !self.chain.is_empty() {
            let chain_path = dir.join("chain.pem");
            let pems = self
                .chain
                .iter()
                .map(|c| c.to_pem(LineEnding::LF))
                .collect::<Result<String, _>>()
                .map_err(make)?;
            crate::durable::write_atomically(&chain_path, pems.as_bytes())
                .map_err(|e| write(&chain_path, e))?;
        }
        Ok(())
    }

    /// The school's seal, if it has one.
    pub fn load(archive: &Path, slug: &str) -> Result<Option<Self>, SealError> {
        let dir = seal_dir(archive, slug);
        let key_path = dir.join("seal.key");
        if !key_path.exists() {
            return Ok(None);
        }
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| SealError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let invalid = |path: &Path, message: String| SealError::Invalid {
            path: path.to_owned(),
            message,
        };
        let key_pem = read(&key_path)?;
        let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes())
            .map_err(|e| invalid(&key_path, e.to_string()))?;
        let key = SealKey::from_pkcs8_der(&key_der).map_err(|e| invalid(&key_path, e))?;
        let cert_path = dir.join("seal.crt");
        let certificate = Certificate::from_pem(read(&cert_path)?.as_bytes())
            .map_err(|e| invalid(&cert_path, e.to_string()))?;
        let certificate_der = certificate
            .to_der()
            .map_err(|e| invalid(&cert_path, e.to_string()))?;
        let public = key.public_der().map_err(|e| invalid(&key_path, e))?;
        let named = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| invalid(&cert_path, e.to_string()))?;
        if public != named {
            return Err(invalid(
                &cert_path,
                "the certificate is not the key's (seal.crt and seal.key do not belong together)"
                    .into(),
            ));
        }
        let chain_path = dir.join("chain.pem");
        let chain = match chain_path.exists() {
            true => Certificate::load_pem_chain(read(&chain_path)?.as_bytes())
                .map_err(|e| invalid(&chain_path, e.to_string()))?,
            false => Vec::new(),
        };
        Ok(Some(Self {
            key,
            certificate,
            certificate_der,
            chain,
        }))
    }
}

/// The school's seal certificate alone, when it has a seal: one of the
/// school's trust roots.
pub fn certificate(archive: &Path, slug: &str) -> Result<Option<Certificate>, SealError> {
    let path = seal_dir(archive, slug).join("seal.crt");
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SealError::Read { path, source }),
    };
    Certificate::from_pem(&pem)
        .map(Some)
        .map_err(|e| SealError::Invalid {
            path,
            message: e.to_string(),
        })
}

fn new_key() -> Result<SigningKey, SealError> {
    // A random scalar; the chance that 32 random bytes are not one is 2^-32.
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SealError::Make(e.to_string()))?;
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err(SealError::Make(
        "no valid key from the system's randomness".into(),
    ))
}

/// `CN=<school> seal, O=<school>`, with RFC 4514's special characters escaped.
fn subject(school_name: &str) -> Result<Name, SealError> {
    let escaped: String = school_name
        .chars()
        .flat_map(|ch| match ch {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | '#' => vec!['\\', ch],
            _ => vec![ch],
        })
        .collect();
    Name::from_str(&format!("CN={escaped} seal,O={escaped}"))
        .map_err(|e| SealError::Make(format!("the school's name as a certificate name: {e}")))
}

/// A certificate for `key`, signed by itself: a leaf for signing (digital
/// signature and non-repudiation), not a CA. x509-cert's types keep their fields
/// to themselves, so the DER is put together here from encoded parts (RFC 5280
/// §4.1) and parsed back, which checks it.
fn self_signed(
    key: &SigningKey,
    school_name: &str,
    today: time::Date,
) -> Result<Certificate, SealError> {
    let make = |e: der::Error| SealError::Make(e.to_string());
    let name = subject(school_name)?.to_der().map_err(make)?;
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| SealError::Make(e.to_string()))?;
    // Positive and of full length.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let start = today.midnight().assume_utc().unix_timestamp().max(0) as u64;
    let end = start + VALID_YEARS * 365 * 86_400 + 3 * 86_400;
    let at = |seconds: u64| -> Result<Vec<u8>, SealError> {
        UtcTime::from_unix_duration(std::time::Duration::from_secs(seconds))
            .map(Time::UtcTime)
            .and_then(|t| t.to_der())
            .map_err(make)
    };
    let public = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| SealError::Make(e.to_string()))?;
    let algorithm = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
    .to_der()
    .map_err(make)?;
    let extension = |oid: &str, critical: bool, value: Vec<u8>| -> Result<Vec<u8>, SealError> {
        Extension {
            extn_id: der::oid::ObjectIdentifier::new_unwrap(oid),
            critical,
            extn_value: OctetString::new(value).map_err(make)?,
        }
        .to_der()
        .map_err(make)
    };
    // BasicConstraints ::= SEQUENCE {} (cA FALSE by default): not a CA.
    let basic_constraints = extension("2.5.29.19", true, tlv(0x30, &[]))?;
    let key_usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
        .to_der()
        .map_err(make)?;
    let key_usage = extension("2.5.29.15", true, key_usage)?;
    let tbs = tlv(
        0x30,
        &[
            // [0] EXPLICIT Version v3 (2)
            tlv(0xa0, &tlv(0x02, &[2])),
            tlv(0x02, &serial),
            algorithm.clone(),
            name.clone(),
            tlv(0x30, &[at(start)?, at(end)?].concat()),
            name,
            public.as_bytes().to_vec(),
            tlv(0xa3, &tlv(0x30, &[basic_constraints, key_usage].concat())),
        ]
        .concat(),
    );
    let signature: DerSignature = key.sign(&tbs);
    let signature = BitString::from_bytes(signature.as_bytes())
        .and_then(|b| b.to_der())
        .map_err(make)?;
    let certificate = tlv(0x30, &[tbs, algorithm, signature].concat());
    Certificate::from_der(&certificate).map_err(make)
}

/// One DER tag-length-value.
pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n <= 0xff => out.extend([0x81, n as u8]),
        n if n <= 0xffff => out.extend([0x82, (n >> 8) as u8, n as u8]),
        n => out.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// Creates `path` for its owner only (0600), never over an existing file.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn restrict_to_owner(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    let _ = (path, mode);
    Ok(())
}
