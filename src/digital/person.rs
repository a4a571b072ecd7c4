//! Is a name the person the form was issued to? A typed name, or the name on a
//! signing certificate, is compared with the roster's. People type their names
//! in many ways, so case, accents, spacing, punctuation, titles, middle names,
//! a given name cut to its initial and the order of given and family names are
//! all forgiven; a different given or family name is not.

use unicode_normalization::UnicodeNormalization;

/// Titles people put before their names, which say nothing about who they are.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "revd", "reverend", "fr", "father",
    "sister", "sir", "dame",
];

/// True when `given` names the person the roster calls `issued`: the family name
/// (the roster name's last word) is there, and so is the given name (its first
/// word) or that name's initial.
pub fn same_person(issued: &str, given: &str) -> bool {
    let issued = words(issued);
    let given = words(given);
    let (Some(first), Some(family)) = (issued.first(), issued.last()) else {
        return false;
    };
    let has_family = given.iter().any(|w| w == family);
    if issued.len() == 1 {
        return has_family;
    }
    let initial = first.chars().next().map(String::from);
    has_family
        && given
            .iter()
            .any(|w| w == first || Some(w) == initial.as_ref())
}

/// True when one of a certificate's e-mail addresses is the roster's for the
/// person (e-mail addresses are compared without regard to case).
pub fn same_email(roster: Option<&str>, certificate: &[String]) -> bool {
    roster.is_some_and(|roster| {
        let roster = roster.trim();
        !roster.is_empty()
            && certificate
                .iter()
                .any(|email| email.trim().eq_ignore_ascii_case(roster))
    })
}

/// A name as comparable words: letters without accents, lowercased, apostrophes
/// dropped (O'Brien, O’Brien, OBrien), split at spaces, hyphens, commas and dots,
/// titles removed.
fn words(name: &str) -> Vec<String> {
    let plain: String = name
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .filter(|c| !matches!(c, '\'' | '’' | '‘' | '`'))
        .flat_map(char::to_lowercase)
        .collect();
    plain
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !TITLES.contains(w))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_written_differently_is_the_person() {
        for typed in [
            "Amelia Hart",
            "amelia hart",
            "  AMELIA   HART ",
            "Hart, Amelia",
            "Hart Amelia",
            "Mrs Amelia Hart",
            "Amelia J. Hart",
            "A. Hart",
            "Dr. Amelia Jane Hart",
        ] {
            assert!(same_person("Amelia Hart", typed), "{typed}");
        }
        assert!(same_person("Siân O’Brien", "Sian O'Brien"));
        assert!(same_person("Siân O’Brien", "sian obrien"));
        assert!(same_person("Tomasz Wiśniewski", "Tomasz Wisniewski"));
        assert!(same_person("Grace Adeyemi-Cole", "Grace Adeyemi Cole"));
        assert!(same_person("Revd Peter Lyle", "Peter Lyle"));
    }

    #[test]
    fn another_name_is_not_the_person() {
        for typed in [
            "Daniel Okoro",
            "Amelia Okoro",
            "Daniel Hart",
            "Hart",
            "Amelia",
            "B. Hart",
            "",
            "-",
        ] {
            assert!(!same_person("Amelia Hart", typed), "{typed}");
        }
    }
}
