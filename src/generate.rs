//! `aup generate`: from checked school configs to PDFs on disk. Each school is
//! resolved, compiled once and exported; files are written atomically so a reader
//! never sees half a PDF.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::year::long_date;
use crate::config::{
    self, AcademicYear, ConfigError, LoadedSchool, PolicyInput, ResolvedSchool, SchoolSlug,
};
use crate::render::{self, AupWorld, Compiled, Job, RenderError, STAFF_AUP, TemplateSource};

/// The data that varies per issue but is not policy text: it is kept out of the
/// policy fingerprint.
#[derive(Debug, Clone, Serialize)]
struct IssueInput<'a> {
    year: &'a str,
    date: &'a str,
}

/// The virtual files a compilation of the staff template reads.
pub fn template_files<'a>(
    input: &PolicyInput,
    signature_image: Option<&(String, Vec<u8>)>,
    year: &str,
    date: &str,
) -> Result<Vec<(&'a str, Vec<u8>)>, serde_json::Error> {
    // The signature image's path is one of two fixed strings; leak-free static
    // names keep `Job` borrowing simple.
    let mut files = vec![
        ("/policy.json", serde_json::to_vec(input)?),
        (
            "/issue.json",
            serde_json::to_vec(&IssueInput { year, date })?,
        ),
    ];
    if let Some((path, bytes)) = signature_image {
        let path: &'static str = match path.ends_with(".png") {
            true => "/approval-signature.png",
            false => "/approval-signature.jpg",
        };
        files.push((path, bytes.clone()));
    }
    Ok(files)
}

/// A valid policy input for a school with no edits, used to read the template's
/// clause catalogue before any school is checked against it.
pub fn neutral_policy_input() -> PolicyInput {
    let text = "name: Neutral School\nheadteacher:\n  name: A Head\n".to_owned();
    let slug = SchoolSlug::parse("neutral").expect("valid slug");
    let loaded =
        config::parse(Path::new("neutral.yaml"), slug, text).expect("neutral config parses");
    loaded
        .resolve(&Default::default())
        .expect("neutral config resolves")
        .input
}

/// One generated document.
#[derive(Debug, Clone)]
pub struct Generated {
    pub school: SchoolSlug,
    pub path: PathBuf,
    pub pages: usize,
    pub bytes: usize,
    pub warnings: String,
}

/// Why a school could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigError>),
    #[error("{school}: {source}")]
    Render {
        school: SchoolSlug,
        source: RenderError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
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
}

impl GeneratePlan {
    /// The academic year of the forms: as given, else the one the issue date falls in.
    pub fn year(&self) -> AcademicYear {
        self.year
            .unwrap_or_else(|| AcademicYear::containing(self.date))
    }
}

/// Resolves a loaded school against the template's clause catalogue.
pub fn resolve(
    school: &LoadedSchool,
    templates: &TemplateSource,
) -> Result<ResolvedSchool, GenerateError> {
    let catalogue = render::staff_catalogue(templates).map_err(GenerateError::Other)?;
    school.resolve(&catalogue).map_err(GenerateError::Config)
}

/// Compiles a resolved school's staff AUP.
pub fn compile(
    resolved: &ResolvedSchool,
    slug: &SchoolSlug,
    plan: &GeneratePlan,
) -> Result<Compiled, GenerateError> {
    let year = plan.year().to_string();
    let files = template_files(
        &resolved.input,
        resolved.signature_image.as_ref(),
        &year,
        &long_date(plan.date),
    )
    .map_err(|e| GenerateError::Other(format!("cannot encode the template input: {e}")))?;
    let render_error = |source| GenerateError::Render {
        school: slug.clone(),
        source,
    };
    let world = AupWorld::new(Job {
        templates: &plan.templates,
        main: STAFF_AUP,
        files,
        today: plan.date,
    })
    .map_err(render_error)?;
    world.compile().map_err(render_error)
}

/// Generates one school's staff AUP into `<out>/<slug>/<year>/<slug>-staff-aup.pdf`.
pub fn generate_school(
    school: &LoadedSchool,
    plan: &GeneratePlan,
) -> Result<Generated, GenerateError> {
    let resolved = resolve(school, &plan.templates)?;
    let compiled = compile(&resolved, &school.slug, plan)?;
    let year = plan.year();
    let pdf = compiled
        .pdf(&format!("aup/{}/{year}/staff", school.slug), plan.date)
        .map_err(|source| GenerateError::Render {
            school: school.slug.clone(),
            source,
        })?;
    let path = plan
        .out_dir
        .join(school.slug.as_str())
        .join(year.to_string())
        .join(format!("{}-staff-aup.pdf", school.slug));
    write_atomically(&path, &pdf).map_err(|source| GenerateError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(Generated {
        school: school.slug.clone(),
        path,
        pages: compiled.page_count(),
        bytes: pdf.len(),
        warnings: compiled.warnings,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced
/// before the rename, so `path` is either the old file or the whole new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
