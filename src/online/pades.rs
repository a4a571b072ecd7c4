//! Sealing a PDF with the school's seal: a PAdES baseline B-B signature (ETSI
//! EN 319 142-1), added as an incremental update so the bytes before it stay as
//! they were. The signature dictionary is `/SubFilter /ETSI.CAdES.detached`; its
//! CMS SignedData holds the seal certificate and one SignerInfo whose signed
//! attributes are content-type, message-digest (SHA-256 of the byte ranges) and
//! signing-certificate-v2 (the certificate's SHA-256), signed with the seal's
//! key (ECDSA P-256, or RSA PKCS#1 v1.5, with SHA-256).
//! PAdES puts the signing time in the dictionary's `/M`, not in the CMS.

use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use lopdf::{Dictionary, Document, IncrementalDocument, Object, StringFormat};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

use super::seal::Seal;

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const ID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const ID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const ID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
const ID_SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// Room for the CMS in `/Contents`: the certificate (about 500 bytes), the
/// attributes and the signature fit many times over.
const CONTENTS_BYTES: usize = 8192;

/// The `/ByteRange` written first and overwritten once the offsets are known:
/// each number as wide as any this file can need.
const BYTE_RANGE_PLACEHOLDER: [i64; 4] = [0, 1_111_111_111, 2_222_222_222, 3_333_333_333];

#[derive(Debug, thiserror::Error)]
pub enum SealPdfError {
    #[error("the PDF to seal cannot be read: {0}")]
    Load(#[from] lopdf::Error),
    #[error("the PDF to seal is not one aup made: {0}")]
    Malformed(String),
    #[error("cannot make the seal's signature: {0}")]
    Cms(#[from] der::Error),
}

/// Who seals and when, as the signature dictionary says it.
pub struct SealDetails<'a> {
    /// `/Name`: the school, as its seal names it.
    pub name: &'a str,
    /// `/Reason`, e.g. "Signed online by Amelia Hart".
    pub reason: &'a str,
    /// `/M`, UTC.
    pub when: time::OffsetDateTime,
}

/// `pdf` with the school's seal over all of it, as a new revision.
pub fn seal_pdf(
    pdf: &[u8],
    seal: &Seal,
    details: &SealDetails<'_>,
) -> Result<Vec<u8>, SealPdfError> {
    let previous = Document::load_mem(pdf)?;
    let first_page = *previous
        .get_pages()
        .values()
        .next()
        .ok_or_else(|| SealPdfError::Malformed("it has no pages".into()))?;
    let catalog_id = previous
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| SealPdfError::Malformed("it has no catalog".into()))?;
    let mut update = IncrementalDocument::create_from(pdf.to_vec(), previous);

    let signature = update
        .new_document
        .add_object(signature_dictionary(details));
    let field = update.new_document.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Annot".to_vec())),
        ("Subtype", Object::Name(b"Widget".to_vec())),
        ("FT", Object::Name(b"Sig".to_vec())),
        ("T", Object::string_literal("school_seal")),
        ("TU", crate::form::stamp::text_string("The school's seal")),
        ("V", Object::Reference(signature)),
        // Invisible, printed never, locked: the seal is in the signature panel.
        ("Rect", crate::pdf::rect(0.0, 0.0, 0.0, 0.0)),
        ("F", Object::Integer(2 | 128)),
        ("P", Object::Reference(first_page)),
    ]));

    update.opt_clone_object_to_new_document(first_page)?;
    let annots = match update
        .new_document
        .get_dictionary(first_page)?
        .get(b"Annots")
    {
        Ok(Object::Array(items)) => items.clone(),
        Ok(Object::Reference(id)) => update
            .get_prev_documents()
            .get_object(*id)
            .and_then(Object::as_array)
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut annots = annots;
    annots.push(Object::Reference(field));
    update
        .new_document
        .get_dictionary_mut(first_page)?
        .set("Annots", Object::Array(annots));

    // The form's AcroForm gains the field and says the file is signed.
    update.opt_clone_object_to_new_document(catalog_id)?;
    let acro_form = update
        .new_document
        .get_dictionary(catalog_id)?
        .get(b"AcroForm")
        .cloned()
        .map_err(|_| SealPdfError::Malformed("it has no form fields".into()))?;
    let mut form = match acro_form {
        Object::Reference(id) => {
            update.opt_clone_object_to_new_document(id)?;
            update.new_document.get_dictionary(id)?.clone()
        }
        Object::Dictionary(dict) => dict,
        _ => {
            return Err(SealPdfError::Malformed(
                "its AcroForm is not a dictionary".into(),
            ));
        }
    };
    let mut fields = form
        .get(b"Fields")
        .and_then(Object::as_array)
        .cloned()
        .unwrap_or_default();
    fields.push(Object::Reference(field));
    form.set("Fields", Object::Array(fields));
    form.set("SigFlags", Object::Integer(3));
    match acro_form_reference(&update, catalog_id) {
        Some(id) => update.new_document.set_object(id, Object::Dictionary(form)),
        None => update
            .new_document
            .get_dictionary_mut(catalog_id)?
            .set("AcroForm", Object::Dictionary(form)),
    }

    let mut bytes = Vec::with_capacity(pdf.len() + 2 * CONTENTS_BYTES + 4096);
    update
        .save_to(&mut bytes)
        .map_err(|e| SealPdfError::Malformed(e.to_string()))?;
    sign_in_place(&mut bytes, seal)?;
    Ok(bytes)
}

fn acro_form_reference(
    update: &IncrementalDocument,
    catalog: lopdf::ObjectId,
) -> Option<lopdf::ObjectId> {
    update
        .new_document
        .get_dictionary(catalog)
        .ok()?
        .get(b"AcroForm")
        .ok()?
        .as_reference()
        .ok()
}

fn signature_dictionary(details: &SealDetails<'_>) -> Dictionary {
    let when = details.when.to_offset(time::UtcOffset::UTC);
    let m = format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        when.year(),
        when.month() as u8,
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    );
    Dictionary::from_iter([
        ("Type", Object::Name(b"Sig".to_vec())),
        ("Filter", Object::Name(b"Adobe.PPKLite".to_vec())),
        ("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec())),
        (
            "ByteRange",
            Object::Array(
                BYTE_RANGE_PLACEHOLDER
                    .iter()
                    .map(|&n| Object::Integer(n))
                    .collect(),
            ),
        ),
        (
            "Contents",
            Object::String(vec![0; CONTENTS_BYTES], StringFormat::Hexadecimal),
        ),
        ("M", Object::string_literal(m)),
        ("Name", crate::form::stamp::text_string(details.name)),
        ("Reason", crate::form::stamp::text_string(details.reason)),
    ])
}

/// Finds the placeholders lopdf wrote, fixes `/ByteRange` to the real offsets
/// (padded to the same width) and writes the CMS into `/Contents`.
fn sign_in_place(bytes: &mut [u8], seal: &Seal) -> Result<(), SealPdfError> {
    let placeholder = format!(
        "[{} {} {} {}]",
        BYTE_RANGE_PLACEHOLDER[0],
        BYTE_RANGE_PLACEHOLDER[1],
        BYTE_RANGE_PLACEHOLDER[2],
        BYTE_RANGE_PLACEHOLDER[3]
    );
    let missing = |what: &str| {
        SealPdfError::Malformed(format!(
            "the signature's {what} was not written as expected"
        ))
    };
    let range_at = find_last(bytes, placeholder.as_bytes()).ok_or_else(|| missing("/ByteRange"))?;
    let zeros = vec![b'0'; 2 * CONTENTS_BYTES];
    let mut needle = b"<".to_vec();
    needle.extend_from_slice(&zeros);
    needle.push(b'>');
    let contents_at = find_last(bytes, &needle).ok_or_else(|| missing("/Contents"))?;
    let (start, end) = (contents_at, contents_at + needle.len());
    let ranges = [0, start, end, bytes.len() - end];
    let written = format!("[{} {} {} {}", ranges[0], ranges[1], ranges[2], ranges[3]);
    if written.len() + 1 > placeholder.len() {
        return Err(SealPdfError::Malformed(
            "the file is too large to seal".into(),
        ));
    }
    let padded = format!("{written:<width$}]", width = placeholder.len() - 1);
    bytes[range_at..range_at + placeholder.len()].copy_from_slice(padded.as_bytes());

    let mut digest = Sha256::new();
    digest.update(&bytes[..start]);
    digest.update(&bytes[end..]);
    let cms = signed_data(&digest.finalize(), seal)?;
    if cms.len() > CONTENTS_BYTES {
        return Err(SealPdfError::Malformed(
            "the signature does not fit its room".into(),
        ));
    }
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    bytes[start + 1..start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(())
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn oid(text: &str) -> der::oid::ObjectIdentifier {
    der::oid::ObjectIdentifier::new_unwrap(text)
}

fn attribute(id: &str, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid: oid(id),
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// ContentInfo(SignedData) over `digest`, detached, signed by the seal.
fn signed_data(digest: &[u8], seal: &Seal) -> Result<Vec<u8>, der::Error> {
    use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    };

    let sha256 = AlgorithmIdentifierOwned {
        oid: oid(ID_SHA256),
        parameters: None,
    };
    // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }, and
    // ESSCertIDv2 ::= SEQUENCE { certHash OCTET STRING } (SHA-256 by default).
    let cert_hash = OctetString::new(Sha256::digest(&seal.certificate_der).to_vec())?.to_der()?;
    let ess_cert_id = tlv(0x30, &cert_hash);
    let signing_certificate = tlv(0x30, &tlv(0x30, &ess_cert_id));
    let attributes = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&oid(ID_DATA))?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec())?)?,
        )?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            Any::from_der(&signing_certificate)?,
        )?,
    ])?;
    // The signature is over the attributes' DER as a SET (RFC 5652 §5.4).
    let (signature_algorithm, signature) = seal
        .key
        .sign(&attributes.to_der()?)
        .map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
    let tbs = seal.certificate.tbs_certificate();
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attributes),
        signature_algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid(ID_DATA),
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(vec![
            CertificateChoices::Certificate(seal.certificate.clone()),
        ])?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer])?,
    };
    ContentInfo {
        content_type: oid(ID_SIGNED_DATA),
        content: Any::encode_from(&signed)?,
    }
    .to_der()
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    super::seal::tlv(tag, content)
}
