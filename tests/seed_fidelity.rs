//! The shipped school files reproduce the three seed AUPs word for word: the
//! generated PDF's text holds at least 99.5% of the seed's words in the seed's
//! order, and at least 95% of the PDF's words are the seed's (the rest is page
//! furniture: title block, headings a seed lost in extraction, page numbers).

mod common;

use common::{Scratch, pdftotext, repo};

/// Seed text to words: extraction artefacts named in tests/fixtures/seeds/README.md go
/// (bookmark and image markers, tab runs), the underscores that stood for rule
/// lines go (our PDF draws boxes), and so do list numbers and bullets.
fn seed_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for line in text.lines() {
        let mut line = line.to_owned();
        while let Some(start) = line.find("[bookmark:") {
            let end = line[start..]
                .find(']')
                .map(|e| start + e + 1)
                .unwrap_or(line.len());
            line.replace_range(start..end, "");
        }
        let line = line.replace("[image: ]", "").replace('_', " ");
        let line = strip_list_number(line.trim());
        words.extend(
            line.split_whitespace()
                .filter(|w| !is_bullet(w))
                .map(String::from),
        );
    }
    words
}

/// PDF text to words: a line that ends inside a compound ("school-", "monitored/")
/// is joined to the next, because that break is layout, not text.
fn pdf_words(text: &str) -> Vec<String> {
    let mut joined = String::new();
    for line in text.lines() {
        let line = line.trim();
        joined.push_str(line);
        let wrapped_compound = line.len() > 1
            && (line.ends_with('-') || line.ends_with('/'))
            && !line.ends_with(" -")
            && !line.ends_with(" /");
        if !wrapped_compound {
            joined.push('\n');
        }
    }
    joined
        .lines()
        .flat_map(|line| {
            strip_list_number(line.trim())
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|w| !is_bullet(w))
        .collect()
}

fn strip_list_number(line: &str) -> &str {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    match digits > 0 && line[digits..].starts_with(". ") {
        true => line[digits + 1..].trim_start(),
        false => line,
    }
}

fn is_bullet(word: &str) -> bool {
    matches!(word, "·" | "•")
}

/// Length of the longest common subsequence of two word lists.
fn lcs(a: &[String], b: &[String]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            current[j + 1] = match x == y {
                true => previous[j] + 1,
                false => previous[j + 1].max(current[j]),
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

fn check_seed(slug: &str) {
    let scratch = Scratch::with_shipped_schools();
    scratch
        .aup(&["generate", "--school", slug, "--date", "2025-09-01"])
        .success();
    let pdf = scratch.path(&format!("out/{slug}/2025-26/{slug}-staff-aup.pdf"));
    let seed = std::fs::read_to_string(repo().join(format!("tests/fixtures/seeds/{slug}.txt")))
        .expect("tests/fixtures/seeds in the repository");
    let seed = seed_words(&seed);
    let ours = pdf_words(&pdftotext(&pdf));
    let common = lcs(&seed, &ours) as f64;
    let recall = common / seed.len() as f64;
    let precision = common / ours.len() as f64;
    println!(
        "{slug}: {:.2}% of the seed's {} words in order; {:.2}% of the PDF's {} words are the seed's",
        recall * 100.0,
        seed.len(),
        precision * 100.0,
        ours.len()
    );
    assert!(
        recall >= 0.995,
        "{slug}: only {:.2}% of the seed's words",
        recall * 100.0
    );
    assert!(
        precision >= 0.95,
        "{slug}: only {:.2}% of the PDF's words are the seed's",
        precision * 100.0
    );
}

#[test]
fn pakeman_reproduces_its_seed() {
    check_seed("pakeman");
}

#[test]
fn st_margarets_reproduces_its_seed() {
    check_seed("st-margarets");
}

#[test]
fn kensington_reproduces_its_seed() {
    check_seed("kensington");
}

#[test]
fn normalisation_handles_artefacts() {
    let seed = seed_words("[bookmark: _x]3. I will · do\nSignature:\t\t___[image: ]___");
    assert_eq!(seed, ["I", "will", "do", "Signature:"]);
    let pdf = pdf_words(
        " 12.   Monitored/\n    captured and school-\n  monitored • legal /\n professional",
    );
    assert_eq!(
        pdf,
        [
            "Monitored/captured",
            "and",
            "school-monitored",
            "legal",
            "/",
            "professional"
        ]
    );
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(lcs(&words("a b c d"), &words("a x c d e")), 3);
}

/// The seed texts kept in the repository are the shared ones, byte for byte,
/// wherever `../shared/seeds` is beside the checkout (it is not on a fresh clone).
#[test]
fn the_seed_fixtures_are_the_shared_seeds() {
    let shared = repo().join("../shared/seeds");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let ours = std::fs::read(repo().join("tests/fixtures/seeds").join(name))
            .unwrap_or_else(|e| panic!("tests/fixtures/seeds/{}: {e}", name.to_string_lossy()));
        assert!(
            std::fs::read(&path).unwrap() == ours,
            "tests/fixtures/seeds/{} differs from {}",
            name.to_string_lossy(),
            path.display()
        );
    }
}
