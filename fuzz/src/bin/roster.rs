//! Fuzzes the staff roster reader: any bytes an MIS export (or a person with a
//! spreadsheet) could produce, parsed as `aup generate` and `aup status` parse
//! `<slug>.staff.csv`, with errors written as the office would see them.

use std::path::Path;

fn main() {
    let file = Path::new("fuzzed.staff.csv");
    afl::fuzz!(|data: &[u8]| {
        match aup::config::roster::parse(file, data.to_vec()) {
            Ok(people) => {
                for person in people {
                    let _ = person.key();
                }
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    });
}
