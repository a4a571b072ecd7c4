//! Certificate signatures (PAdES / adbe.pkcs7.detached): is the signed byte range
//! the whole revision, does its digest match the one the signer signed, does the
//! CMS signature verify against the signer's certificate, and does that certificate
//! chain to a root the school trusts. ASN.1 is RustCrypto's (cms, x509-cert, der),
//! as is the arithmetic (rsa, p256, p384); nothing here parses DER by hand.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::ObjectIdentifier as Oid;
use der::{Decode, Encode};
use serde::Serialize;
use x509_cert::Certificate;

/// Bigger than any real signature (certificate chains with revocation data stay
/// under 100 KB); a larger hole is hostile.
const MAX_CONTENTS_BYTES: usize = 2 << 20;
/// How many certificates a chain may have before we stop following it.
const MAX_CHAIN: usize = 8;

const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
const ID_SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
const CURVE_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const CURVE_P384: Oid = Oid::new_unwrap("1.3.132.0.34");

/// The digest algorithms PDF signatures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: &Oid) -> Option<Self> {
        match *oid {
            ID_SHA1 => Some(Self::Sha1),
            ID_SHA256 => Some(Self::Sha256),
            ID_SHA384 => Some(Self::Sha384),
            ID_SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            Self::Sha1 => run::<sha1::Sha1>(parts),
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

/// How far a signature's certificate is trusted. Trust is reported beside
/// integrity, never instead of it: a self-signed signature can be intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "root")]
pub enum Trust {
    /// Chains to one of the school's trust roots (named).
    Trusted(String),
    SelfSigned,
    UnknownIssuer,
}

impl Trust {
    pub fn describe(&self) -> String {
        match self {
            Self::Trusted(root) => format!("trusted: chains to the school's root \"{root}\""),
            Self::SelfSigned => "untrusted: the certificate is self-signed".into(),
            Self::UnknownIssuer => {
                "untrusted: the certificate's issuer is not one of the school's trust roots".into()
            }
        }
    }
}

/// What the cryptography says about one signature.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CmsReport {
    pub signer: Option<String>,
    /// The signer's e-mail addresses: the subject's emailAddress and the
    /// certificate's rfc822Name alternative names.
    pub signer_emails: Vec<String>,
    /// SHA-256 (hex) of the signer's certificate, to tell the school's own seal
    /// from a person's certificate.
    #[serde(default)]
    pub signer_certificate_sha256: Option<String>,
    /// The signer's claimed signing time (signed attribute), RFC 3339.
    pub signing_time: Option<String>,
    pub digest_algorithm: Option<String>,
    /// The digest of the signed bytes equals the one the signer signed.
    pub intact: bool,
    /// The signature verifies against the signer certificate's key.
    pub valid: bool,
    pub trust: Trust,
    /// Why it is not intact or not valid, for people. Named apart from the
    /// signature's own `problems` (it is flattened into the same JSON object, where
    /// two keys of one name were ambiguous, and refused when read back).
    #[serde(rename = "cms_problems")]
    pub problems: Vec<String>,
}

impl CmsReport {
    /// Nothing established yet: not intact, not valid, issuer unknown.
    pub fn unchecked() -> Self {
        Self {
            signer: None,
            signer_emails: Vec::new(),
            signer_certificate_sha256: None,
            signing_time: None,
            digest_algorithm: None,
            intact: false,
            valid: false,
            trust: Trust::UnknownIssuer,
            problems: Vec::new(),
        }
    }
}

/// Checks the CMS blob `contents` over `signed` (the byte range's two parts).
pub fn verify_cms(contents: &[u8], signed: [&[u8]; 2], roots: &[Certificate]) -> CmsReport {
    let mut report = CmsReport::unchecked();
    if contents.len() > MAX_CONTENTS_BYTES {
        report.problems.push(format!(
            "the signature is {} KB, far more than any real signature",
            contents.len() >> 10
        ));
        return report;
    }
    let signed_data = match parse_signed_data(contents) {
        Ok(data) => data,
        Err(problem) => {
            report.problems.push(problem);
            return report;
        }
    };
    let Some(signer_info) = signed_data.signer_infos.0.iter().next() else {
        report.problems.push("the signature names no signer".into());
        return report;
    };
    let certificates: Vec<&Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Some(cert),
            _ => None,
        })
        .collect();
    let signer_cert = certificates
        .iter()
        .copied()
        .find(|cert| identifies(&signer_info.sid, cert));
    if let Some(cert) = signer_cert {
        report.signer = common_name(cert);
        report.signer_emails = emails(cert);
        report.signer_certificate_sha256 = cert
            .to_der()
            .ok()
            .map(|der| crate::form::id::hex(&<sha2::Sha256 as sha2::Digest>::digest(der)));
    }
    report.signing_time = signing_time(signer_info);

    let Some(hash) = Hash::from_oid(&signer_info.digest_alg.oid) else {
        report.problems.push(format!(
            "the signature uses digest algorithm {}, which aup does not know",
            signer_info.digest_alg.oid
        ));
        return report;
    };
    report.digest_algorithm = Some(hash.name().to_owned());
    let document_digest = hash.digest(&signed);

    // With signed attributes, the signer signed their DER (as a SET) and the
    // document digest is one of them; without, the signer signed the document.
    let signed_message = match &signer_info.signed_attrs {
        Some(attrs) => {
            match message_digest(signer_info) {
                Some(claimed) if claimed == document_digest => report.intact = true,
                Some(_) => report.problems.push(
                    "the document's bytes do not match the digest the signer signed: \
                     the signed part of the file was changed"
                        .into(),
                ),
                None => report
                    .problems
                    .push("the signature carries no message digest".into()),
            }
            match attrs.to_der() {
                Ok(der) => der,
                Err(e) => {
                    report
                        .problems
                        .push(format!("the signed attributes cannot be encoded: {e}"));
                    return report;
                }
            }
        }
        None => Vec::new(),
    };
    let Some(cert) = signer_cert else {
        report
            .problems
            .push("the signer's certificate is not in the signature".into());
        return report;
    };
    let verified = match &signer_info.signed_attrs {
        Some(_) => verify_with(cert, signer_info, hash, &signed_message),
        None => verify_prehashed(cert, signer_info, hash, &document_digest),
    };
    match verified {
        Ok(()) => {
            report.valid = true;
            if signer_info.signed_attrs.is_none() {
                // The signature is over the document digest itself.
                report.intact = true;
            }
        }
        Err(problem) => report.problems.push(problem),
    }
    report.trust = trust(cert, &certificates, roots);
    report
}

fn parse_signed_data(contents: &[u8]) -> Result<SignedData, String> {
    match parse_der_signed_data(contents) {
        Ok(data) => Ok(data),
        // NSS (pdfsig, Okular, Evince, LibreOffice) writes BER: read it as its
        // one DER encoding. A file that is neither keeps DER's complaint.
        Err(der_problem) => match super::ber::to_der(contents) {
            Ok(der) => parse_der_signed_data(&der).map_err(|_| der_problem),
            Err(_) => Err(der_problem),
        },
    }
}

fn parse_der_signed_data(contents: &[u8]) -> Result<SignedData, String> {
    // The hole is padded with zeros after the DER: read one value, ignore the rest.
    let mut reader =
        der::SliceReader::new(contents).map_err(|e| format!("the signature is not DER: {e}"))?;
    let info = ContentInfo::decode(&mut reader)
        .map_err(|e| format!("the signature is not a CMS message: {e}"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(format!(
            "the signature is CMS content type {}, not SignedData",
            info.content_type
        ));
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|e| format!("the signature's SignedData is malformed: {e}"))
}

fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == *tbs.issuer() && id.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, found)| found.0 == ski.0),
    }
}

pub fn common_name(cert: &Certificate) -> Option<String> {
    let subject = cert.tbs_certificate().subject();
    match subject.common_name() {
        Ok(Some(cn)) => Some(cn.value().into_owned()),
        _ => Some(subject.to_string()).filter(|s| !s.is_empty()),
    }
}

/// PKCS #9 emailAddress, which NSS and OpenSSL put in the subject.
const EMAIL_ADDRESS: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");

/// The e-mail addresses a certificate names its subject by.
pub fn emails(cert: &Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let tbs = cert.tbs_certificate();
    let mut found: Vec<String> = tbs
        .subject()
        .iter()
        .filter(|atav| atav.oid == EMAIL_ADDRESS)
        .filter_map(|atav| atav.value.decode_as::<der::asn1::Ia5String>().ok())
        .map(|email| email.to_string())
        .collect();
    if let Ok(Some((_, names))) = tbs.get_extension::<SubjectAltName>() {
        found.extend(names.0.iter().filter_map(|name| match name {
            GeneralName::Rfc822Name(email) => Some(email.to_string()),
            _ => None,
        }));
    }
    found
}

fn attribute(info: &SignerInfo, oid: Oid) -> Option<&der::Any> {
    info.signed_attrs
        .as_ref()?
        .iter()
        .find(|a| a.oid == oid)?
        .values
        .iter()
        .next()
}

fn message_digest(info: &SignerInfo) -> Option<Vec<u8>> {
    let value = attribute(info, ID_MESSAGE_DIGEST)?;
    value
        .decode_as::<der::asn1::OctetString>()
        .ok()
        .map(|o| o.as_bytes().to_vec())
}

fn signing_time(info: &SignerInfo) -> Option<String> {
    let value = attribute(info, ID_SIGNING_TIME)?;
    let time = value.decode_as::<x509_cert::time::Time>().ok()?;
    let seconds = time.to_unix_duration().as_secs() as i64;
    let at = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Verifies `signer_info`'s signature over `message` with `cert`'s key.
fn verify_with(
    cert: &Certificate,
    signer_info: &SignerInfo,
    digest: Hash,
    message: &[u8],
) -> Result<(), String> {
    let hash = signature_hash(&signer_info.signature_algorithm, digest);
    let prehash = hash.digest(&[message]);
    verify_key(
        cert.tbs_certificate().subject_public_key_info(),
        &signer_info.signature_algorithm,
        hash,
        &prehash,
        signer_info.signature.as_bytes(),
    )
}

fn verify_prehashed(
    cert: &Certificate,
    signer_info: &SignerInfo,
    digest: Hash,
    prehash: &[u8],
) -> Result<(), String> {
    verify_key(
        cert.tbs_certificate().subject_public_key_info(),
        &signer_info.signature_algorithm,
        digest,
        prehash,
        signer_info.signature.as_bytes(),
    )
}

/// The hash a signature algorithm names, or the digest algorithm's when it names
/// only the key type (rsaEncryption, id-ecPublicKey, as many signers write).
fn signature_hash(algorithm: &spki::AlgorithmIdentifierOwned, digest: Hash) -> Hash {
    match algorithm.oid {
        SHA1_WITH_RSA => Hash::Sha1,
        SHA256_WITH_RSA | ECDSA_SHA256 => Hash::Sha256,
        SHA384_WITH_RSA | ECDSA_SHA384 => Hash::Sha384,
        SHA512_WITH_RSA | ECDSA_SHA512 => Hash::Sha512,
        RSASSA_PSS => pss_params(algorithm).map(|(h, _)| h).unwrap_or(digest),
        _ => digest,
    }
}

/// RSASSA-PSS parameters: the hash and the salt length (RFC 4055 defaults SHA-1, 20).
fn pss_params(algorithm: &spki::AlgorithmIdentifierOwned) -> Option<(Hash, usize)> {
    let Some(params) = &algorithm.parameters else {
        return Some((Hash::Sha1, 20));
    };
    let params = params
        .decode_as::<rsa::pkcs1::RsaPssParams<der::Any>>()
        .ok()?;
    let hash = Hash::from_oid(&params.hash.oid)?;
    Some((hash, params.salt_len as usize))
}

/// Verifies a signature over `prehash` (made with `hash`) by the key in `spki`.
fn verify_key(
    spki: &spki::SubjectPublicKeyInfoOwned,
    algorithm: &spki::AlgorithmIdentifierOwned,
    hash: Hash,
    prehash: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let invalid = |what: &str| {
        format!(
            "the {what} signature does not verify with the signer's key: it was not made by that key over these bytes"
        )
    };
    match spki.algorithm.oid {
        RSA_ENCRYPTION => {
            use rsa::pkcs8::DecodePublicKey;
            let der = spki.to_der().map_err(|e| e.to_string())?;
            let key = rsa::PublicKey::from_public_key_der(&der)
                .map_err(|e| format!("the signer's RSA key cannot be read: {e}"))?;
            let outcome = if algorithm.oid == RSASSA_PSS {
                let (_, salt) =
                    pss_params(algorithm).ok_or("the RSA-PSS parameters name an unknown hash")?;
                match hash {
                    Hash::Sha1 => key.verify(
                        rsa::Pss::<sha1::Sha1>::new_with_salt(salt),
                        prehash,
                        signature,
                    ),
                    Hash::Sha256 => key.verify(
                        rsa::Pss::<sha2::Sha256>::new_with_salt(salt),
                        prehash,
                        signature,
                    ),
                    Hash::Sha384 => key.verify(
                        rsa::Pss::<sha2::Sha384>::new_with_salt(salt),
                        prehash,
                        signature,
                    ),
                    Hash::Sha512 => key.verify(
                        rsa::Pss::<sha2::Sha512>::new_with_salt(salt),
                        prehash,
                        signature,
                    ),
                }
            } else {
                let scheme = match hash {
                    Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                    Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                key.verify(scheme, prehash, signature)
            };
            outcome.map_err(|_| invalid("RSA"))
        }
        EC_PUBLIC_KEY => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<Oid>().ok());
            let point = spki.subject_public_key.raw_bytes();
            match curve {
                Some(CURVE_P256) => {
                    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| "the signer's P-256 key is not a valid point".to_string())?;
                    let sig = p256::ecdsa::Signature::from_der(signature)
                        .map_err(|_| "the ECDSA signature is not DER".to_string())?;
                    key.verify_prehash(prehash, &sig)
                        .map_err(|_| invalid("ECDSA P-256"))
                }
                Some(CURVE_P384) => {
                    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| "the signer's P-384 key is not a valid point".to_string())?;
                    let sig = p384::ecdsa::Signature::from_der(signature)
                        .map_err(|_| "the ECDSA signature is not DER".to_string())?;
                    key.verify_prehash(prehash, &sig)
                        .map_err(|_| invalid("ECDSA P-384"))
                }
                other => Err(format!(
                    "the signer's key is on curve {}, which aup does not support (P-256, P-384)",
                    other
                        .map(|o| o.to_string())
                        .unwrap_or_else(|| "(unnamed)".into())
                )),
            }
        }
        other => Err(format!(
            "the signer's key type {other} is not supported (RSA, ECDSA)"
        )),
    }
}

/// Does `issuer`'s key verify `cert`'s own signature?
fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return false;
    }
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    let algorithm = cert.signature_algorithm();
    let hash = signature_hash(algorithm, Hash::Sha256);
    let prehash = hash.digest(&[&tbs]);
    verify_key(
        issuer.tbs_certificate().subject_public_key_info(),
        algorithm,
        hash,
        &prehash,
        cert.signature().raw_bytes(),
    )
    .is_ok()
}

/// Follows the chain from `cert` through the signature's certificates to a root.
fn trust(cert: &Certificate, bundled: &[&Certificate], roots: &[Certificate]) -> Trust {
    let mut current = cert.clone();
    for _ in 0..MAX_CHAIN {
        if let Some(root) = roots
            .iter()
            .find(|root| *root == &current || issued_by(&current, root))
        {
            return Trust::Trusted(common_name(root).unwrap_or_else(|| "unnamed root".into()));
        }
        if issued_by(&current, &current) {
            return Trust::SelfSigned;
        }
        match bundled
            .iter()
            .find(|c| **c != &current && issued_by(&current, c))
        {
            Some(next) => current = (*next).clone(),
            None => return Trust::UnknownIssuer,
        }
    }
    Trust::UnknownIssuer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_problem_not_a_panic() {
        for contents in [
            &b""[..],
            b"\x30\x82\xff\xff",
            b"\x30\x03\x06\x01\x00",
            &[0u8; 64],
        ] {
            let report = verify_cms(contents, [b"a", b"b"], &[]);
            assert!(!report.intact && !report.valid);
            assert!(!report.problems.is_empty(), "{contents:?}");
        }
    }

    #[test]
    fn hashes_match_their_known_answers() {
        let abc = [&b"ab"[..], b"c"];
        let hex = |v: Vec<u8>| crate::form::id::hex(&v);
        assert_eq!(
            hex(Hash::Sha1.digest(&abc)),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(hex(Hash::Sha256.digest(&abc)).starts_with("ba7816bf8f01cfea"));
        assert!(hex(Hash::Sha384.digest(&abc)).starts_with("cb00753f45a35e8b"));
        assert!(hex(Hash::Sha512.digest(&abc)).starts_with("ddaf35a193617aba"));
    }
}
