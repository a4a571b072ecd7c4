//! Fuzzes the staff roster reader: any bytes an MIS export (or a person with a
//! spreadsheet) could produce, read from `<slug>.staff.csv` as `aup generate`
//! and `aup status` read it, with errors written as the office would see them.

fn main() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let file = work.path().join("fuzzed.staff.csv");
    afl::fuzz!(|data: &[u8]| {
        std::fs::write(&file, data).expect("the fuzz input can be written");
        match aup::config::roster::read(&file) {
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
