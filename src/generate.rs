//! `aup generate`: from checked school configs to PDFs on disk. Per school the
//! policy is compiled twice by Typst (the readable policy, and the form base with
//! the print-at-actual-size footer); every personal form is then stamped from the
//! form base in parallel, written atomically, and recorded in the issue register.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::archive::{Archive, IssuedForm, PolicyRecord, Recipient};
use crate::config::aups::{self, AupKind};
use crate::config::roster;
use crate::config::year::long_date;
use crate::config::{AcademicYear, ConfigError, LoadedSchool, ResolvedSchool, SchoolSlug};
use crate::durable::{WriteBehind, WriterStopped};
use crate::form::stamp::PageOverlay;
use crate::form::{FieldSpec, Fingerprint, FormBase, FormId, FormMeta};
use crate::render::{self, AupWorld, Compiled, Job, RenderError, TemplateSource};

/// What one school's run produced.
#[derive(Debug, Clone)]
pub struct Generated {
    pub school: SchoolSlug,
    pub aup: AupKind,
    /// The readable policy, `<slug>-<aup>-aup.pdf`.
    pub policy: PathBuf,
    pub pages: usize,
    pub bytes: usize,
    pub fingerprint: Fingerprint,
    /// Personal and blank forms written, in roster order.
    pub forms: Vec<(FormId, PathBuf)>,
    /// `print-all.pdf`, when any form was written.
    pub print_all: Option<PathBuf>,
    /// Forms of an older policy version that were in `forms/`, each moved to
    /// `superseded/<version>/` (from, to), so nobody prints one by mistake.
    pub superseded: Vec<(PathBuf, PathBuf)>,
    pub warnings: String,
}

/// What a school's run reports as it goes, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The policy is compiled; this many forms are about to be stamped.
    Stamping(usize),
    /// One more form is written.
    FormWritten,
}

/// Why a school could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigError>),
    #[error("{0}")]
    Roster(#[from] roster::RosterError),
    #[error("{school}: {source}")]
    Render {
        school: SchoolSlug,
        source: RenderError,
    },
    #[error("{school}: {source}")]
    Stamp {
        school: SchoolSlug,
        source: crate::form::stamp::StampError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Archive(#[from] crate::archive::ArchiveError),
    #[error("{0}")]
    Other(String),
}

/// What `aup generate` was asked to do, checked.
#[derive(Debug, Clone)]
pub struct GeneratePlan {
    pub templates: TemplateSource,
    pub year: Option<AcademicYear>,
    pub date: time::Date,
    pub out_dir: PathBuf,
    /// The archive folder whose index holds the issue register.
    pub archive: PathBuf,
    /// Extra unnamed forms per school.
    pub blank: u32,
}

impl GeneratePlan {
    /// The academic year of the forms: as given, else the one the issue date falls in.
    pub fn year(&self) -> AcademicYear {
        self.year
            .unwrap_or_else(|| AcademicYear::containing(self.date))
    }

    fn year_dir(&self, slug: &SchoolSlug) -> PathBuf {
        self.out_dir
            .join(slug.as_str())
            .join(self.year().to_string())
    }

    /// Where an AUP's forms and print file go: the staff AUP's in the year's
    /// folder (as before there were others), each other AUP's in a folder of
    /// its name inside it.
    fn aup_dir(&self, slug: &SchoolSlug, aup: AupKind) -> PathBuf {
        match aup {
            AupKind::Staff => self.year_dir(slug),
            _ => self.year_dir(slug).join(aup.name()),
        }
    }
}

/// Resolves a loaded school against the staff template's clause catalogue.
pub fn resolve(
    school: &LoadedSchool,
    templates: &TemplateSource,
) -> Result<ResolvedSchool, GenerateError> {
    resolve_aup(school, AupKind::Staff, templates)
}

/// Resolves a loaded school for one of its AUPs, against that template's
/// clause catalogue.
pub fn resolve_aup(
    school: &LoadedSchool,
    aup: AupKind,
    templates: &TemplateSource,
) -> Result<ResolvedSchool, GenerateError> {
    let catalogue = render::catalogue_of(aup, templates).map_err(GenerateError::Other)?;
    school
        .resolve_aup(aup, &catalogue)
        .map_err(GenerateError::Config)
}

/// The template of a resolved AUP (its input says which).
fn template_of(resolved: &ResolvedSchool) -> &'static str {
    AupKind::parse(resolved.input.aup.name)
        .unwrap_or(AupKind::Staff)
        .template()
}

/// The Typst world of a resolved school's AUP: the readable policy, or
/// (`form`) the base of personal forms.
fn world(
    resolved: &ResolvedSchool,
    slug: &SchoolSlug,
    plan: &GeneratePlan,
    form: bool,
) -> Result<AupWorld, GenerateError> {
    let year = plan.year().to_string();
    let files = render::inputs::template_files(
        &resolved.input,
        resolved.signature_image.as_ref(),
        &year,
        &long_date(plan.date),
        form,
    )
    .map_err(|e| GenerateError::Other(format!("cannot encode the template input: {e}")))?;
    AupWorld::new(Job {
        templates: &plan.templates,
        main: template_of(resolved),
        files,
        today: plan.date,
    })
    .map_err(|source| render_error(slug, source))
}

fn render_error(slug: &SchoolSlug, source: RenderError) -> GenerateError {
    GenerateError::Render {
        school: slug.clone(),
        source,
    }
}

fn stamp_error(slug: &SchoolSlug, source: crate::form::stamp::StampError) -> GenerateError {
    GenerateError::Stamp {
        school: slug.clone(),
        source,
    }
}

/// Compiles a resolved school's staff AUP: the readable policy, or (`form`) the
/// base of personal forms.
pub fn compile(
    resolved: &ResolvedSchool,
    slug: &SchoolSlug,
    plan: &GeneratePlan,
    form: bool,
) -> Result<Compiled, GenerateError> {
    world(resolved, slug, plan, form)?
        .compile()
        .map_err(|source| render_error(slug, source))
}

/// The policy as HTML, from the same template and data as the PDF: its words,
/// headings, lists and table for the signing page (the form's boxes are left
/// out: the page has its own).
pub fn policy_html(
    resolved: &ResolvedSchool,
    slug: &SchoolSlug,
    plan: &GeneratePlan,
) -> Result<String, GenerateError> {
    let (html, _warnings) = world(resolved, slug, plan, false)?
        .compile_html()
        .map_err(|source| render_error(slug, source))?;
    Ok(html)
}

/// The readable policy and the base of personal forms, compiled side by side
/// (one core each).
pub fn compile_policy_and_form(
    resolved: &ResolvedSchool,
    slug: &SchoolSlug,
    plan: &GeneratePlan,
) -> Result<(Compiled, Compiled), GenerateError> {
    let (policy, form) = rayon::join(
        || compile(resolved, slug, plan, false),
        || compile(resolved, slug, plan, true),
    );
    Ok((policy?, form?))
}

/// The policy version: a digest of the policy's and the form's pages as laid
/// out (see `render::printed`), so it changes exactly when what is printed does.
pub fn fingerprint(
    policy: &Compiled,
    form: &Compiled,
    slug: &SchoolSlug,
) -> Result<Fingerprint, GenerateError> {
    let boxes = form
        .field_boxes()
        .map_err(|source| render_error(slug, source))?;
    Ok(fingerprint_with(policy, form, &boxes))
}

/// [`fingerprint`] with the form's boxes already read.
fn fingerprint_with(policy: &Compiled, form: &Compiled, boxes: &[render::FieldBox]) -> Fingerprint {
    Fingerprint::from_hex(&render::printed::fingerprint(
        &policy.document,
        &form.document,
        boxes,
    ))
}

/// Generates one school's staff AUP (see [`generate_aup`]).
pub fn generate_school(
    school: &LoadedSchool,
    plan: &GeneratePlan,
    progress: &(dyn Fn(Step) + Sync),
) -> Result<Generated, GenerateError> {
    generate_aup(school, AupKind::Staff, plan, progress)
}

/// Generates one of a school's AUPs: the policy, a form per person it is for
/// (the staff roster, or the pupils of its year groups from the class lists)
/// and per blank, the print file, and the register rows.
pub fn generate_aup(
    school: &LoadedSchool,
    aup: AupKind,
    plan: &GeneratePlan,
    progress: &(dyn Fn(Step) + Sync),
) -> Result<Generated, GenerateError> {
    let slug = &school.slug;
    let resolved = resolve_aup(school, aup, &plan.templates)?;
    let recipients = recipients_of(school, aup, plan.blank)?;
    let year = plan.year();
    let year_dir = plan.aup_dir(slug, aup);
    let render_error = |source| render_error(slug, source);
    // The form is compiled even when nobody is on the roster: the version is a
    // digest of both, and must not depend on whether anyone gets a form.
    let (policy, base) = compile_policy_and_form(&resolved, slug, plan)?;
    let boxes = base.field_boxes().map_err(render_error)?;
    let fingerprint = fingerprint_with(&policy, &base, &boxes);
    let policy_path = plan.year_dir(slug).join(aup.policy_file(slug.as_str()));
    let policy_pdf = || {
        policy
            .pdf(&format!("aup/{slug}/{year}/{aup}"), year.first_day())
            .map_err(render_error)
    };
    let generated = |policy_bytes: usize| Generated {
        school: slug.clone(),
        aup,
        policy: policy_path.clone(),
        pages: policy.page_count(),
        bytes: policy_bytes,
        fingerprint: fingerprint.clone(),
        forms: Vec::new(),
        print_all: None,
        superseded: Vec::new(),
        warnings: policy.warnings.clone(),
    };
    if recipients.is_empty() {
        let policy_pdf = policy_pdf()?;
        write_file(&policy_path, &policy_pdf)?;
        return Ok(generated(policy_pdf.len()));
    }

    // The policy's PDF, the form's base and the form ids are made side by
    // side. Serials are read, then written when the forms are recorded: the
    // archive's lock is held in between, so two runs at once (two offices
    // adding staff) queue rather than hand out one id twice.
    let prefix = form_prefix(school);
    let (policy_pdf, (base, assigned)) = rayon::join(policy_pdf, || {
        rayon::join(
            || form_base(&base, &boxes, slug, aup, year),
            || -> Result<_, GenerateError> {
                let lock = crate::archive::lock_waiting(&plan.archive)?;
                let archive = Archive::open(&plan.archive)?;
                let ids = archive.assign_ids(
                    slug.as_str(),
                    &prefix,
                    year,
                    fingerprint.as_str(),
                    &recipients,
                )?;
                Ok((lock, archive, ids))
            },
        )
    });
    let policy_pdf = policy_pdf?;
    write_file(&policy_path, &policy_pdf)?;
    let mut generated = generated(policy_pdf.len());
    let base = base?;
    let (_lock, mut archive, ids) = assigned?;
    let stamp_error = |source| stamp_error(slug, source);

    let metas: Vec<FormMeta> = ids
        .iter()
        .zip(&recipients)
        .map(|(id, r)| FormMeta {
            form_id: id.clone(),
            school: slug.to_string(),
            school_name: resolved.input.school.name.clone(),
            year: year.to_string(),
            fingerprint: fingerprint.to_string(),
            fingerprint_short: fingerprint.short(),
            person: r.name.clone(),
            role: r.role.clone(),
        })
        .collect();

    // Each person's overlays first (both cores share them); then the print
    // file, which one thread assembles (each person's copy of the structure
    // and the writing of its objects are shared out again), is made beside
    // the stamping of the forms, which the other core (and any left) take.
    let forms_dir = year_dir.join("forms");
    progress(Step::Stamping(metas.len()));
    let overlays: Vec<Vec<PageOverlay>> = metas
        .par_iter()
        .map(|meta| base.overlays(meta).map_err(stamp_error))
        .collect::<Result<_, GenerateError>>()?;
    let print_all_path = year_dir.join("print-all.pdf");
    // The files are written and synced on a thread of their own, so the
    // cores making forms never wait on the disk.
    let writer = WriteBehind::start().map_err(|source| GenerateError::Write {
        path: forms_dir.clone(),
        source,
    })?;
    let queue = |path: &Path, bytes: Vec<u8>| {
        writer
            .write(path.to_owned(), bytes)
            .map_err(|WriterStopped| GenerateError::Write {
                path: path.to_owned(),
                source: std::io::Error::other("the writing of files stopped on an error"),
            })
    };
    let (written, printed) = rayon::join(
        || {
            metas
                .par_iter()
                .zip(&overlays)
                .map(|(meta, overlays)| {
                    let mut stamped = base.stamp(meta, overlays).map_err(stamp_error)?;
                    let path = forms_dir.join(form_file_name(meta));
                    queue(&path, std::mem::take(&mut stamped.pdf))?;
                    progress(Step::FormWritten);
                    Ok((path, stamped))
                })
                .collect::<Result<Vec<_>, GenerateError>>()
        },
        || {
            let print_forms: Vec<(&FormMeta, &[PageOverlay])> = metas
                .iter()
                .zip(&overlays)
                .map(|(meta, overlays)| (meta, overlays.as_slice()))
                .collect();
            let covers = class_covers(school, aup, &resolved, &metas)?;
            let print_all = base.print_all(&print_forms, &covers).map_err(stamp_error)?;
            queue(&print_all_path, print_all)
        },
    );
    // Every file is on disk before the register says it was issued.
    writer
        .finish()
        .map_err(|(path, source)| GenerateError::Write { path, source })?;
    let written: Vec<(PathBuf, crate::form::Stamped)> = written?;
    printed?;

    let policy_json =
        serde_json::to_string(&resolved.input).map_err(|e| GenerateError::Other(e.to_string()))?;
    let issued_on = plan.date.to_string();
    let issued: Vec<IssuedForm<'_>> = written
        .iter()
        .zip(&ids)
        .zip(&recipients)
        .map(|(((_, stamped), id), recipient)| IssuedForm {
            form_id: id,
            recipient,
            pages: base.sizes(),
            page_hashes: &stamped.page_hashes,
            page_drawings: &stamped.page_drawings,
            fields: base.fields(),
            file_sha256: &stamped.sha256,
        })
        .collect();
    archive.record(
        &PolicyRecord {
            fingerprint: fingerprint.as_str(),
            school: slug.as_str(),
            year,
            template: aup.template(),
            policy_json: &policy_json,
            issued_on: &issued_on,
        },
        &issued,
    )?;

    generated.forms = ids
        .into_iter()
        .zip(written.into_iter().map(|(p, ..)| p))
        .collect();
    generated.print_all = Some(print_all_path);
    generated.superseded = move_superseded(&archive, &year_dir, &fingerprint)?;
    Ok(generated)
}

/// The compiled form made ready to personalise: its PDF, with a field over
/// each box the template marked.
fn form_base(
    base: &Compiled,
    boxes: &[render::FieldBox],
    slug: &SchoolSlug,
    aup: AupKind,
    year: AcademicYear,
) -> Result<FormBase, GenerateError> {
    let base_pdf = base
        .pdf(&format!("aup/{slug}/{year}/{aup}-form"), year.first_day())
        .map_err(|source| render_error(slug, source))?;
    let heights: Vec<f64> = base
        .document
        .pages()
        .iter()
        .map(|p| p.frame.height().to_pt())
        .collect();
    let fields: Vec<FieldSpec> = boxes
        .iter()
        .map(|b| FieldSpec::from_layout(b, heights[b.page - 1]))
        .collect();
    FormBase::new(&base_pdf, fields).map_err(|source| stamp_error(slug, source))
}

/// Moves the personal forms of an older policy version out of `forms/` into
/// `superseded/<version>/`: after a wording change `forms/` holds only what may
/// be printed and signed now. A form is known by the id its file name starts
/// with, looked up in the register; files the register does not know, and forms
/// of the current version (someone who left the roster), stay where they are.
fn move_superseded(
    archive: &Archive,
    year_dir: &Path,
    current: &Fingerprint,
) -> Result<Vec<(PathBuf, PathBuf)>, GenerateError> {
    let forms_dir = year_dir.join("forms");
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| GenerateError::Write { path, source }
    };
    let mut moved = Vec::new();
    let entries = std::fs::read_dir(&forms_dir).map_err(failed(&forms_dir))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort();
    for from in files {
        let Some(name) = from.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // `<PREFIX>-<YEAR>-<SERIAL>-<CHECK>-<person>.pdf`
        let form_id = name.splitn(5, '-').take(4).collect::<Vec<_>>().join("-");
        let Some(form) = archive.issued(&form_id)? else {
            continue;
        };
        if form.fingerprint == current.as_str() {
            continue;
        }
        let version = &form.fingerprint[..12.min(form.fingerprint.len())];
        let folder = year_dir.join("superseded").join(version);
        std::fs::create_dir_all(&folder).map_err(failed(&folder))?;
        let to = folder.join(name);
        std::fs::rename(&from, &to).map_err(failed(&from))?;
        moved.push((from, to));
    }
    Ok(moved)
}

/// Who gets a form of `aup` (see [`aups::people_of`]): then the visitors'
/// blank forms, and `blank` unnamed forms.
fn recipients_of(
    school: &LoadedSchool,
    aup: AupKind,
    blank: u32,
) -> Result<Vec<Recipient>, GenerateError> {
    let people = aups::people_of(school, aup)?;
    let blanks = match aup {
        AupKind::Visitors => blank + school.config.aup_options.visitor_forms(),
        _ => blank,
    };
    let named = people.iter().map(|p| Recipient {
        key: p.key(),
        name: Some(p.name.clone()),
        role: Some(p.role.clone()),
        staff_id: p.staff_id.clone(),
        email: p.email.clone(),
    });
    let blanks = (1..=blanks).map(|n| Recipient {
        key: format!("blank:{n}"),
        name: None,
        role: None,
        staff_id: None,
        email: None,
    });
    Ok(named.chain(blanks).collect())
}

/// A cover sheet before each class's forms in a pupils' or parents' print
/// file (the class, how many forms, its teacher when the class list names
/// one), so each class's pile goes to its teacher. None for the staff's and
/// visitors' forms.
fn class_covers(
    school: &LoadedSchool,
    aup: AupKind,
    resolved: &ResolvedSchool,
    metas: &[FormMeta],
) -> Result<Vec<crate::form::Cover>, GenerateError> {
    if !aup.uses_class_lists() {
        return Ok(Vec::new());
    }
    let list = crate::config::pupils::pupils_path(school.dir(), school.slug.as_str());
    let mut teachers: std::collections::HashMap<String, String> = Default::default();
    if list.is_file() {
        for pupil in crate::config::pupils::read(&list)? {
            if let Some(teacher) = pupil.teacher {
                teachers.entry(pupil.class).or_insert(teacher);
            }
        }
    }
    let mut covers = Vec::new();
    let mut start = 0;
    while start < metas.len() {
        let Some(class) = metas[start]
            .role
            .clone()
            .filter(|_| metas[start].person.is_some())
        else {
            start += 1;
            continue;
        };
        let count = metas[start..]
            .iter()
            .take_while(|m| m.role.as_deref() == Some(class.as_str()) && m.person.is_some())
            .count();
        let teacher = teachers
            .get(&class)
            .cloned()
            .unwrap_or_else(|| "________________________".to_owned());
        let forms = match (aup, count) {
            (AupKind::Parents, 1) => "form for parents and carers",
            (AupKind::Parents, _) => "forms for parents and carers",
            (_, 1) => "form",
            _ => "forms",
        };
        covers.push(crate::form::Cover {
            before: start,
            lines: vec![
                (14.0, resolved.input.school.name.clone()),
                (40.0, format!("Class {class}")),
                (
                    16.0,
                    format!(
                        "Acceptable Use Policy for {}, {}",
                        aup.title(),
                        metas[start].year
                    ),
                ),
                (16.0, format!("{count} {forms}, each with a pupil's name on it")),
                (16.0, format!("Teacher: {teacher}")),
                (
                    12.0,
                    "Please give each pupil their own form to take home, and send the signed forms back to the school office together. Pages with a QR code are read by the office's scanner: keep them flat and unstapled.".to_owned(),
                ),
            ],
        });
        start += count;
    }
    Ok(covers)
}

/// The school's form-id prefix: as configured, else the slug's first letters.
pub fn form_prefix(school: &LoadedSchool) -> String {
    school.config.form_prefix.clone().unwrap_or_else(|| {
        let letters: String = school
            .slug
            .as_str()
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(3)
            .collect::<String>()
            .to_ascii_uppercase();
        match letters.len() {
            0 | 1 => format!("{letters}AUP")[..3].to_owned(),
            _ => letters,
        }
    })
}

/// `PAK-2526-0007-K-jane-smith.pdf`: the id first so files sort by id, the name so
/// the office can find a person's file to email.
fn form_file_name(meta: &FormMeta) -> String {
    let who = match &meta.person {
        Some(name) => {
            // Letters lose their accents (Siân → sian) so file names stay ASCII.
            use unicode_normalization::UnicodeNormalization;
            let mut slug = String::new();
            for c in name
                .nfkd()
                .filter(|c| c.is_ascii() || !unicode_normalization::char::is_combining_mark(*c))
                .flat_map(char::to_lowercase)
            {
                let c = match c {
                    'ł' => 'l',
                    'ø' => 'o',
                    'đ' => 'd',
                    'ß' => 's',
                    '’' | '\'' => continue,
                    other => other,
                };
                match c.is_ascii_alphanumeric() {
                    true => slug.push(c),
                    false if !slug.ends_with('-') => slug.push('-'),
                    false => {}
                }
            }
            slug.trim_matches('-').chars().take(40).collect::<String>()
        }
        None => "blank".to_owned(),
    };
    format!("{}-{who}.pdf", meta.form_id)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GenerateError> {
    crate::durable::write_atomically(path, bytes).map_err(|source| GenerateError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::id::hex;
    use sha2::{Digest, Sha256};

    /// A personal copy is written from the base's objects serialised once
    /// (`form::copy_writer`); it must be the very bytes lopdf writes for the
    /// same document, or forms would stop matching what earlier versions of
    /// aup issued and registered.
    #[test]
    fn a_stamped_form_is_byte_for_byte_what_lopdf_writes() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let school = crate::config::load(&repo.join("schools/pakeman.yaml")).unwrap();
        let plan = GeneratePlan {
            templates: TemplateSource::Embedded,
            year: None,
            date: time::macros::date!(2025 - 09 - 01),
            out_dir: PathBuf::from("unused"),
            archive: PathBuf::from("unused"),
            blank: 0,
        };
        let resolved = resolve_aup(&school, AupKind::Staff, &plan.templates).unwrap();
        let compiled = compile(&resolved, &school.slug, &plan, true).unwrap();
        let boxes = compiled.field_boxes().unwrap();
        let year = plan.year();
        let base = form_base(&compiled, &boxes, &school.slug, AupKind::Staff, year).unwrap();
        let fingerprint = Fingerprint::from_hex(&"d86d035baebc".repeat(6)[..64]);
        for (serial, person) in [(7, Some("Zoë O\u{2019}Brien (Deputy)")), (8, None)] {
            let meta = FormMeta {
                form_id: FormId::new("PAK", year, serial).unwrap(),
                school: school.slug.to_string(),
                school_name: resolved.input.school.name.clone(),
                year: year.to_string(),
                fingerprint: fingerprint.to_string(),
                fingerprint_short: fingerprint.short(),
                person: person.map(str::to_owned),
                role: person.map(|_| "Teacher".to_owned()),
            };
            let overlays = base.overlays(&meta).unwrap();
            let stamped = base.stamp(&meta, &overlays).unwrap();
            let mut by_lopdf = Vec::new();
            base.personalised_in_full(&meta, &overlays)
                .unwrap()
                .save_to(&mut by_lopdf)
                .unwrap();
            assert!(
                stamped.pdf == by_lopdf,
                "form {serial} differs from lopdf's"
            );
            assert_eq!(stamped.sha256, hex(&Sha256::digest(&by_lopdf)));
        }
    }
}
