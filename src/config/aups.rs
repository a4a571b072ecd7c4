//! The AUPs a school asks people to sign (`aups:` in the school's YAML) and
//! each one's options (`aup_options:`): which year groups each pupils' AUP is
//! for, who signs it, the parents' consents, and each AUP's own clause edits.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pupils::YearGroup;
use super::schema::{ClauseEdits, TextBlock};

/// One kind of AUP, with its own template.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
pub enum AupKind {
    /// Staff, governors and volunteers (the `audience` list).
    #[serde(rename = "staff")]
    Staff,
    /// Pupils in Nursery, Reception, Year 1 and Year 2: a parent or carer signs.
    #[serde(rename = "eyfs-ks1")]
    EyfsKs1,
    /// Pupils in Years 3 to 6: the pupil signs, a parent or carer countersigns.
    #[serde(rename = "ks2")]
    Ks2,
    /// Pupils in Years 7 to 13: the pupil signs, a parent or carer acknowledges.
    #[serde(rename = "ks3-4")]
    Ks34,
    /// Parents and carers, with the school's consents as Yes/No answers.
    #[serde(rename = "parents")]
    Parents,
    /// Visitors and contractors, signed at reception.
    #[serde(rename = "visitors")]
    Visitors,
}

impl AupKind {
    pub const ALL: [AupKind; 6] = [
        Self::Staff,
        Self::EyfsKs1,
        Self::Ks2,
        Self::Ks34,
        Self::Parents,
        Self::Visitors,
    ];

    /// The name a school writes in `aups:` and the office gives `--aup`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::EyfsKs1 => "eyfs-ks1",
            Self::Ks2 => "ks2",
            Self::Ks34 => "ks3-4",
            Self::Parents => "parents",
            Self::Visitors => "visitors",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The Typst template that prints it.
    pub fn template(self) -> &'static str {
        match self {
            Self::Staff => "staff-aup.typ",
            Self::EyfsKs1 => "eyfs-ks1-aup.typ",
            Self::Ks2 => "ks2-aup.typ",
            Self::Ks34 => "ks3-4-aup.typ",
            Self::Parents => "parents-aup.typ",
            Self::Visitors => "visitors-aup.typ",
        }
    }

    /// The AUP whose template is `template` (as the register records it).
    pub fn of_template(template: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.template() == template)
    }

    /// Who it is for, in the office's words.
    pub fn title(self) -> &'static str {
        match self {
            Self::Staff => "staff, governors and volunteers",
            Self::EyfsKs1 => "pupils in Early Years and Key Stage 1",
            Self::Ks2 => "pupils in Key Stage 2",
            Self::Ks34 => "pupils in Key Stages 3 and 4",
            Self::Parents => "parents and carers",
            Self::Visitors => "visitors and contractors",
        }
    }

    /// True when the forms are made from the class lists (one per pupil).
    pub fn uses_class_lists(self) -> bool {
        matches!(self, Self::EyfsKs1 | Self::Ks2 | Self::Ks34 | Self::Parents)
    }

    /// The year groups a pupils' AUP is for when the school does not say.
    pub fn default_year_groups(self) -> Vec<YearGroup> {
        match self {
            Self::EyfsKs1 => [YearGroup::Nursery, YearGroup::Reception]
                .into_iter()
                .chain((1..=2).map(YearGroup::Year))
                .collect(),
            Self::Ks2 => (3..=6).map(YearGroup::Year).collect(),
            Self::Ks34 => (7..=13).map(YearGroup::Year).collect(),
            _ => Vec::new(),
        }
    }

    /// Who signs a pupils' AUP when the school does not say.
    pub fn default_signers(self) -> Signers {
        match self {
            Self::EyfsKs1 => Signers::Parent,
            Self::Ks2 | Self::Ks34 => Signers::PupilAndParent,
            Self::Staff | Self::Parents | Self::Visitors => Signers::Parent,
        }
    }

    /// The file name of its readable policy: `<slug>-ks2-aup.pdf`.
    pub fn policy_file(self, slug: &str) -> String {
        format!("{slug}-{}-aup.pdf", self.name())
    }
}

impl std::fmt::Display for AupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who signs a pupils' AUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Signers {
    /// A parent or carer signs; the child may write their name.
    Parent,
    /// The pupil signs and a parent or carer signs too.
    PupilAndParent,
    /// The pupil alone signs (sixth forms, or a school that asks parents on
    /// their own AUP).
    Pupil,
}

impl Signers {
    pub fn name(self) -> &'static str {
        match self {
            Self::Parent => "parent",
            Self::PupilAndParent => "pupil-and-parent",
            Self::Pupil => "pupil",
        }
    }
}

/// Options of each AUP besides the staff one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AupOptions {
    /// The AUP for Nursery, Reception, Year 1 and Year 2.
    #[serde(default, rename = "eyfs-ks1", skip_serializing_if = "Option::is_none")]
    pub eyfs_ks1: Option<PupilAupOptions>,
    /// The AUP for Years 3 to 6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks2: Option<PupilAupOptions>,
    /// The AUP for Years 7 to 13.
    #[serde(default, rename = "ks3-4", skip_serializing_if = "Option::is_none")]
    pub ks3_4: Option<PupilAupOptions>,
    /// The parents' and carers' AUP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parents: Option<ParentAupOptions>,
    /// The visitors' and contractors' AUP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitors: Option<VisitorAupOptions>,
}

/// Options of a pupils' AUP.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PupilAupOptions {
    /// The year groups given this AUP, as the class lists write them
    /// (`Reception`, `R`, `1`, `Year 3`). Defaults: EYFS/KS1 Nursery to Year 2,
    /// KS2 Years 3 to 6, KS3/4 Years 7 to 13.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_groups: Option<Vec<YearGroupText>>,
    /// Who signs: `parent`, `pupil-and-parent` or `pupil`. Defaults: a parent
    /// for EYFS/KS1, the pupil and a parent for KS2 and KS3/4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<Signers>,
    /// Remove, replace or add this AUP's clauses by id (`aup check --clauses`).
    #[serde(default)]
    pub clauses: ClauseEdits,
    /// The school's own text in this AUP, placed as in the staff AUP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_blocks: Vec<TextBlock>,
}

/// A year group as a school writes it: `3` or `Year 3`, `R` or `Reception`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum YearGroupText {
    Number(u8),
    Text(String),
}

impl YearGroupText {
    pub fn year_group(&self) -> Option<YearGroup> {
        match self {
            Self::Number(n) => YearGroup::parse(&n.to_string()),
            Self::Text(text) => YearGroup::parse(text),
        }
    }
}

/// Options of the parents' and carers' AUP.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParentAupOptions {
    /// The Yes/No questions on the form. Defaults to photos in school displays,
    /// on the school website, on the school's social media and in the local press.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consents: Option<Vec<Consent>>,
    /// Remove, replace or add this AUP's clauses by id (`aup check --clauses`).
    #[serde(default)]
    pub clauses: ClauseEdits,
    /// The school's own text in this AUP, placed as in the staff AUP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_blocks: Vec<TextBlock>,
}

/// One Yes/No consent a parent answers for their child.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// A short name (lowercase letters, digits and dashes), the register's
    /// column, e.g. `website`.
    pub id: String,
    /// The question as printed, e.g. "Photos of my child may appear on the
    /// school website."
    pub question: String,
}

/// Options of the visitors' and contractors' AUP.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorAupOptions {
    /// How many blank forms to print for reception each time forms are made.
    #[serde(default = "default_visitor_forms")]
    pub blank_forms: u32,
    /// Remove, replace or add this AUP's clauses by id (`aup check --clauses`).
    #[serde(default)]
    pub clauses: ClauseEdits,
    /// The school's own text in this AUP, placed as in the staff AUP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_blocks: Vec<TextBlock>,
}

impl Default for VisitorAupOptions {
    fn default() -> Self {
        Self {
            blank_forms: default_visitor_forms(),
            clauses: ClauseEdits::default(),
            text_blocks: Vec::new(),
        }
    }
}

fn default_visitor_forms() -> u32 {
    10
}

/// The AUPs a school uses when its file does not say: the staff one.
pub fn default_aups() -> Vec<AupKind> {
    vec![AupKind::Staff]
}

/// The consents a parents' AUP asks when the school does not list its own.
pub fn default_consents() -> Vec<Consent> {
    [
        (
            "displays",
            "Photos and videos of my child may be used in displays inside the school.",
        ),
        (
            "website",
            "Photos and videos of my child may appear on the school website.",
        ),
        (
            "social-media",
            "Photos and videos of my child may appear on the school's social media.",
        ),
        (
            "press",
            "Photos of my child may appear in the local press, with their first name only.",
        ),
    ]
    .into_iter()
    .map(|(id, question)| Consent {
        id: id.to_owned(),
        question: question.to_owned(),
    })
    .collect()
}

/// One AUP's own clause edits and text blocks, where its options keep them.
pub struct AupEdits<'a> {
    pub clauses: &'a ClauseEdits,
    pub text_blocks: &'a [TextBlock],
}

impl AupOptions {
    /// The clause edits and blocks of `aup` (for staff: none here; the staff
    /// AUP's are at the top of the file).
    pub fn edits(&self, aup: AupKind) -> Option<AupEdits<'_>> {
        let (clauses, text_blocks) = match aup {
            AupKind::Staff => return None,
            AupKind::EyfsKs1 | AupKind::Ks2 | AupKind::Ks34 => {
                let o = self.pupils(aup)?;
                (&o.clauses, &o.text_blocks)
            }
            AupKind::Parents => {
                let o = self.parents.as_ref()?;
                (&o.clauses, &o.text_blocks)
            }
            AupKind::Visitors => {
                let o = self.visitors.as_ref()?;
                (&o.clauses, &o.text_blocks)
            }
        };
        Some(AupEdits {
            clauses,
            text_blocks,
        })
    }

    /// A pupils' AUP's options, when the school gives any.
    pub fn pupils(&self, aup: AupKind) -> Option<&PupilAupOptions> {
        match aup {
            AupKind::EyfsKs1 => self.eyfs_ks1.as_ref(),
            AupKind::Ks2 => self.ks2.as_ref(),
            AupKind::Ks34 => self.ks3_4.as_ref(),
            _ => None,
        }
    }

    /// The AUPs these options are given for.
    pub fn given(&self) -> Vec<AupKind> {
        let mut given = Vec::new();
        for (kind, set) in [
            (AupKind::EyfsKs1, self.eyfs_ks1.is_some()),
            (AupKind::Ks2, self.ks2.is_some()),
            (AupKind::Ks34, self.ks3_4.is_some()),
            (AupKind::Parents, self.parents.is_some()),
            (AupKind::Visitors, self.visitors.is_some()),
        ] {
            if set {
                given.push(kind);
            }
        }
        given
    }

    /// The year groups a pupils' AUP is for: the school's list, else the default.
    /// Entries that are not year groups are left out here (`aup check` names them).
    pub fn year_groups(&self, aup: AupKind) -> BTreeSet<YearGroup> {
        match self.pupils(aup).and_then(|o| o.year_groups.as_ref()) {
            Some(list) => list.iter().filter_map(YearGroupText::year_group).collect(),
            None => aup.default_year_groups().into_iter().collect(),
        }
    }

    /// Who signs a pupils' AUP.
    pub fn signers(&self, aup: AupKind) -> Signers {
        self.pupils(aup)
            .and_then(|o| o.signers)
            .unwrap_or(aup.default_signers())
    }

    /// The parents' consents: the school's list, else the default one.
    pub fn consents(&self) -> Vec<Consent> {
        self.parents
            .as_ref()
            .and_then(|o| o.consents.clone())
            .unwrap_or_else(default_consents)
    }

    /// How many blank visitor forms to print.
    pub fn visitor_forms(&self) -> u32 {
        self.visitors
            .as_ref()
            .map_or_else(default_visitor_forms, |o| o.blank_forms)
    }
}

/// The people `aup`'s personal forms are for, in print order: the staff
/// roster; the pupils of a pupils' AUP's year groups, class by class; every
/// pupil for the parents' AUP (the form goes to their parents, at the first
/// contact's address); nobody for visitors (their forms are blank). A pupil
/// is known by their UPN or admission number, else by name, as staff are.
pub fn people_of(
    school: &super::LoadedSchool,
    aup: AupKind,
) -> Result<Vec<super::roster::Person>, super::roster::RosterError> {
    use super::{pupils, roster};
    let slug = school.slug.as_str();
    match aup {
        AupKind::Staff => match roster::roster_path(school.dir(), slug) {
            path if path.is_file() => roster::read(&path),
            _ => Ok(Vec::new()),
        },
        AupKind::Visitors => Ok(Vec::new()),
        AupKind::EyfsKs1 | AupKind::Ks2 | AupKind::Ks34 | AupKind::Parents => {
            let mut list = match pupils::pupils_path(school.dir(), slug) {
                path if path.is_file() => pupils::read(&path)?,
                _ => Vec::new(),
            };
            if aup != AupKind::Parents {
                let years = school.config.aup_options.year_groups(aup);
                list.retain(|p| years.contains(&p.year));
            }
            pupils::sort_by_class(&mut list);
            Ok(list
                .into_iter()
                .map(|pupil| super::roster::Person {
                    email: match aup {
                        AupKind::Parents => pupil.contacts.iter().find_map(|c| c.email.clone()),
                        _ => None,
                    },
                    name: pupil.name,
                    role: pupil.class,
                    staff_id: pupil.pupil_id,
                    line: pupil.line,
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aup_is_named_and_found_by_its_name_and_template() {
        for kind in AupKind::ALL {
            assert_eq!(AupKind::parse(kind.name()), Some(kind));
            assert_eq!(AupKind::of_template(kind.template()), Some(kind));
        }
        assert_eq!(AupKind::parse("KS3-4"), Some(AupKind::Ks34));
        assert_eq!(AupKind::parse("ks3"), None);
    }

    #[test]
    fn the_pupils_aups_cover_nursery_to_year_13_once_each_by_default() {
        let options = AupOptions::default();
        let mut seen = BTreeSet::new();
        for kind in [AupKind::EyfsKs1, AupKind::Ks2, AupKind::Ks34] {
            for year in options.year_groups(kind) {
                assert!(seen.insert(year), "{year} is in two AUPs");
            }
        }
        assert_eq!(seen.len(), 15);
    }

    #[test]
    fn year_groups_are_read_as_class_lists_write_them() {
        let options: AupOptions =
            serde_yaml::from_str("ks2: {year_groups: [3, \"Year 4\", Y5]}").unwrap();
        let years: Vec<String> = options
            .year_groups(AupKind::Ks2)
            .into_iter()
            .map(|y| y.to_string())
            .collect();
        assert_eq!(years, ["Year 3", "Year 4", "Year 5"]);
        assert_eq!(options.signers(AupKind::Ks2), Signers::PupilAndParent);
        assert_eq!(options.signers(AupKind::EyfsKs1), Signers::Parent);
    }
}
