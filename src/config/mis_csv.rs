//! The CSV files a school exports from its MIS (the staff roster, the class
//! lists): read whole within a size limit as UTF-8 text, every row of equal
//! length, headers matched by their letters and digits alone (so SIMS's
//! "Reg Group", Arbor's "Registration form" and "registration_group" are told
//! apart only by their words), each row kept with its line for messages.

use std::path::Path;

use super::roster::RosterError;

/// A parsed export.
pub struct Table {
    file: std::path::PathBuf,
    headers: Vec<String>,
    keys: Vec<String>,
    pub rows: Vec<Row>,
}

/// One row that is not blank, with its line in the file.
pub struct Row {
    pub line: u64,
    record: csv::StringRecord,
}

/// A header as it is matched: letters and digits, lower case.
pub fn header_key(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Table {
    /// Reads `file` (a regular file of at most `limit` bytes) and parses it.
    pub fn read(file: &Path, limit: u64, what: &str) -> Result<Self, RosterError> {
        let bytes = super::read_small_file(file, limit).map_err(|e| RosterError {
            file: file.to_owned(),
            line: None,
            message: format!("cannot read the {what}: {e}"),
            hint: None,
        })?;
        Self::parse(file, bytes, what)
    }

    /// Parses `bytes`; `file` only names it in errors, `what` ("roster",
    /// "class list") in their words.
    pub fn parse(file: &Path, bytes: Vec<u8>, what: &str) -> Result<Self, RosterError> {
        let error = |line: Option<u64>, message: String, hint: Option<&str>| RosterError {
            file: file.to_owned(),
            line,
            message,
            hint: hint.map(String::from),
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            error(
                None,
                format!("the {what} is not UTF-8 text"),
                Some("in Excel choose \"CSV UTF-8 (Comma delimited)\" when saving"),
            )
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| error(Some(1), format!("cannot read the header row: {e}"), None))?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("this row has {len} fields but the header has {expected_len}"),
                    _ => format!("malformed row: {e}"),
                };
                error(
                    line,
                    message,
                    Some("a name containing a comma must be in double quotes"),
                )
            })?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            rows.push(Row { line, record });
        }
        Ok(Self {
            file: file.to_owned(),
            keys: headers.iter().map(|h| header_key(h)).collect(),
            headers,
            rows,
        })
    }

    /// The first column whose header is one of `names` (as [`header_key`]s).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.keys.iter().position(|k| names.contains(&k.as_str()))
    }

    /// The headers as the file spells them, for a message.
    pub fn headers(&self) -> String {
        self.headers.join(", ")
    }

    /// A problem at `line` of the file.
    pub fn error(&self, line: Option<u64>, message: String, hint: Option<&str>) -> RosterError {
        RosterError {
            file: self.file.clone(),
            line,
            message,
            hint: hint.map(String::from),
        }
    }
}

impl Row {
    /// The cell in `column`, trimmed; `None` when absent or empty.
    pub fn get(&self, column: Option<usize>) -> Option<&str> {
        column
            .and_then(|i| self.record.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}
