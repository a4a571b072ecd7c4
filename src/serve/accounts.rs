//! The office's accounts: three roles, and passwords kept only as Argon2id
//! hashes (the `argon2` crate, RustCrypto's: the PHC string carries its own salt
//! and parameters, so stronger settings later still verify older hashes).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;

/// What an account may do. Each role can do everything the ones after it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees everything and changes nothing.
    Viewer,
    /// Files returns: uploads, assigns and sets aside quarantined pages.
    Office,
    /// The headteacher (or whoever runs the AUP): also issues forms.
    Head,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Office => "office",
            Self::Head => "head",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "viewer" => Some(Self::Viewer),
            "office" => Some(Self::Office),
            "head" => Some(Self::Head),
            _ => None,
        }
    }

    /// May upload, assign and set aside.
    pub fn files_returns(self) -> bool {
        self >= Self::Office
    }

    /// May generate and download forms for printing.
    pub fn issues_forms(self) -> bool {
        self == Self::Head
    }
}

/// Shortest password `aup user add` takes. Long passphrases beat complexity
/// rules (NCSC's advice for organisations).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hashes a password with Argon2id at the crate's defaults (19 MiB, 2 passes:
/// OWASP's minimum), with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches a stored hash; a malformed hash matches nothing.
pub fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so a wrong name
/// takes as long as a wrong password and does not reveal which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no such user: a decoy").unwrap_or_default())
}

/// Account names are what people type at the login: short, no spaces at the
/// ends, nothing that could be mistaken in the audit log.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "`{name}` is not a usable account name: use 1 to 64 letters, digits, '.', '-', '_' or '@'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_and_checks_only_its_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("correct horse battery", "not a hash"));
        // A fresh salt each time: two hashes of one password differ.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn roles_nest() {
        assert!(Role::Head.files_returns() && Role::Head.issues_forms());
        assert!(Role::Office.files_returns() && !Role::Office.issues_forms());
        assert!(!Role::Viewer.files_returns() && !Role::Viewer.issues_forms());
        for role in [Role::Viewer, Role::Office, Role::Head] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn account_names_are_plain() {
        assert!(check_name("office").is_ok());
        assert!(check_name("j.fraser@school.org").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("<script>").is_err());
        assert!(check_name("two words").is_err());
    }
}
