//! A form's metadata: the Info dictionary and the XMP packet, which name the form
//! (so a returned PDF is recognised by its content, not its file name) and keep
//! the PDF/A-2a and PDF/UA-1 claims Typst made for the policy. PDF/A wants the
//! two to agree (title, author, subject, keywords, creator, dates) and every XMP
//! property outside the standard schemas declared in an extension schema, which
//! is why aup's own properties come with their description.

use super::FormMeta;

/// The XMP namespace of aup's own properties.
pub const XMP_NAMESPACE: &str = "https://aup.schools.example/ns/form/1.0/";

/// aup's properties, with the description the PDF/A extension schema gives them.
const AUP_PROPERTIES: &[(&str, &str)] = &[
    ("formId", "The form id a person types, e.g. PAK-2526-0007-K"),
    ("school", "The school's slug"),
    (
        "academicYear",
        "The academic year of the form, e.g. 2025-26",
    ),
    (
        "policyFingerprint",
        "SHA-256 of the policy version the form was issued for",
    ),
    ("person", "Who the form was issued to"),
];

/// What both the Info dictionary and the XMP packet say.
pub struct FormMetadata<'a> {
    pub meta: &'a FormMeta,
    pub title: String,
    pub subject: String,
    pub keywords: String,
    pub person: &'a str,
    /// The issue date as the Info dictionary writes it (`D:20250901000000Z`).
    pub created: Option<String>,
}

impl<'a> FormMetadata<'a> {
    pub fn new(meta: &'a FormMeta, created: Option<String>) -> Self {
        let person = meta.person.as_deref().unwrap_or("(blank form)");
        Self {
            title: format!(
                "{} – Acceptable Use Policy {} – {}",
                meta.school_name, meta.year, person
            ),
            subject: format!("Acceptable Use Policy form {}", meta.form_id),
            keywords: format!("aup; {}; {}; {}", meta.form_id, meta.school, meta.year),
            meta,
            person,
            created,
        }
    }

    /// The XMP packet.
    pub fn packet(&self) -> String {
        let meta = self.meta;
        let dates = match self.created.as_deref().and_then(xmp_date) {
            Some(date) => {
                format!(
                    "<xmp:CreateDate>{date}</xmp:CreateDate>\n<xmp:ModifyDate>{date}</xmp:ModifyDate>\n"
                )
            }
            None => String::new(),
        };
        let properties: String = AUP_PROPERTIES
            .iter()
            .map(|(name, description)| {
                format!(
                    "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>\n"
                )
            })
            .collect();
        format!(
            r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#" xmlns:aup="{ns}">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{school_name}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
<dc:language><rdf:Bag><rdf:li>en-GB</rdf:li></rdf:Bag></dc:language>
<dc:format>application/pdf</dc:format>
<pdf:Keywords>{keywords}</pdf:Keywords>
<xmp:CreatorTool>aup</xmp:CreatorTool>
{dates}<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>A</pdfaid:conformance>
<pdfuaid:part>1</pdfuaid:part>
<pdfaExtension:schemas><rdf:Bag>
<rdf:li rdf:parseType="Resource"><pdfaSchema:schema>PDF/UA Identification schema</pdfaSchema:schema><pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI><pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource"><pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType><pdfaProperty:category>internal</pdfaProperty:category><pdfaProperty:description>Part of ISO 14289 (PDF/UA) the document conforms to</pdfaProperty:description></rdf:li></rdf:Seq></pdfaSchema:property></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaSchema:schema>aup form identity</pdfaSchema:schema><pdfaSchema:namespaceURI>{ns}</pdfaSchema:namespaceURI><pdfaSchema:prefix>aup</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>
{properties}</rdf:Seq></pdfaSchema:property></rdf:li>
</rdf:Bag></pdfaExtension:schemas>
<aup:formId>{form}</aup:formId>
<aup:school>{school}</aup:school>
<aup:academicYear>{year}</aup:academicYear>
<aup:policyFingerprint>{fingerprint}</aup:policyFingerprint>
<aup:person>{person}</aup:person>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
            ns = XMP_NAMESPACE,
            title = xml_escape(&self.title),
            school_name = xml_escape(&meta.school_name),
            subject = xml_escape(&self.subject),
            keywords = xml_escape(&self.keywords),
            form = meta.form_id,
            school = xml_escape(&meta.school),
            year = meta.year,
            fingerprint = meta.fingerprint,
            person = xml_escape(self.person),
        )
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `D:20250901000000Z` (or `…+01'00'`) as XMP writes a date,
/// `2025-09-01T00:00:00+00:00`; `None` for anything else.
fn xmp_date(pdf: &str) -> Option<String> {
    let digits = pdf.strip_prefix("D:")?;
    let (stamp, zone) = digits.split_at(14.min(digits.len()));
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let zone = match zone.as_bytes() {
        [] | [b'Z', ..] => "+00:00".to_owned(),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits: String = rest
                .iter()
                .filter(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            if digits.len() != 4 {
                return None;
            }
            format!("{}{}:{}", *sign as char, &digits[..2], &digits[2..])
        }
        _ => return None,
    };
    let part = |range: std::ops::Range<usize>| &stamp[range];
    Some(format!(
        "{}-{}-{}T{}:{}:{}{zone}",
        part(0..4),
        part(4..6),
        part(6..8),
        part(8..10),
        part(10..12),
        part(12..14)
    ))
}

#[cfg(test)]
mod tests {
    use super::xmp_date;

    #[test]
    fn pdf_dates_become_xmp_dates() {
        assert_eq!(
            xmp_date("D:20250901000000Z").as_deref(),
            Some("2025-09-01T00:00:00+00:00")
        );
        assert_eq!(
            xmp_date("D:20250901103000+01'00'").as_deref(),
            Some("2025-09-01T10:30:00+01:00")
        );
        assert_eq!(xmp_date("yesterday"), None);
        assert_eq!(xmp_date("D:2025"), None);
    }
}
