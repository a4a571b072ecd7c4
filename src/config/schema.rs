//! The school YAML as Rust types. These types are the single source of truth for
//! three things: what `aup check` accepts, the JSON Schema `aup schema` prints for
//! editors, and the data handed to the Typst template. Doc comments here become the
//! descriptions an editor shows while the headteacher types, so they are written for
//! a headteacher, not for a programmer.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One school's Acceptable Use Policy settings (`schools/<slug>.yaml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolConfig {
    /// The school's full name, as printed in the title block,
    /// e.g. "St Margaret’s CE VA Primary School".
    pub name: String,
    /// The name used inside clauses ("the life of Pakeman"). Defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// The possessive used inside clauses ("Pakeman’s full E.Safety policy").
    /// Defaults to `short_name` followed by ’s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possessive: Option<String>,
    /// 2 to 4 capital letters that start every form id of this school (e.g. PAK).
    /// Defaults to the first three letters of the file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_prefix: Option<String>,
    /// A line printed under the title, e.g. the title in the school's second
    /// language ("Polisi Defnydd Derbyniol").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// The language of `subtitle` as an ISO 639 code, e.g. `cy` for Welsh, so a
    /// screen reader speaks it in that language. Defaults to the policy's, English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle_language: Option<String>,
    /// The school's website, printed under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// The headteacher (or principal).
    pub headteacher: Headteacher,
    /// The Designated Safeguarding Lead.
    #[serde(default)]
    pub dsl: Dsl,
    /// Who staff speak to, report to and notify.
    #[serde(default)]
    pub contacts: Contacts,
    /// The school's full online-safety policy that this AUP points to.
    #[serde(default)]
    pub online_safety_policy: OnlineSafetyPolicy,
    /// The curriculum online safety is taught in: RSE or RSHE.
    #[serde(default)]
    pub curriculum: Curriculum,
    /// The log staff fill in when something goes wrong in a live lesson.
    #[serde(default)]
    pub live_lesson_log: LiveLessonLog,
    /// How the school calls the children it teaches.
    #[serde(default)]
    pub learners: Learners,
    /// What the policy says about USB keys.
    #[serde(default)]
    pub usb_keys: UsbKeys,
    /// Who this AUP is for, as listed in the title and in "All ... should read".
    #[serde(default = "default_audience")]
    pub audience: Vec<String>,
    /// Whose Acceptable Use Policies staff promise to support, e.g.
    /// ["pupils", "parents", "fellow staff, governors and volunteers"]. Defaults to
    /// that list with the children named as `learners` names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitments_of: Option<Vec<String>>,
    /// An ethos statement printed before the policy, under the heading "Ethos Statement".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethos: Option<String>,
    /// The heading over `ethos`, e.g. "Our Mission". Defaults to "Ethos Statement";
    /// "" prints the ethos with no heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethos_heading: Option<String>,
    /// Who "have particular legal / professional obligations" in "Why do we need an
    /// AUP?". Defaults to `audience`, with staff written "staff (including support staff)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations_of: Option<Vec<String>>,
    /// The school's own text outside the numbered clauses (a prayer, a mission or
    /// equality statement), each placed after the title, a paragraph or a clause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_blocks: Vec<TextBlock>,
    /// A "key people" table printed at the top of the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_people: Option<KeyPeople>,
    /// Optional sentences and wordings that differ between schools.
    #[serde(default)]
    pub wording: Wording,
    /// Remove, replace or add clauses by their id (see `aup check --clauses`).
    #[serde(default)]
    pub clauses: ClauseEdits,
    /// The approval block under the signer's block.
    #[serde(default)]
    pub approval: Approval,
    /// The AUPs this school asks people to sign: `staff`, `eyfs-ks1`, `ks2`,
    /// `ks3-4`, `parents`, `visitors`. Defaults to `[staff]`. The pupils' and
    /// parents' forms are made from `<slug>.pupils.csv`.
    #[serde(default = "super::aups::default_aups")]
    pub aups: Vec<super::aups::AupKind>,
    /// Options of each AUP besides the staff one: year groups and who signs
    /// for the pupils' AUPs, the parents' consents, each AUP's clause edits.
    #[serde(default, skip_serializing_if = "is_default_options")]
    pub aup_options: super::aups::AupOptions,
    /// How signed forms are kept and checked. Not part of the policy's wording:
    /// changing it does not make anyone sign again.
    #[serde(default, skip_serializing_if = "Records::is_default")]
    pub records: Records,
    /// What aup mails people (with `aup send`). Not part of the policy's
    /// wording.
    #[serde(default, skip_serializing_if = "SchoolMail::is_default")]
    pub mail: SchoolMail,
}

/// The school's own words for the mail aup sends. In both, `{name}` is the
/// person's name, `{school}` the school's, `{year}` the academic year,
/// `{link}` their personal signing link and `{expires}` the day it stops
/// working.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolMail {
    /// The invitation's subject. Default: "Please sign {school}'s Acceptable
    /// Use Policy".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_subject: Option<String>,
    /// The invitation's text; it must contain `{link}`. Default: a short
    /// plain-English request with the link and when it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_text: Option<String>,
    /// Attach each person's own form as a PDF, for those who prefer paper.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attach_form: bool,
    /// A reminder's subject. Default: "Reminder: please sign {school}'s
    /// Acceptable Use Policy".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_subject: Option<String>,
    /// A reminder's text; it must contain `{link}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_text: Option<String>,
    /// Answer a return that arrives by e-mail with what became of it
    /// (complete, or what is missing). Default true.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub receipts: bool,
    /// When people who have not signed are reminded (`aup remind`, and
    /// `aup serve` on its own).
    #[serde(default, skip_serializing_if = "Reminders::is_default")]
    pub reminders: Reminders,
}

impl SchoolMail {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for SchoolMail {
    fn default() -> Self {
        Self {
            invitation_subject: None,
            invitation_text: None,
            attach_form: false,
            reminder_subject: None,
            reminder_text: None,
            receipts: true,
            reminders: Reminders::default(),
        }
    }
}

fn is_yes(value: &bool) -> bool {
    *value
}

/// The reminder schedule, counted from the invitation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Reminders {
    /// Days after the invitation for the first reminder. Default 5.
    pub first_after_days: u16,
    /// Days between reminders after that. Default 7.
    pub every_days: u16,
    /// Reminders at most; 0 sends none. Default 3.
    pub at_most: u16,
}

impl Default for Reminders {
    fn default() -> Self {
        Self {
            first_after_days: 5,
            every_days: 7,
            at_most: 3,
        }
    }
}

impl Reminders {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Record keeping for signed forms.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Records {
    /// How many years after the end of an academic year its signed forms are
    /// kept; `aup prune` removes older ones. Default 6.
    #[serde(default = "default_retention_years")]
    pub retention_years: u32,
    /// Certificates of the authorities the school uses to issue staff signing
    /// certificates (PEM or DER files, next to this YAML). A certificate
    /// signature that chains to one is reported trusted; others are shown as
    /// untrusted but still checked for integrity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trust_roots: Vec<String>,
}

impl Default for Records {
    fn default() -> Self {
        Self {
            retention_years: default_retention_years(),
            trust_roots: Vec::new(),
        }
    }
}

impl Records {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

fn default_retention_years() -> u32 {
    6
}

/// The headteacher or principal.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Headteacher {
    /// Name as the school writes it, e.g. "Mrs J Stackhouse".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The title as the school writes it: Headteacher, Head Teacher, Principal, ...
    #[serde(default = "default_head_title")]
    pub title: String,
}

/// The Designated Safeguarding Lead.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dsl {
    /// The DSL's name, if the policy names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True when the headteacher is also the DSL: concerns about children and adults
    /// then go to one named person.
    #[serde(default)]
    pub is_headteacher: bool,
}

/// Who staff speak to, report to and notify. Each defaults to "the <headteacher title>".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contacts {
    /// "If you have any questions about this AUP ..., please speak to <this>."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aup_questions: Option<String>,
    /// "... immediately change passwords and notify <this> if I suspect a breach."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_breach: Option<String>,
    /// Concerns about an adult go to "<this> (if by an adult)", e.g. "Headteacher/Principal".
    /// Defaults to the headteacher's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concerns_about_adults: Option<String>,
    /// Attempts by pupils to contact staff are reported "to <this>". Defaults to "the
    /// headteacher", or "the <title>" when the head's title is not Headteacher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pupil_contact: Option<String>,
}

/// The school's full online-safety policy.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnlineSafetyPolicy {
    /// The policy's name without the word "policy", e.g. "Online Safety" or "E.Safety".
    #[serde(default = "default_policy_name")]
    pub name: String,
    /// How the policy documents are named where the AUP sends readers to them,
    /// e.g. "e.safety and safeguarding Policies". Defaults to "<name> Policy".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<String>,
    /// Where staff can read the policy; printed after its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The curriculum that carries online safety.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Curriculum {
    /// Relationships and Sex Education.
    #[serde(rename = "RSE")]
    Rse,
    /// Relationships, Sex and Health Education.
    #[default]
    #[serde(rename = "RSHE")]
    Rshe,
}

/// The live-lesson incident log.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveLessonLog {
    /// The log with its article: "the issue log", "the online safety log", "a CPOMS log".
    #[serde(default = "default_log_name")]
    pub name: String,
    /// What staff do with it: "complete" or "fill in".
    #[serde(default = "default_log_action")]
    pub action: String,
}

/// How the policy calls the children.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Learners {
    /// "pupils" throughout.
    #[default]
    #[serde(rename = "pupils")]
    Pupils,
    /// "pupils/students" where the policy names them in general, "students" in the
    /// remote-learning bullets, "pupil(s)" elsewhere (as the seed schools write it).
    #[serde(rename = "pupils/students")]
    PupilsStudents,
    /// "students" throughout.
    #[serde(rename = "students")]
    Students,
}

/// What the policy says about USB keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UsbKeys {
    /// "USB keys, if allowed, will be encrypted".
    #[default]
    AllowedIfEncrypted,
    /// "USB keys will be encrypted".
    AlwaysEncrypted,
    /// USB keys and other removable media are not used with school devices or
    /// school data at all.
    Forbidden,
}

/// A "key people" table at the top of the policy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPeople {
    /// The heading above the table, in the school's words ("Key people / dates");
    /// "" for none. Defaults to "Key people".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// Where the table is printed: `after-title` (the default) or `before-title`,
    /// above the school's name, as some schools print it.
    #[serde(default)]
    pub placement: KeyPeoplePlacement,
    /// Designated Safeguarding Lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub designated_safeguarding_lead: Option<String>,
    /// Deputy DSLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deputy_dsls: Vec<String>,
    /// The safeguarding link governor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguarding_link_governor: Option<String>,
    /// Network manager or IT provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_manager: Option<String>,
    /// When the policy was last reviewed, as the school writes it ("September 2025").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<String>,
    /// When the policy is next reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_review: Option<String>,
    /// Further rows, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<KeyPerson>,
    /// The whole table in the school's own order and words, instead of the named
    /// rows above: each row a label and its value (or several lines, or blank).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<KeyPeopleRow>,
}

/// Where the key-people table is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPeoplePlacement {
    /// Below the title, before the ethos.
    #[default]
    AfterTitle,
    /// Above the school's name and the title.
    BeforeTitle,
}

/// One row of the key-people table as the school words it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPeopleRow {
    /// The left column, e.g. "Designated Safeguarding Lead (DSL) team".
    pub label: String,
    /// The right column on one line; leave out (or "") for a blank cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The right column on several lines (names with their roles, a phone number).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
}

/// A block of the school's own text outside the numbered clauses.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBlock {
    /// A name for this block (lowercase letters, digits and dashes).
    pub id: String,
    /// Where it goes: `start` (above the title), `title` (under the title block),
    /// the id of a paragraph (`ethos`, `key-people`, `what-is-an-aup`,
    /// `review-annually`, `why-an-aup`, `find-out-more`, `questions`), or of a
    /// numbered clause, including the school's own.
    pub after: String,
    /// An optional heading, styled as the policy's headings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// The text: a blank line starts a new paragraph; other line breaks are kept.
    /// Placeholders such as {school} and {pupils} work here too.
    #[serde(default)]
    pub text: String,
    /// Optional bullets under the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bullets: Vec<String>,
}

/// One extra row of the key-people table.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPerson {
    /// The role, e.g. "Online safety lead".
    pub role: String,
    /// Who holds it.
    pub name: String,
}

/// Sentences and wordings that some schools' policies have and others don't.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    /// Print the "What is an AUP?" section.
    #[serde(default = "yes")]
    pub what_is_an_aup: bool,
    /// The AUP covers "school networks, connections, internet connectivity and devices"
    /// rather than just "devices".
    #[serde(default)]
    pub networks_in_scope: bool,
    /// Start the first clause with "(This point for staff and governors):".
    #[serde(default)]
    pub point_for_staff_and_governors: bool,
    /// Contact with pupils only "in any way other than school-approved and
    /// school-monitored ways, which are detailed in the school’s ... Policy".
    #[serde(default = "yes")]
    pub contact_only_approved_ways: bool,
    /// Add "If I am not sure if I am allowed to do something in or related to school,
    /// I will not do it and seek guidance from the DSL."
    #[serde(default)]
    pub if_unsure_ask_dsl: bool,
    /// Extremist material is "considered offensive or of an extremist nature by the school".
    #[serde(default = "yes")]
    pub extremism_judged_by_school: bool,
    /// Point to the "Online Reputation guidance for schools" (give its address).
    #[serde(default)]
    pub online_reputation_guidance: Option<String>,
    /// The sections of the safeguarding policy staff confirm they have read. An empty
    /// list drops that sentence.
    #[serde(default = "default_sections_read")]
    pub sections_read: Vec<String>,
}

/// Changes to the template's clauses, by clause id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClauseEdits {
    /// Clause ids to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// New text for a clause, by id. Text may use placeholders such as {school},
    /// {possessive}, {headteacher}, {policy}, {log}, {pupils}.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replace: BTreeMap<String, String>,
    /// The school's own clauses, each placed after an existing clause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<ExtraClause>,
}

/// A school-specific clause.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraClause {
    /// A new id for this clause (lowercase letters, digits and dashes).
    pub id: String,
    /// The clause it follows. A bullet id places it among that clause's bullets.
    pub after: String,
    /// The clause text; placeholders as for `replace`.
    pub text: String,
    /// Bullet points under the clause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bullets: Vec<String>,
}

/// The approval block under the signer's block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Approval {
    /// No approval block.
    #[default]
    None,
    /// Already approved by the headteacher: their name, role and date are printed.
    Headteacher {
        /// Who approved, e.g. "Emma Bonnin". Defaults to the headteacher's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Their role. Defaults to the headteacher's title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// The date of approval (YYYY-MM-DD).
        date: String,
        /// A PNG or JPEG of the signature, relative to the YAML file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature_image: Option<String>,
        /// Who may get credentials, printed in brackets, e.g. "only staff and governors".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limited_to: Option<String>,
    },
    /// Approved on paper by the office: Systems, Additional permissions, Signature,
    /// Name, Role and Date lines.
    Office {
        /// Who completes it, e.g. "Admin Office/Deputy/Head".
        #[serde(default = "default_office")]
        completed_by: String,
    },
}

fn yes() -> bool {
    true
}

fn is_default_options(options: &super::aups::AupOptions) -> bool {
    *options == super::aups::AupOptions::default()
}

fn default_audience() -> Vec<String> {
    vec!["staff".into(), "governors".into(), "volunteers".into()]
}

fn default_head_title() -> String {
    "Headteacher".into()
}

fn default_policy_name() -> String {
    "Online Safety".into()
}

fn default_log_name() -> String {
    "the online safety log".into()
}

fn default_log_action() -> String {
    "complete".into()
}

fn default_office() -> String {
    "Admin Office/Deputy/Head".into()
}

fn default_sections_read() -> Vec<String> {
    [
        "handing incidents and concerns about a child in general",
        "sharing nudes and semi-nudes",
        "upskirting",
        "bullying",
        "sexual violence and harassment",
        "misuse of technology and social media",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

impl Default for OnlineSafetyPolicy {
    fn default() -> Self {
        Self {
            name: default_policy_name(),
            documents: None,
            url: None,
        }
    }
}

impl Default for LiveLessonLog {
    fn default() -> Self {
        Self {
            name: default_log_name(),
            action: default_log_action(),
        }
    }
}

impl Default for Wording {
    fn default() -> Self {
        Self {
            what_is_an_aup: true,
            networks_in_scope: false,
            point_for_staff_and_governors: false,
            contact_only_approved_ways: true,
            if_unsure_ask_dsl: false,
            extremism_judged_by_school: true,
            online_reputation_guidance: None,
            sections_read: default_sections_read(),
        }
    }
}
