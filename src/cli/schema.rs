//! `aup schema`: the JSON Schema editors use to complete and check school files.

use clap::Args;

use super::Outcome;
use crate::config::SchoolConfig;

#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// The schema as pretty JSON, derived from the same types `aup check` uses.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(SchoolConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

pub fn run(_args: SchemaArgs) -> Result<Outcome, String> {
    out!("{}", schema_json());
    Ok(Outcome::Success)
}
