//! The tokens of personal signing links. A token is HMAC-SHA256 of the link's
//! random nonce under a key kept beside the archive (`<archive>/seals/link.key`,
//! 32 random bytes, readable by its owner only): 256 bits nobody can guess, which
//! the index never holds (it keeps the nonce and the token's SHA-256), and which
//! `aup links` can list again for a mail merge without storing them. The same
//! key makes each link's CSRF token for the signing form.

use std::path::{Path, PathBuf};

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::form::id::hex;

/// The key links are made with.
pub struct LinkKey([u8; 32]);

/// A token's length in characters: 32 bytes, base64url without padding.
pub const TOKEN_CHARS: usize = 43;

fn key_path(archive: &Path) -> PathBuf {
    archive.join("seals").join("link.key")
}

impl LinkKey {
    /// The archive's link key, made on first use.
    pub fn load_or_create(archive: &Path) -> Result<Self, String> {
        let path = key_path(archive);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| format!("{} is not a link key (32 bytes)", path.display()))?;
                Ok(Self(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| e.to_string())?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
                }
                match super::seal::write_private(&path, &key) {
                    Ok(()) => Ok(Self(key)),
                    // Made by another process meanwhile: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(archive)
                    }
                    Err(e) => Err(format!("cannot write {}: {e}", path.display())),
                }
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// The key when it exists; a server never makes one (no link can exist).
    pub fn load(archive: &Path) -> Result<Option<Self>, String> {
        match key_path(archive).exists() {
            true => Self::load_or_create(archive).map(Some),
            false => Ok(None),
        }
    }

    fn mac(&self, purpose: &str, text: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The token of the link with `nonce`.
    pub fn token(&self, nonce: &str) -> String {
        Base64UrlUnpadded::encode_string(&self.mac("link", nonce))
    }

    /// The CSRF token of the signing form of the link with `nonce`.
    pub fn csrf(&self, nonce: &str) -> String {
        Base64UrlUnpadded::encode_string(&self.mac("csrf", nonce))
    }
}

/// A new random nonce.
pub fn new_nonce() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(hex(&bytes))
}

/// What the index keeps of a token.
pub fn token_sha256(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `text` looks like a token at all (before any lookup).
pub fn looks_like_token(text: &str) -> bool {
    text.len() == TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The link a person opens: `<public url>/s/<token>`.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{}/s/{token}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_url_safe() {
        let key = LinkKey([7; 32]);
        let a = key.token("n1");
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(looks_like_token(&a));
        assert_ne!(a, key.token("n2"));
        assert_ne!(a, key.csrf("n1"));
        assert_ne!(a, LinkKey([8; 32]).token("n1"));
        assert!(!looks_like_token("../../etc/passwd"));
        assert_eq!(
            url("https://aup.example/", &a),
            format!("https://aup.example/s/{a}")
        );
    }
}
