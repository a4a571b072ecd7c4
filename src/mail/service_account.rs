//! Google Workspace's service account with domain-wide delegation: no person
//! signs in; the JSON key Google gives for the service account signs a
//! short-lived assertion (RFC 7523, RS256) naming the mailbox to act as, and
//! the token endpoint trades it for an access token. Nothing to refresh or
//! rotate, so nothing to lose after 90 days: the key stays valid until an
//! administrator deletes it.

use std::path::Path;

use base64ct::{Base64UrlUnpadded, Encoding};
use rsa::pkcs8::DecodePrivateKey;
use serde::Deserialize;

/// The grant type the assertion is traded under.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is good for: Google takes at most an hour.
const LIFETIME_SECONDS: i64 = 3600;

/// The fields of Google's JSON key aup uses.
#[derive(Deserialize)]
struct Key {
    client_email: String,
    private_key: String,
}

/// What the assertion asks for.
pub struct Asked<'a> {
    /// The service account's JSON key file (a secret: the owner's only).
    pub key_file: &'a Path,
    /// The mailbox to act as, which domain-wide delegation allows.
    pub subject: &'a str,
    pub scope: &'a str,
    /// The token endpoint, as the assertion's audience.
    pub audience: &'a str,
}

/// A signed assertion, issued at `now` (seconds since 1970).
pub fn assertion(asked: &Asked<'_>, now: i64) -> Result<String, String> {
    let file = asked.key_file.display();
    let text = super::settings::secret_file(asked.key_file)?;
    let key: Key = serde_json::from_str(&text).map_err(|e| {
        format!("{file}: not a service account's JSON key from Google Cloud (client_email and private_key): {e}")
    })?;
    let private = rsa::PrivateKey::from_pkcs8_pem(&key.private_key)
        .map_err(|e| format!("{file}: its private_key is not an RSA key in PEM: {e}"))?;
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": key.client_email,
        "sub": asked.subject,
        "scope": asked.scope,
        "aud": asked.audience,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
    });
    let signed = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(header.to_string().as_bytes()),
        Base64UrlUnpadded::encode_string(claims.to_string().as_bytes())
    );
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private);
    let signature = rsa::signature::Signer::try_sign(&signer, signed.as_bytes())
        .map_err(|e| format!("{file}: cannot sign with its key: {e}"))?;
    let signature = rsa::signature::SignatureEncoding::to_vec(&signature);
    Ok(format!(
        "{signed}.{}",
        Base64UrlUnpadded::encode_string(&signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(key_file: &Path) -> Asked<'_> {
        Asked {
            key_file,
            subject: "office@pakeman.example",
            scope: "https://mail.google.com/",
            audience: "https://oauth2.googleapis.com/token",
        }
    }

    // The signature itself is checked by an independent verifier (Python's
    // cryptography, in the token endpoint of tests/mail.rs).
    #[test]
    fn a_key_file_that_is_not_googles_json_key_is_named_and_said() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key.json");
        std::fs::write(
            &key_file,
            r#"{"type": "authorized_user", "refresh_token": "x"}"#,
        )
        .unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let said = assertion(&asked(&key_file), 0).unwrap_err();
        assert!(
            said.starts_with(&format!("{}: not a service account", key_file.display())),
            "{said}"
        );
        let json = r#"{"client_email": "a@b.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        std::fs::write(&key_file, json).unwrap();
        let said = assertion(&asked(&key_file), 0).unwrap_err();
        assert!(
            said.contains("its private_key is not an RSA key in PEM"),
            "{said}"
        );
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let said = assertion(&asked(&key_file), 0).unwrap_err();
        assert!(said.contains("others may read it (mode 644)"), "{said}");
    }
}
