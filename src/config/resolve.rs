//! From a parsed config to what the template needs: defaults filled in, phrases
//! joined, placeholders expanded, every cross-reference checked. The result,
//! [`PolicyInput`], is exactly the data the policy text depends on, so hashing it
//! (with the template) identifies a policy version.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::aups::{AupKind, Consent};
use super::schema::{
    Approval, Curriculum, KeyPeoplePlacement, Learners, SchoolConfig, UsbKeys, Wording,
};
use super::year::{long_date, parse_iso_date};
use super::{ConfigError, LoadedSchool, closest, read_small_file};

/// The placeholders school-written clause text may use, with what each stands for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("school", "the school's full name"),
    ("short_name", "the name used in clauses"),
    ("possessive", "the possessive used in clauses (Pakeman’s)"),
    (
        "headteacher",
        "the headteacher's name, or their title if unnamed",
    ),
    (
        "headteacher_title",
        "Headteacher, Head Teacher, Principal, ...",
    ),
    ("dsl", "the DSL's name, or \"the DSL\""),
    ("policy", "the online-safety policy's name (Online Safety)"),
    ("log", "the live-lesson log (the online safety log)"),
    ("pupils", "how the policy calls the children"),
    ("students", "the word used in the remote-learning bullets"),
    ("curriculum", "RSE or RSHE"),
];

/// The virtual path (without extension) under which the approval signature image
/// is handed to Typst.
pub const SIGNATURE_IMAGE_PATH: &str = "/approval-signature";

/// The resolved policy, as handed to the template (`/policy.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyInput {
    pub school: SchoolText,
    /// "staff, governors and volunteers".
    pub audience: String,
    pub headteacher: HeadteacherText,
    pub dsl: DslText,
    pub contacts: ContactsText,
    pub policy: PolicyText,
    pub curriculum: &'static str,
    pub log: LogText,
    pub learners: LearnersText,
    pub usb_always_encrypted: bool,
    pub usb_forbidden: bool,
    /// "pupils, parents and fellow staff, governors and volunteers".
    pub commitments: String,
    pub ethos: Option<String>,
    /// `None` when the ethos is printed without a heading.
    pub ethos_heading: Option<String>,
    /// "staff (including support staff), governors and volunteers".
    pub obligations: String,
    /// Each row's label and its lines (none for a blank cell).
    pub key_people: Vec<(String, Vec<String>)>,
    /// The table's heading; `None` for none.
    pub key_people_heading: Option<String>,
    pub key_people_placement: KeyPeoplePlacement,
    pub text_blocks: Vec<BlockText>,
    pub wording: Wording,
    pub edits: EditsText,
    pub approval: ApprovalText,
    /// Which AUP this is, and what only some AUPs print.
    pub aup: AupText,
}

/// What the template needs to know of its own AUP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AupText {
    /// `staff`, `ks2`, ...
    pub name: &'static str,
    /// Who signs a pupils' AUP: `parent`, `pupil-and-parent` or `pupil`.
    pub signers: &'static str,
    /// The parents' consents, in the school's order.
    pub consents: Vec<Consent>,
}

impl AupText {
    fn staff() -> Self {
        Self {
            name: AupKind::Staff.name(),
            signers: "signer",
            consents: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchoolText {
    pub name: String,
    pub short_name: String,
    pub possessive: String,
    pub subtitle: Option<String>,
    /// An ISO 639 code; `None` for the policy's own language.
    pub subtitle_language: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadteacherText {
    pub name: Option<String>,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DslText {
    pub name: Option<String>,
    pub is_headteacher: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactsText {
    pub aup_questions: String,
    pub password_breach: String,
    pub concerns_about_adults: String,
    pub pupil_contact: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyText {
    pub name: String,
    pub documents: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogText {
    pub name: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnersText {
    /// Where the policy names the children in general.
    pub general: &'static str,
    /// In the remote-learning bullets.
    pub remote: &'static str,
    /// One child, where the policy speaks of one ("directly with a pupil").
    pub one: &'static str,
    /// The children where even a "pupils/students" school says "pupils"
    /// ("screenshots of myself or pupils", "attempts by pupils").
    pub many: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditsText {
    pub remove: Vec<String>,
    pub replace: BTreeMap<String, String>,
    pub add: Vec<ExtraText>,
}

/// A school's own block, its text cut into paragraphs of lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockText {
    pub id: String,
    pub after: String,
    pub heading: Option<String>,
    pub paragraphs: Vec<Vec<String>>,
    pub bullets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtraText {
    pub id: String,
    pub after: String,
    pub text: String,
    pub bullets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ApprovalText {
    None,
    Headteacher {
        name: String,
        role: String,
        date: String,
        /// Virtual path of the signature image, when there is one.
        signature_image: Option<String>,
        limited_to: Option<String>,
    },
    Office {
        completed_by: String,
    },
}

/// Clause ids the template defines, split by kind so that `add.after` can tell a
/// numbered clause from a bullet.
#[derive(Debug, Clone, Default)]
pub struct ClauseCatalogue {
    pub clauses: Vec<String>,
    pub bullets: Vec<String>,
    /// Headings and paragraphs outside the numbered list.
    pub blocks: Vec<String>,
    /// The paragraphs a school's text block may follow (none listed: the staff
    /// AUP's own list).
    pub anchors: Vec<String>,
}

impl ClauseCatalogue {
    fn all(&self) -> impl Iterator<Item = &str> {
        self.blocks
            .iter()
            .chain(&self.clauses)
            .chain(&self.bullets)
            .map(String::as_str)
    }

    fn contains(&self, id: &str) -> bool {
        self.all().any(|known| known == id)
    }
}

/// A resolved school: the template input plus the bytes of files it refers to.
#[derive(Debug, Clone)]
pub struct ResolvedSchool {
    pub input: PolicyInput,
    /// The approval signature image, when the config names one: its virtual path
    /// and bytes.
    pub signature_image: Option<(String, Vec<u8>)>,
}

impl LoadedSchool {
    /// Resolves the school for one of its AUPs, against that AUP's template's
    /// catalogue: the staff AUP as [`LoadedSchool::resolve`] does; any other
    /// with its own clause edits and text blocks (errors other than those are
    /// the staff resolution's to report).
    pub fn resolve_aup(
        &self,
        aup: AupKind,
        catalogue: &ClauseCatalogue,
    ) -> Result<ResolvedSchool, Vec<ConfigError>> {
        if aup == AupKind::Staff {
            return self.resolve(catalogue);
        }
        let mut resolved = self.for_aup(aup).resolve(catalogue)?;
        let options = &self.config.aup_options;
        resolved.input.aup = AupText {
            name: aup.name(),
            signers: options.signers(aup).name(),
            consents: match aup {
                AupKind::Parents => options.consents(),
                _ => Vec::new(),
            },
        };
        Ok(resolved)
    }

    /// The `aups` list and each AUP's options: every name once, options only
    /// for AUPs the school uses, year groups that are year groups and in one
    /// pupils' AUP each, consents with ids and questions.
    fn check_aups(&self, errors: &mut Vec<ConfigError>) {
        let c = &self.config;
        if c.aups.is_empty() {
            errors.push(
                self.error_at(
                    "aups",
                    "the list of AUPs is empty: nobody would sign anything",
                )
                .with_hint("list at least one, e.g. `aups: [staff]`"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, aup) in c.aups.iter().enumerate() {
            if !seen.insert(*aup) {
                errors
                    .push(self.error_at(&format!("aups[{i}]"), format!("`{aup}` is listed twice")));
            }
        }
        for aup in c.aup_options.given() {
            if !c.aups.contains(&aup) {
                errors.push(
                    self.error_at_key(
                        &format!("aup_options.{aup}"),
                        format!("options for `{aup}`, which is not in `aups`"),
                    )
                    .with_hint(format!("add `{aup}` to `aups`, or remove its options")),
                );
            }
        }
        let mut year_owner: BTreeMap<super::pupils::YearGroup, AupKind> = BTreeMap::new();
        for aup in [AupKind::EyfsKs1, AupKind::Ks2, AupKind::Ks34] {
            if let Some(list) = c
                .aup_options
                .pupils(aup)
                .and_then(|o| o.year_groups.as_ref())
            {
                for (i, text) in list.iter().enumerate() {
                    if text.year_group().is_none() {
                        errors.push(
                            self.error_at(
                                &format!("aup_options.{aup}.year_groups[{i}]"),
                                "not a year group",
                            )
                            .with_hint("write them as the class lists do: Nursery, Reception, 1 to 13, or \"Year 3\""),
                        );
                    }
                }
            }
            if !c.aups.contains(&aup) {
                continue;
            }
            for year in c.aup_options.year_groups(aup) {
                if let Some(other) = year_owner.insert(year, aup) {
                    // Blame the list the school wrote, not a default.
                    let sets = |aup: AupKind| {
                        c.aup_options
                            .pupils(aup)
                            .is_some_and(|o| o.year_groups.is_some())
                    };
                    let at = if sets(aup) || !sets(other) {
                        aup
                    } else {
                        other
                    };
                    errors.push(
                        self.error_at(
                            &format!("aup_options.{at}.year_groups"),
                            format!("{year} is given both the `{other}` and the `{aup}` AUP"),
                        )
                        .with_hint("each year group signs one pupils' AUP: set `year_groups` so they do not overlap"),
                    );
                }
            }
        }
        if let Some(consents) = c
            .aup_options
            .parents
            .as_ref()
            .and_then(|p| p.consents.as_ref())
        {
            let mut ids = BTreeSet::new();
            for (i, consent) in consents.iter().enumerate() {
                if !is_id(&consent.id) {
                    errors.push(self.error_at(
                        &format!("aup_options.parents.consents[{i}].id"),
                        format!(
                            "`{}` is not an id: use lowercase letters, digits and dashes",
                            consent.id
                        ),
                    ));
                } else if !ids.insert(consent.id.as_str()) {
                    errors.push(self.error_at(
                        &format!("aup_options.parents.consents[{i}].id"),
                        format!("the consent `{}` is listed twice", consent.id),
                    ));
                }
                if consent.question.trim().is_empty() {
                    errors.push(self.error_at(
                        &format!("aup_options.parents.consents[{i}].question"),
                        "the question is empty: parents would answer nothing",
                    ));
                }
            }
        }
    }

    /// Checks everything serde cannot (cross-references, placeholders, dates, files)
    /// and builds the template input. All problems are returned, not just the first.
    pub fn resolve(&self, catalogue: &ClauseCatalogue) -> Result<ResolvedSchool, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let c = &self.config;
        self.check_text(&mut errors, c);

        let short_name = c.short_name.clone().unwrap_or_else(|| c.name.clone());
        let possessive = c
            .possessive
            .clone()
            .unwrap_or_else(|| format!("{short_name}’s"));
        let head_title = c.headteacher.title.clone();
        let the_head = format!("the {head_title}");
        let learners = match c.learners {
            Learners::Pupils => LearnersText {
                general: "pupils",
                remote: "pupils",
                one: "pupil",
                many: "pupils",
            },
            Learners::PupilsStudents => LearnersText {
                general: "pupils/students",
                remote: "students",
                one: "pupil",
                many: "pupils",
            },
            Learners::Students => LearnersText {
                general: "students",
                remote: "students",
                one: "student",
                many: "students",
            },
        };
        let commitments = join_natural(&c.commitments_of.clone().unwrap_or_else(|| {
            vec![
                learners.general.to_owned(),
                "parents".to_owned(),
                "fellow staff, governors and volunteers".to_owned(),
            ]
        }));
        // A school whose head is "the headteacher" says so in lower case, as the
        // seeds do; any other title (Principal, Head of School) is used as it is.
        let generic_head = head_title
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .eq_ignore_ascii_case("headteacher");
        let head_for_contact = match generic_head {
            true => "the headteacher".to_owned(),
            false => the_head.clone(),
        };
        let curriculum = match c.curriculum {
            Curriculum::Rse => "RSE",
            Curriculum::Rshe => "RSHE",
        };
        let mut input = PolicyInput {
            school: SchoolText {
                name: c.name.clone(),
                short_name,
                possessive,
                subtitle: c.subtitle.clone(),
                subtitle_language: c.subtitle_language.clone(),
                website: c.website.clone(),
            },
            audience: join_natural(&c.audience),
            headteacher: HeadteacherText {
                name: c.headteacher.name.clone(),
                title: head_title.clone(),
            },
            dsl: DslText {
                name: c.dsl.name.clone(),
                is_headteacher: c.dsl.is_headteacher,
            },
            contacts: ContactsText {
                aup_questions: c.contacts.aup_questions.clone().unwrap_or(the_head.clone()),
                password_breach: c.contacts.password_breach.clone().unwrap_or(the_head),
                concerns_about_adults: c
                    .contacts
                    .concerns_about_adults
                    .clone()
                    .unwrap_or(head_title),
                pupil_contact: c.contacts.pupil_contact.clone().unwrap_or(head_for_contact),
            },
            policy: PolicyText {
                name: c.online_safety_policy.name.clone(),
                documents: c
                    .online_safety_policy
                    .documents
                    .clone()
                    .unwrap_or_else(|| format!("{} Policy", c.online_safety_policy.name)),
                url: c.online_safety_policy.url.clone(),
            },
            curriculum,
            log: LogText {
                name: c.live_lesson_log.name.clone(),
                action: c.live_lesson_log.action.clone(),
            },
            learners,
            usb_always_encrypted: c.usb_keys == UsbKeys::AlwaysEncrypted,
            usb_forbidden: c.usb_keys == UsbKeys::Forbidden,
            commitments,
            ethos: c.ethos.clone(),
            ethos_heading: match &c.ethos_heading {
                None => Some("Ethos Statement".to_owned()),
                Some(h) if h.trim().is_empty() => None,
                Some(h) => Some(h.clone()),
            },
            obligations: join_natural(&c.obligations_of.clone().unwrap_or_else(|| {
                c.audience
                    .iter()
                    .map(|who| match who.trim().eq_ignore_ascii_case("staff") {
                        true => "staff (including support staff)".to_owned(),
                        false => who.clone(),
                    })
                    .collect()
            })),
            key_people: key_people_rows(c),
            key_people_heading: match c.key_people.as_ref().and_then(|k| k.heading.as_ref()) {
                None => Some("Key people".to_owned()),
                Some(h) if h.trim().is_empty() => None,
                Some(h) => Some(h.clone()),
            },
            key_people_placement: c
                .key_people
                .as_ref()
                .map(|k| k.placement)
                .unwrap_or_default(),
            text_blocks: Vec::new(),
            wording: c.wording.clone(),
            edits: EditsText {
                remove: c.clauses.remove.clone(),
                replace: BTreeMap::new(),
                add: Vec::new(),
            },
            approval: ApprovalText::None,
            aup: AupText::staff(),
        };
        if !self.is_for_another_aup() {
            self.check_aups(&mut errors);
        }

        self.check_edits(&mut errors, catalogue);
        let values = placeholder_values(&input);
        for (id, text) in &c.clauses.replace {
            let key = format!("clauses.replace.{id}");
            match expand_placeholders(text, &values) {
                Ok(text) => {
                    input.edits.replace.insert(id.clone(), text);
                }
                Err(message) => errors.push(self.error_at(&key, message).with_placeholder_hint()),
            }
        }
        // The school's text with its placeholders filled in; a bad one is an
        // error at its key, and the text stays empty.
        let expand = |errors: &mut Vec<ConfigError>, key: String, text: &str| {
            expand_placeholders(text, &values).unwrap_or_else(|message| {
                errors.push(self.error_at(&key, message).with_placeholder_hint());
                String::new()
            })
        };
        for (i, extra) in c.clauses.add.iter().enumerate() {
            let text = expand(&mut errors, format!("clauses.add[{i}].text"), &extra.text);
            let bullets = extra
                .bullets
                .iter()
                .enumerate()
                .map(|(j, b)| expand(&mut errors, format!("clauses.add[{i}].bullets[{j}]"), b))
                .collect();
            input.edits.add.push(ExtraText {
                id: extra.id.clone(),
                after: extra.after.clone(),
                text,
                bullets,
            });
        }
        self.check_text_blocks(&mut errors, catalogue);
        for (i, block) in c.text_blocks.iter().enumerate() {
            let heading = block
                .heading
                .as_ref()
                .map(|h| expand(&mut errors, format!("text_blocks[{i}].heading"), h));
            let text = expand(&mut errors, format!("text_blocks[{i}].text"), &block.text);
            let bullets = block
                .bullets
                .iter()
                .enumerate()
                .map(|(j, b)| expand(&mut errors, format!("text_blocks[{i}].bullets[{j}]"), b))
                .collect();
            input.text_blocks.push(BlockText {
                id: block.id.clone(),
                after: block.after.clone(),
                heading,
                paragraphs: paragraphs(&text),
                bullets,
            });
        }

        let mut signature_image = None;
        input.approval = match &c.approval {
            Approval::None => ApprovalText::None,
            Approval::Office { completed_by } => ApprovalText::Office {
                completed_by: completed_by.clone(),
            },
            Approval::Headteacher {
                name,
                role,
                date,
                signature_image: image,
                limited_to,
            } => {
                let date = match parse_iso_date(date) {
                    Ok(date) => long_date(date),
                    Err(message) => {
                        errors.push(self.error_at("approval.date", message));
                        String::new()
                    }
                };
                let name = name.clone().or_else(|| c.headteacher.name.clone());
                if name.is_none() {
                    errors.push(
                        self.error_at("approval", "a pre-approved block needs the approver's name")
                            .with_hint("add `name:` here, or `headteacher.name`"),
                    );
                }
                if let Some(image) = image {
                    match self.read_signature_image(image) {
                        Ok(found) => signature_image = Some(found),
                        Err(message) => {
                            errors.push(self.error_at("approval.signature_image", message))
                        }
                    }
                }
                ApprovalText::Headteacher {
                    name: name.unwrap_or_default(),
                    role: role.clone().unwrap_or_else(|| c.headteacher.title.clone()),
                    date,
                    signature_image: signature_image.as_ref().map(|(path, _)| path.clone()),
                    limited_to: limited_to.clone(),
                }
            }
        };

        if let Err(root_errors) = self.trust_roots() {
            errors.extend(root_errors);
        }
        for (key, problem) in crate::mail::letter::check_words(&c.mail) {
            errors.push(self.error_at(key, problem));
        }
        match errors.is_empty() {
            true => Ok(ResolvedSchool {
                input,
                signature_image,
            }),
            false => Err(errors),
        }
    }

    /// Required text must not be blank, and the form prefix must be typeable.
    fn check_text(&self, errors: &mut Vec<ConfigError>, c: &SchoolConfig) {
        let mut required = vec![
            ("name", c.name.as_str()),
            ("headteacher.title", c.headteacher.title.as_str()),
            (
                "online_safety_policy.name",
                c.online_safety_policy.name.as_str(),
            ),
            ("live_lesson_log.name", c.live_lesson_log.name.as_str()),
            ("live_lesson_log.action", c.live_lesson_log.action.as_str()),
        ];
        for (i, a) in c.audience.iter().enumerate() {
            if a.trim().is_empty() {
                errors
                    .push(self.error_at(&format!("audience[{i}]"), "an audience cannot be blank"));
            }
        }
        // Optional names, when given, must say something.
        let optional = [
            ("short_name", &c.short_name),
            ("possessive", &c.possessive),
            ("website", &c.website),
            ("headteacher.name", &c.headteacher.name),
            ("dsl.name", &c.dsl.name),
            ("online_safety_policy.url", &c.online_safety_policy.url),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                required.push((key, value));
            }
        }
        for (key, value) in required {
            if value.trim().is_empty() {
                errors.push(self.error_at(key, "this cannot be blank"));
            }
        }
        if c.audience.is_empty() {
            errors.push(
                self.error_at("audience", "list at least one audience")
                    .with_hint("e.g. [staff, governors, volunteers]"),
            );
        }
        if c.commitments_of.as_ref().is_some_and(Vec::is_empty) {
            errors.push(self.error_at(
                "commitments_of",
                "list whose Acceptable Use Policies staff support, e.g. [pupils, parents]",
            ));
        }
        if let Some(language) = &c.subtitle_language {
            let ok = (2..=3).contains(&language.len())
                && language.chars().all(|ch| ch.is_ascii_lowercase());
            if !ok {
                errors.push(
                    self.error_at(
                        "subtitle_language",
                        format!("`{language}` is not a language code"),
                    )
                    .with_hint("use the two-letter ISO 639 code in lower case: cy for Welsh, ga for Irish, gd for Scottish Gaelic"),
                );
            }
        }
        if let Some(prefix) = &c.form_prefix {
            let ok =
                (2..=4).contains(&prefix.len()) && prefix.chars().all(|ch| ch.is_ascii_uppercase());
            if !ok {
                errors.push(
                    self.error_at("form_prefix", format!("`{prefix}` is not a form prefix"))
                        .with_hint("use 2 to 4 capital letters, e.g. PAK"),
                );
            }
        }
    }

    fn check_edits(&self, errors: &mut Vec<ConfigError>, catalogue: &ClauseCatalogue) {
        let edits = &self.config.clauses;
        let unknown = |key: String, id: &str| {
            let message = format!("there is no clause `{id}` in the template");
            let mut error = match key.starts_with("clauses.replace.") {
                true => self.error_at_key(&key, message),
                false => self.error_at(&key, message),
            };
            error.hint = Some(match closest(id, catalogue.all()) {
                Some(best) => {
                    format!("did you mean `{best}`? `aup check --clauses` lists every id")
                }
                None => "`aup check --clauses` lists every clause id".into(),
            });
            error
        };
        for (i, id) in edits.remove.iter().enumerate() {
            if !catalogue.contains(id) {
                errors.push(unknown(format!("clauses.remove[{i}]"), id));
            }
        }
        for id in edits.replace.keys() {
            if !catalogue.contains(id) {
                errors.push(unknown(format!("clauses.replace.{id}"), id));
            }
            if edits.remove.contains(id) {
                errors.push(self.error_at_key(
                    &format!("clauses.replace.{id}"),
                    format!("`{id}` is both removed and replaced; keep one"),
                ));
            }
        }
        // Edits of what does not print are errors, not silent no-ops.
        let c = &self.config;
        let not_printed = |id: &str| match id {
            "key-people" if c.key_people.is_none() => Some("there is no `key_people` table"),
            "ethos" if c.ethos.is_none() => Some("no `ethos` is set"),
            "what-is-an-aup" if !c.wording.what_is_an_aup => {
                Some("`wording.what_is_an_aup` is off")
            }
            _ => None,
        };
        for (i, id) in edits.remove.iter().enumerate() {
            if let Some(why) = not_printed(id) {
                errors.push(self.error_at(
                    &format!("clauses.remove[{i}]"),
                    format!("{why}, so there is no `{id}` to remove"),
                ));
            }
        }
        for id in edits.replace.keys() {
            let key = format!("clauses.replace.{id}");
            if id == "key-people" {
                errors.push(
                    self.error_at_key(
                        &key,
                        "the key-people table is not text that can be replaced",
                    )
                    .with_hint(
                        "write the table's rows, in your words and order, under `key_people.rows`",
                    ),
                );
            } else if let Some(why) = not_printed(id) {
                errors.push(
                    self.error_at_key(&key, format!("{why}, so there is no `{id}` to replace"))
                        .with_hint(match id.as_str() {
                            "ethos" => "write the text under `ethos` (and its heading under `ethos_heading`)",
                            _ => "turn it on first, or remove this replacement",
                        }),
                );
            }
        }
        // A wording switch set in the file changes one clause: if that clause is
        // removed or replaced, the switch does nothing.
        const SWITCHES: &[(&str, &str)] = &[
            ("networks_in_scope", "what-is-an-aup"),
            ("point_for_staff_and_governors", "read-policy"),
            ("contact_only_approved_ways", "contact-pupils"),
            ("if_unsure_ask_dsl", "social-media-details"),
            ("extremism_judged_by_school", "extremism"),
            ("online_reputation_guidance", "online-reputation"),
            ("sections_read", "reporting-incidents"),
        ];
        for (switch, clause) in SWITCHES {
            let key = format!("wording.{switch}");
            let fate = match (
                edits.remove.iter().any(|r| r == clause),
                edits.replace.contains_key(*clause),
            ) {
                (true, _) => "removed",
                (_, true) => "replaced",
                _ => continue,
            };
            if self.sets(&key) {
                errors.push(
                    self.error_at_key(
                        &key,
                        format!("`{key}` changes the clause `{clause}`, which is {fate}, so it does nothing"),
                    )
                    .with_hint(format!("delete `{switch}`, or keep the clause `{clause}`")),
                );
            }
        }
        let mut new_ids = BTreeSet::new();
        for (i, extra) in edits.add.iter().enumerate() {
            if !is_id(&extra.id) {
                errors.push(self.error_at(
                    &format!("clauses.add[{i}].id"),
                    format!(
                        "`{}` is not a clause id: use lowercase letters, digits and dashes",
                        extra.id
                    ),
                ));
            }
            if catalogue.contains(&extra.id) || !new_ids.insert(extra.id.as_str()) {
                errors.push(self.error_at(
                    &format!("clauses.add[{i}].id"),
                    format!("the id `{}` is already taken", extra.id),
                ));
            }
            let after_known = catalogue.clauses.contains(&extra.after)
                || catalogue.bullets.contains(&extra.after)
                || edits.add[..i]
                    .iter()
                    .any(|earlier| earlier.id == extra.after);
            if !after_known {
                let mut error = unknown(format!("clauses.add[{i}].after"), &extra.after);
                if catalogue.blocks.contains(&extra.after) {
                    error.message = format!(
                        "`{}` is a heading or paragraph; new clauses go after a numbered clause or a bullet",
                        extra.after
                    );
                    error.hint = Some(format!(
                        "for text outside the numbered clauses, use `text_blocks` with `after: {}`",
                        extra.after
                    ));
                }
                errors.push(error);
            }
            if !extra.bullets.is_empty() && catalogue.bullets.contains(&extra.after) {
                errors.push(self.error_at(
                    &format!("clauses.add[{i}].bullets"),
                    "a clause placed among bullets cannot have bullets of its own",
                ));
            }
        }
    }

    /// The school's own text blocks and key-people rows: each must print, where
    /// it says, or be an error.
    fn check_text_blocks(&self, errors: &mut Vec<ConfigError>, catalogue: &ClauseCatalogue) {
        let c = &self.config;
        if let Some(k) = &c.key_people {
            let named = k.designated_safeguarding_lead.is_some()
                || !k.deputy_dsls.is_empty()
                || k.safeguarding_link_governor.is_some()
                || k.network_manager.is_some()
                || k.reviewed.is_some()
                || k.next_review.is_some()
                || !k.other.is_empty();
            if named && !k.rows.is_empty() {
                errors.push(
                    self.error_at(
                        "key_people.rows",
                        "`rows` is the whole table: the named rows beside it would not print",
                    )
                    .with_hint(
                        "move each named row into `rows`, with its label, in the order you want",
                    ),
                );
            }
            for (i, row) in k.rows.iter().enumerate() {
                if row.value.as_ref().is_some_and(|v| !v.trim().is_empty()) && !row.lines.is_empty()
                {
                    errors.push(
                        self.error_at(
                            &format!("key_people.rows[{i}].lines"),
                            "a row has `value` or `lines`, not both",
                        )
                        .with_hint("put every line in `lines`"),
                    );
                }
            }
        }
        // Paragraphs inside the signature block (kept on one page) take no blocks.
        let staff_paragraphs = [
            "ethos",
            "key-people",
            "what-is-an-aup",
            "review-annually",
            "why-an-aup",
            "find-out-more",
            "questions",
        ];
        let paragraphs: Vec<&str> = match catalogue.anchors.is_empty() {
            true => staff_paragraphs.to_vec(),
            false => catalogue.anchors.iter().map(String::as_str).collect(),
        };
        let removed = |id: &str| c.clauses.remove.iter().any(|r| r == id);
        // The school's own clauses at the top level of the list (not among bullets).
        let mut top_level: Vec<&str> = Vec::new();
        for extra in &c.clauses.add {
            if catalogue.clauses.contains(&extra.after) || top_level.contains(&extra.after.as_str())
            {
                top_level.push(&extra.id);
            }
        }
        let mut ids = BTreeSet::new();
        for (i, block) in c.text_blocks.iter().enumerate() {
            if !is_id(&block.id) {
                errors.push(self.error_at(
                    &format!("text_blocks[{i}].id"),
                    format!(
                        "`{}` is not an id: use lowercase letters, digits and dashes",
                        block.id
                    ),
                ));
            }
            if catalogue.contains(&block.id)
                || c.clauses.add.iter().any(|a| a.id == block.id)
                || !ids.insert(block.id.as_str())
            {
                errors.push(self.error_at(
                    &format!("text_blocks[{i}].id"),
                    format!("the id `{}` is already taken", block.id),
                ));
            }
            if block.text.trim().is_empty() && block.heading.is_none() && block.bullets.is_empty() {
                errors.push(self.error_at(
                    &format!("text_blocks[{i}]"),
                    format!(
                        "the block `{}` has no heading, text or bullets: it would print nothing",
                        block.id
                    ),
                ));
            }
            let after = block.after.as_str();
            let key = format!("text_blocks[{i}].after");
            let problem = if after == "start" || after == "title" {
                None
            } else if paragraphs.contains(&after)
                || catalogue.clauses.contains(&block.after)
                || top_level.contains(&after)
            {
                let absent = match after {
                    "ethos" => c.ethos.is_none().then_some("no `ethos` is set"),
                    "key-people" => c
                        .key_people
                        .is_none()
                        .then_some("there is no `key_people` table"),
                    "what-is-an-aup" if !c.wording.what_is_an_aup => {
                        Some("`wording.what_is_an_aup` is off")
                    }
                    _ => None,
                };
                match (removed(after), absent) {
                    (true, _) => Some((
                        format!("`{after}` is removed, so the block would not print"),
                        None,
                    )),
                    (false, Some(why)) => Some((
                        format!("{why}, so the block after `{after}` would not print"),
                        None,
                    )),
                    (false, None) => None,
                }
            } else if catalogue.contains(&block.after)
                || c.clauses.add.iter().any(|a| a.id == block.after)
            {
                Some((
                    format!("`{after}` is a bullet or part of the signature block: a block cannot go there"),
                    Some("place it after the clause the bullet belongs to, or after `questions` (the last paragraph before the clauses)".to_owned()),
                ))
            } else {
                let candidates = ["start", "title"]
                    .into_iter()
                    .chain(paragraphs.iter().copied())
                    .chain(catalogue.clauses.iter().map(String::as_str))
                    .chain(top_level.iter().copied());
                Some((
                    format!("there is nothing called `{after}` to put the block after"),
                    Some(match closest(after, candidates) {
                        Some(best) => format!("did you mean `{best}`? `start`, `title`, a paragraph id or a clause id (`aup check --clauses`)"),
                        None => "use `start`, `title`, a paragraph id or a clause id (`aup check --clauses` lists them)".to_owned(),
                    }),
                ))
            };
            if let Some((message, hint)) = problem {
                let error = self.error_at(&key, message);
                errors.push(match hint {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                });
            }
        }
    }

    /// The certificates listed under `records.trust_roots`, read and parsed.
    pub fn trust_roots(&self) -> Result<Vec<x509_cert::Certificate>, Vec<ConfigError>> {
        let mut roots = Vec::new();
        let mut errors = Vec::new();
        for (i, name) in self.config.records.trust_roots.iter().enumerate() {
            let path = self.dir().join(name);
            let found = read_small_file(&path, MAX_TRUST_ROOT_BYTES)
                .map_err(|e| format!("cannot read the trust root {}: {e}", path.display()))
                .and_then(|bytes| {
                    read_certificates(&bytes).map_err(|e| format!("{} is {e}", path.display()))
                });
            match found {
                Ok(certs) if certs.is_empty() => errors.push(self.error_at(
                    &format!("records.trust_roots[{i}]"),
                    format!("{} holds no certificate", path.display()),
                )),
                Ok(certs) => roots.extend(certs),
                Err(message) => {
                    errors.push(self.error_at(&format!("records.trust_roots[{i}]"), message))
                }
            }
        }
        match errors.is_empty() {
            true => Ok(roots),
            false => Err(errors),
        }
    }

    fn read_signature_image(&self, name: &str) -> Result<(String, Vec<u8>), String> {
        let path = self.dir().join(name);
        let bytes = read_small_file(&path, MAX_SIGNATURE_IMAGE_BYTES)
            .map_err(|e| format!("cannot read the signature image {}: {e}", path.display()))?;
        let is_png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
        let is_jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
        match (is_png, is_jpeg) {
            (true, _) => Ok((format!("{SIGNATURE_IMAGE_PATH}.png"), bytes)),
            (_, true) => Ok((format!("{SIGNATURE_IMAGE_PATH}.jpg"), bytes)),
            _ => Err(format!("{} is not a PNG or JPEG image", path.display())),
        }
    }
}

/// Reads trust roots from PEM (one or more certificates) or DER bytes.
fn read_certificates(bytes: &[u8]) -> Result<Vec<x509_cert::Certificate>, String> {
    if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        x509_cert::Certificate::load_pem_chain(bytes)
            .map_err(|e| format!("not a PEM certificate: {e}"))
    } else {
        <x509_cert::Certificate as der::Decode>::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| format!("not a DER certificate: {e}"))
    }
}

impl ConfigError {
    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn with_placeholder_hint(self) -> Self {
        let names: Vec<String> = PLACEHOLDERS
            .iter()
            .map(|(n, _)| format!("{{{n}}}"))
            .collect();
        let hint = match &self.hint {
            Some(h) => format!("{h}; placeholders are {}", names.join(" ")),
            None => format!(
                "placeholders are {}; write {{{{ for a literal brace",
                names.join(" ")
            ),
        };
        self.with_hint(hint)
    }
}

fn placeholder_values(input: &PolicyInput) -> BTreeMap<&'static str, String> {
    let head = input
        .headteacher
        .name
        .clone()
        .unwrap_or_else(|| format!("the {}", input.headteacher.title));
    let values = [
        ("school", input.school.name.clone()),
        ("short_name", input.school.short_name.clone()),
        ("possessive", input.school.possessive.clone()),
        ("headteacher", head),
        ("headteacher_title", input.headteacher.title.clone()),
        (
            "dsl",
            input.dsl.name.clone().unwrap_or_else(|| "the DSL".into()),
        ),
        ("policy", input.policy.name.clone()),
        ("log", input.log.name.clone()),
        ("pupils", input.learners.general.into()),
        ("students", input.learners.remote.into()),
        ("curriculum", input.curriculum.into()),
    ];
    debug_assert_eq!(values.len(), PLACEHOLDERS.len());
    values.into_iter().collect()
}

/// Replaces `{name}` with its value; `{{` and `}}` stand for literal braces.
pub fn expand_placeholders(
    text: &str,
    values: &BTreeMap<&'static str, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err("a `}` without its `{`; write `}}` for a literal brace".into());
        }
        let Some(end) = tail.find('}') else {
            return Err("a `{` without its `}`; write `{{` for a literal brace".into());
        };
        let name = &tail[1..end];
        match values.get(name) {
            Some(value) => out.push_str(value),
            // Every unknown placeholder of the text is reported, not only the first.
            None => {
                let suggestion = closest(name, values.keys().copied())
                    .map(|b| format!(" (did you mean {{{b}}}?)"))
                    .unwrap_or_default();
                unknown.push(format!("{{{name}}}{suggestion}"));
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    match unknown.len() {
        0 => Ok(out),
        1 => Err(format!("unknown placeholder {}", unknown[0])),
        _ => Err(format!("unknown placeholders {}", unknown.join(", "))),
    }
}

/// "a", "a and b", "a, b and c": how the seeds list people.
fn join_natural(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The school's own ids (clauses, text blocks): lowercase letters, digits and dashes.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A block's text as paragraphs (split at blank lines) of lines.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        match line.trim().is_empty() {
            true if !current.is_empty() => out.push(std::mem::take(&mut current)),
            true => {}
            false => current.push(line.trim_start().to_owned()),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn key_people_rows(c: &SchoolConfig) -> Vec<(String, Vec<String>)> {
    let Some(k) = &c.key_people else {
        return Vec::new();
    };
    if !k.rows.is_empty() {
        return k
            .rows
            .iter()
            .map(|row| {
                let lines = match (&row.value, row.lines.is_empty()) {
                    (Some(value), _) if !value.trim().is_empty() => vec![value.clone()],
                    _ => row.lines.clone(),
                };
                (row.label.clone(), lines)
            })
            .collect();
    }
    let mut rows = Vec::new();
    let mut push = |role: &str, name: &Option<String>| {
        if let Some(name) = name {
            rows.push((role.to_owned(), vec![name.clone()]));
        }
    };
    push(
        "Designated Safeguarding Lead (DSL)",
        &k.designated_safeguarding_lead,
    );
    if !k.deputy_dsls.is_empty() {
        let role = match k.deputy_dsls.len() {
            1 => "Deputy DSL",
            _ => "Deputy DSLs",
        };
        push(role, &Some(k.deputy_dsls.join(", ")));
    }
    push("Safeguarding link governor", &k.safeguarding_link_governor);
    push("Network manager", &k.network_manager);
    for other in &k.other {
        push(&other.role, &Some(other.name.clone()));
    }
    push("Policy reviewed", &k.reviewed);
    push("Next review", &k.next_review);
    rows
}

/// A trust-root file holds a few certificates; a CA bundle is under 300 KB.
pub const MAX_TRUST_ROOT_BYTES: u64 = 1024 * 1024;
/// A signature image is a small scan of a signature.
pub const MAX_SIGNATURE_IMAGE_BYTES: u64 = 5 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<&'static str, String> {
        [
            ("school", "Pakeman".to_owned()),
            ("log", "the issue log".to_owned()),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn placeholders_expand_and_escape() {
        let v = values();
        assert_eq!(
            expand_placeholders("At {school}, use {log} {{not}}", &v).unwrap(),
            "At Pakeman, use the issue log {not}"
        );
        let e = expand_placeholders("{schol}", &v).unwrap_err();
        assert!(e.contains("did you mean {school}"), "{e}");
        let e = expand_placeholders("{schol} and {logg} and {school}", &v).unwrap_err();
        assert_eq!(
            e,
            "unknown placeholders {schol} (did you mean {school}?), {logg} (did you mean {log}?)"
        );
        assert!(expand_placeholders("open {school", &v).is_err());
        assert!(expand_placeholders("close }", &v).is_err());
    }

    #[test]
    fn natural_joins() {
        let s = |v: &[&str]| join_natural(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["staff"]), "staff");
        assert_eq!(s(&["staff", "governors"]), "staff and governors");
        assert_eq!(s(&["a", "b", "c"]), "a, b and c");
    }
}
