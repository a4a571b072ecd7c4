//! `aup schema`: the JSON Schema editors use to complete and check school files
//! (or, with `--mail`, the mail settings).

use clap::Args;

use super::Outcome;
use crate::config::SchoolConfig;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of the mail settings (`mail.yaml`) instead.
    #[arg(long)]
    pub mail: bool,
}

/// The schema as pretty JSON, derived from the same types `aup check` uses.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(SchoolConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

/// The mail settings' schema as pretty JSON.
pub fn mail_schema_json() -> String {
    let schema = schemars::schema_for!(crate::mail::settings::MailSettings);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

pub fn run(args: SchemaArgs) -> Result<Outcome, String> {
    match args.mail {
        true => out!("{}", mail_schema_json()),
        false => out!("{}", schema_json()),
    }
    Ok(Outcome::Success)
}
