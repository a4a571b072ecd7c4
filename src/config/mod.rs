//! Reading and checking a school's YAML. Everything that can be wrong with a file is
//! found here, before any PDF is made, and reported with the file, line, column, key
//! path and what was expected.

pub mod aups;
mod locate;
mod mis_csv;
pub mod pupils;
pub mod resolve;
pub mod roster;
pub mod schema;
mod yaml_hints;
pub mod year;

use std::fmt;
use std::path::{Path, PathBuf};

pub use locate::{Locations, Position};
pub use resolve::{ClauseCatalogue, PLACEHOLDERS, PolicyInput, ResolvedSchool};
pub use schema::{SchoolConfig, SchoolMail};
pub use year::{AcademicYear, IssueDate};

/// A school's short identifier: its YAML file name without `.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchoolSlug(String);

impl SchoolSlug {
    /// Slugs become folder names and form-id prefixes, so they are kept to
    /// lowercase ASCII letters, digits and dashes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = !text.is_empty()
            && text.len() <= 40
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !text.starts_with('-');
        match valid {
            true => Ok(Self(text.to_owned())),
            false => Err(format!(
                "`{text}` is not a school slug: use lowercase letters, digits and dashes, e.g. `st-margarets`"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SchoolSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One problem in one YAML file, with everything a person needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub position: Option<Position>,
    /// The key path, e.g. `clauses.replace.remote-log`; empty for the whole file.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
    /// The offending source line, shown under the message like a compiler does.
    pub source_line: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(at) = self.position {
            write!(f, ":{}:{}", at.line, at.column)?;
        }
        write!(f, ": ")?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        write!(f, "{}", self.message)?;
        if let (Some(line), Some(at)) = (&self.source_line, self.position) {
            let number = at.line.to_string();
            let pad = " ".repeat(number.len());
            write!(f, "\n {pad} |\n {number} | {line}\n {pad} | ")?;
            let caret_at = line
                .char_indices()
                .take_while(|(i, _)| *i < at.column.saturating_sub(1))
                .count();
            write!(f, "{}^", " ".repeat(caret_at))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A school's YAML after parsing: the typed config plus what is needed to point at
/// any of its keys later.
#[derive(Debug)]
pub struct LoadedSchool {
    pub slug: SchoolSlug,
    pub file: PathBuf,
    pub config: SchoolConfig,
    text: String,
    locations: Locations,
    /// Where this school's clause edits and text blocks are in the file: at the
    /// top (`None`, the staff AUP), or under `aup_options.<aup>` for the school
    /// as one of its other AUPs sees it (see `for_aup`).
    edits_at: Option<String>,
}

impl LoadedSchool {
    /// An error about the value at `key` in this file, placed at that value.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let key = self.in_file(key);
        self.error_placed(&key, self.locations.find(&key), message.into())
    }

    /// True when the school file sets `key` itself, rather than leaving the default.
    pub fn sets(&self, key: &str) -> bool {
        self.locations.has(&self.in_file(key))
    }

    /// An error about the key itself (an unknown id used as a key).
    pub fn error_at_key(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let key = self.in_file(key);
        self.error_placed(&key, self.locations.find_key(&key), message.into())
    }

    /// `key` as the file has it: an AUP's own clause edits and text blocks are
    /// under its options.
    fn in_file(&self, key: &str) -> String {
        match &self.edits_at {
            Some(at) if key.starts_with("clauses") || key.starts_with("text_blocks") => {
                format!("{at}.{key}")
            }
            _ => key.to_owned(),
        }
    }

    /// True for the school as one of its AUPs besides the staff one sees it.
    pub fn is_for_another_aup(&self) -> bool {
        self.edits_at.is_some()
    }

    /// The school as `aup` sees it: its settings, with that AUP's own clause
    /// edits and text blocks in place of the staff AUP's, and errors about them
    /// placed where the file has them.
    pub fn for_aup(&self, aup: aups::AupKind) -> LoadedSchool {
        let mut config = self.config.clone();
        if aup != aups::AupKind::Staff {
            let edits = config.aup_options.edits(aup);
            config.clauses = edits
                .as_ref()
                .map(|e| e.clauses.clone())
                .unwrap_or_default();
            config.text_blocks = edits.map(|e| e.text_blocks.to_vec()).unwrap_or_default();
        }
        LoadedSchool {
            slug: self.slug.clone(),
            file: self.file.clone(),
            config,
            text: self.text.clone(),
            locations: self.locations.clone(),
            edits_at: (aup != aups::AupKind::Staff).then(|| format!("aup_options.{}", aup.name())),
        }
    }

    fn error_placed(&self, key: &str, position: Option<Position>, message: String) -> ConfigError {
        // A key the file does not have (and no parent of it does) is missing from
        // the top-level mapping: the top of the file is where it would go.
        let position = position.or(Some(Position { line: 1, column: 1 }));
        ConfigError {
            file: self.file.clone(),
            position,
            key: key.to_owned(),
            message,
            hint: None,
            source_line: position.and_then(|at| line_of(&self.text, at.line)),
        }
    }

    /// The directory the YAML lives in; relative paths inside it (a signature
    /// image) are resolved from here.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }
}

/// A school's YAML is a few pages of text, even with every clause rewritten.
pub const MAX_SCHOOL_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// A file with more mistakes than this is reported this far: the rest can wait
/// until these are mended.
pub const MAX_ERRORS: usize = 20;

/// Reads and parses `file`. A YAML error, a wrong type, a missing or unknown key
/// come back as a [`ConfigError`] (the first of them); semantic checks come later
/// in [`LoadedSchool::validate`].
pub fn load(file: &Path) -> Result<LoadedSchool, ConfigError> {
    load_all(file).map_err(|mut errors| errors.swap_remove(0))
}

/// A school's name as its file gives it, for people; its slug when the file is
/// gone or cannot be read (its returns still count and must still be named).
pub fn school_name(schools: &Path, slug: &str) -> String {
    load(&schools.join(format!("{slug}.yaml")))
        .map(|school| school.config.name)
        .unwrap_or_else(|_| slug.to_owned())
}

/// [`load`], with every mistake of the file's structure (wrong types, unknown keys
/// and values) up to [`MAX_ERRORS`], for `aup check`.
pub fn load_all(file: &Path) -> Result<LoadedSchool, Vec<ConfigError>> {
    let whole_file = |message: String, hint: Option<String>| ConfigError {
        file: file.to_owned(),
        position: None,
        key: String::new(),
        message,
        hint,
        source_line: None,
    };
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let slug = SchoolSlug::parse(stem).map_err(|m| {
        vec![whole_file(
            m,
            Some("rename the file; the name becomes the folder name of its forms".into()),
        )]
    })?;
    let bytes = read_small_file(file, MAX_SCHOOL_FILE_BYTES)
        .map_err(|e| vec![whole_file(format!("cannot read the file: {e}"), None)])?;
    let text = String::from_utf8(bytes).map_err(|e| {
        // The text before the bad byte is valid: it places the byte for editors.
        let valid = e.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        vec![ConfigError {
            position: Some(Position {
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
            }),
            ..whole_file(
                format!("the file is not UTF-8 text (bad byte at offset {valid})"),
                Some("save it as UTF-8 from your editor".into()),
            )
        }]
    })?;
    parse(file, slug, text.clone()).map_err(|first| {
        let mut errors = vec![first.clone()];
        errors.extend(further_errors(file, &text, &first));
        errors
    })
}

/// The structural mistakes after the first: the value at fault is taken out of
/// the parsed YAML and the rest read again, until the file reads or
/// [`MAX_ERRORS`] are found. A key that must be there and was taken out ends the
/// search (its "missing" would be our doing, not the school's).
fn further_errors(file: &Path, text: &str, first: &ConfigError) -> Vec<ConfigError> {
    let Ok(mut value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Vec::new(); // a YAML syntax error: nothing after it can be read
    };
    let locations = Locations::of(text);
    // Paths as the file has them; `value` loses items as we go, so a later
    // item's index is mapped back through the items taken out before it.
    let mut removed: Vec<String> = Vec::new();
    let mut items_taken: Vec<(String, usize)> = Vec::new();
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut at_fault = first.key.clone();
    let mut in_value = first.key.clone();
    while errors.len() + 1 < MAX_ERRORS {
        if in_value.is_empty() || !remove_path(&mut value, &in_value) {
            break;
        }
        if let Some((sequence, index)) = in_value
            .strip_suffix(']')
            .and_then(|p| p.rsplit_once('['))
            .and_then(|(sequence, index)| Some((sequence.to_owned(), index.parse().ok()?)))
        {
            items_taken.push((sequence, index));
        }
        removed.push(at_fault.clone());
        let error = match serde_path_to_error::deserialize::<_, SchoolConfig>(value.clone()) {
            Ok(_) => break,
            Err(error) => error,
        };
        let found = error.path().to_string();
        let found = match found.as_str() {
            "." | "?" => String::new(),
            _ => found,
        };
        let key = as_in_file(&found, &items_taken);
        let message = error.inner().to_string();
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let path = match key.is_empty() {
                true => field.to_owned(),
                false => format!("{key}.{field}"),
            };
            if removed.contains(&path) {
                break;
            }
        }
        // An unknown key is shown at the key; a bad value at the value.
        let position = match message.starts_with("unknown field") {
            true => locations.find_key(&key),
            false => locations.find(&key),
        };
        errors.push(ConfigError {
            file: file.to_owned(),
            position,
            hint: did_you_mean(&message),
            source_line: position.and_then(|at| line_of(text, at.line)),
            key: key.clone(),
            message,
        });
        at_fault = key;
        in_value = found;
    }
    errors
}

/// `path` in the value with items taken out, as the file numbers its items.
fn as_in_file(path: &str, items_taken: &[(String, usize)]) -> String {
    let mut path = path.to_owned();
    for (sequence, taken) in items_taken.iter().rev() {
        let prefix = format!("{sequence}[");
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        let Some((index, tail)) = rest.split_once(']') else {
            continue;
        };
        if let Ok(index) = index.parse::<usize>()
            && index >= *taken
        {
            path = format!("{prefix}{}]{tail}", index + 1);
        }
    }
    path
}

/// Takes the value at `path` (`a.b[2].c`) out of `value`; false when there is none.
fn remove_path(value: &mut serde_yaml::Value, path: &str) -> bool {
    let mut segments: Vec<String> = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            segments.push(rest[..open].to_owned());
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                segments.push(rest[..=close].to_owned());
                rest = &rest[close + 1..];
            }
        } else {
            segments.push(rest.to_owned());
        }
    }
    segments.retain(|s| !s.is_empty());
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = value;
    for segment in parents {
        node = match segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(index) => match index.parse::<usize>().ok().and_then(|i| node.get_mut(i)) {
                Some(next) => next,
                None => return false,
            },
            None => match node.get_mut(segment.as_str()) {
                Some(next) => next,
                None => return false,
            },
        };
    }
    match last.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(index) => match (index.parse::<usize>(), node.as_sequence_mut()) {
            (Ok(i), Some(items)) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        None => node
            .as_mapping_mut()
            .and_then(|m| m.remove(last.as_str()))
            .is_some(),
    }
}

/// Parses YAML `text` as the config of school `slug`; `file` is only used to
/// name the source in errors.
pub fn parse(file: &Path, slug: SchoolSlug, text: String) -> Result<LoadedSchool, ConfigError> {
    let whole_file = |message: String, hint: Option<String>| ConfigError {
        file: file.to_owned(),
        position: None,
        key: String::new(),
        message,
        hint,
        source_line: None,
    };
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(whole_file(
            "the file is empty: expected a mapping with at least `name` and `headteacher`".into(),
            Some(format!(
                "`aup init {slug}` writes a commented starter file to fill in"
            )),
        ));
    }
    let deserializer = serde_yaml::Deserializer::from_str(&text);
    let config: SchoolConfig =
        serde_path_to_error::deserialize(deserializer).map_err(|e| serde_error(file, &text, e))?;
    let locations = Locations::of(&text);
    Ok(LoadedSchool {
        slug,
        file: file.to_owned(),
        config,
        text,
        locations,
        edits_at: None,
    })
}

fn serde_error(
    file: &Path,
    text: &str,
    error: serde_path_to_error::Error<serde_yaml::Error>,
) -> ConfigError {
    // serde_path_to_error writes `?` for a segment it could not name (inside a
    // syntax error); the known part of the path still helps.
    let key = error.path().to_string();
    let key = key.split(".?").next().unwrap_or_default();
    let key = match key {
        "." | "?" => String::new(),
        _ => key.to_owned(),
    };
    let inner = error.inner();
    let position = inner.location().map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    // serde_yaml appends " at line X column Y" to its messages; we print the
    // position ourselves, in the file:line:col form editors can jump to.
    let mut message = inner.to_string();
    if let Some(cut) = message.find(" at line ") {
        let tail = &message[cut..];
        let rest = tail.find(", while").map(|i| &tail[i..]).unwrap_or("");
        message = format!("{}{}", &message[..cut], rest);
    }
    // serde_yaml also starts messages with the path of the enclosing mapping;
    // the key path is printed separately.
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.is_empty()
        && key.starts_with(prefix)
    {
        message = rest.to_owned();
    }
    // A missing field inside a tagged mapping (such as `approval`, told apart by
    // its `kind`) comes back from serde_yaml with the document's first position;
    // the mapping that lacks it is where the person must add it.
    let position = match message.starts_with("missing field") && !key.is_empty() {
        true => Locations::of(text).find(&key).or(position),
        false => position,
    };
    // A key one level out of place is said before any guess at a spelling;
    // a syntax error gets what to type on its line.
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(got, _)| got);
    let misplaced = unknown.and_then(|got| {
        let parent = key
            .strip_suffix(got)
            .map(|p| p.trim_end_matches('.'))
            .unwrap_or(&key);
        yaml_hints::misplaced_key(got, parent)
    });
    let hint = misplaced
        .or_else(|| position.and_then(|at| yaml_hints::syntax(&message, text, at.line, at.column)))
        .or_else(|| did_you_mean(&message));
    ConfigError {
        file: file.to_owned(),
        position,
        key,
        message,
        hint,
        source_line: position.and_then(|at| line_of(text, at.line)),
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and the same for enum
/// variants), suggests the closest expected name.
fn did_you_mean(message: &str) -> Option<String> {
    let (got, expected, what) = if let Some(rest) = message.strip_prefix("unknown field `") {
        let (got, expected) = rest.split_once('`')?;
        (got, expected, "keys")
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (got, expected) = rest.split_once('`')?;
        (got, expected, "values")
    } else {
        return None;
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    // The message already lists what is expected: the hint says where each is
    // explained, so the person can choose rather than guess.
    closest(got, candidates.iter().copied())
        .map(|best| format!("did you mean `{best}`?"))
        .or_else(|| match candidates.is_empty() {
            true => None,
            false => Some(format!(
                "use one of the {what} listed; `aup schema` and the README's school-file table say what each does"
            )),
        })
}

/// The candidate most like `got`, if any is close enough to be a plausible typo.
pub fn closest<'a>(got: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let got_lower = got.to_lowercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&got_lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn line_of(text: &str, line: usize) -> Option<String> {
    let line = text.lines().nth(line.checked_sub(1)?)?;
    // A very long line would flood the terminal; the caret still lands right for
    // the columns we keep.
    Some(line.chars().take(200).collect())
}

/// The `schools/*.yaml` files in `dir`, sorted by slug so runs are reproducible.
pub fn school_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads a file the schools folder or a school's YAML names, only if it is a
/// regular file no bigger than `limit`: a path such as `/dev/zero`, a FIFO or a
/// link to either would otherwise be read for ever.
pub(crate) fn read_small_file(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Checked on the open handle, not the path, so the file cannot be swapped for a
    // FIFO between check and read; O_NONBLOCK keeps the open itself from waiting
    // on a FIFO's writer.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} KB, more than the {} KB such a file may be",
                meta.len() / 1024,
                limit / 1024
            ),
        ));
    }
    let mut bytes = Vec::new();
    // The file may grow after the check: read no more than the limit allows.
    (&mut file).take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "grew past its size limit while being read",
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_school_file_linked_to_a_device_is_refused_not_read_for_ever() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let e = load(&path).unwrap_err();
        assert_eq!(e.file, path);
        assert!(e.message.contains("not a regular file"), "{e}");
    }

    #[test]
    fn slug_rules() {
        assert!(SchoolSlug::parse("st-margarets").is_ok());
        assert!(SchoolSlug::parse("St Margarets").is_err());
        assert!(SchoolSlug::parse("").is_err());
        assert!(SchoolSlug::parse("-x").is_err());
    }

    #[test]
    fn suggests_close_keys() {
        let m = "unknown field `nmae`, expected one of `name`, `short_name`, `website`";
        assert_eq!(did_you_mean(m).as_deref(), Some("did you mean `name`?"));
        let m = "unknown variant `RSEE`, expected `RSE` or `RSHE`";
        assert_eq!(did_you_mean(m).as_deref(), Some("did you mean `RSE`?"));
        let m = "unknown field `zzzzzz`, expected `name` or `role`";
        assert_eq!(
            did_you_mean(m).as_deref(),
            Some(
                "use one of the keys listed; `aup schema` and the README's school-file table say what each does"
            )
        );
    }
}
