//! Who is signed in: sessions held in memory (a restart signs everyone out,
//! which is the safe way round), each with its CSRF token; and the brake on
//! guessing passwords.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::accounts::Role;

/// The session cookie's name.
pub const COOKIE: &str = "aup_session";
/// The cookie the login form's CSRF token is checked against, before there is
/// a session.
pub const LOGIN_COOKIE: &str = "aup_login";
/// A session not used for this long ends.
pub const IDLE: Duration = Duration::from_secs(2 * 3600);
/// A session ends this long after sign-in however busy: a school-day's length.
pub const LIFETIME: Duration = Duration::from_secs(10 * 3600);
/// Failed sign-ins allowed per account name, and per address, in [`WINDOW`].
pub const FAILURES_PER_NAME: usize = 5;
pub const FAILURES_PER_ADDRESS: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The schools the account may see; empty: every school.
    pub schools: Vec<String>,
    /// Sent back with every state-changing request (form field or header).
    pub csrf: String,
    started: Instant,
    last_used: Instant,
}

#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// 32 random bytes, hex: a session id or CSRF token nobody can guess.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    crate::form::id::hex(&bytes)
}

impl Sessions {
    /// Starts a session; returns its cookie value.
    pub fn start(&self, user: &str, role: Role, schools: Vec<String>) -> String {
        let id = token();
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, s| alive(s, now));
        live.insert(
            id.clone(),
            Session {
                user: user.to_owned(),
                role,
                schools,
                csrf: token(),
                started: now,
                last_used: now,
            },
        );
        id
    }

    /// The session behind a cookie value, if it is live; using it keeps it so.
    pub fn find(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let session = live.get_mut(id)?;
        if !alive(session, now) {
            live.remove(id);
            return None;
        }
        session.last_used = now;
        Some(session.clone())
    }

    pub fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Ends every session of a user (their account was removed).
    pub fn end_all_of(&self, user: &str) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.user != user);
    }

    /// `Some(wait)` when sign-ins for this name or from this address are
    /// refused for now, after too many failures.
    pub fn refused_for(&self, name: &str, address: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < WINDOW);
            !times.is_empty()
        });
        let wait = |key: &str, allowed: usize| {
            let times = failures.get(key)?;
            (times.len() >= allowed).then(|| WINDOW - now.duration_since(times[0]))
        };
        wait(&name_key(name), FAILURES_PER_NAME)
            .or_else(|| address_key(address).and_then(|key| wait(&key, FAILURES_PER_ADDRESS)))
    }

    pub fn failed(&self, name: &str, address: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in [Some(name_key(name)), address_key(address)]
            .into_iter()
            .flatten()
        {
            failures.entry(key).or_default().push(now);
        }
    }

    /// A right password: the attempt counted before checking it is taken back.
    pub fn succeeded(&self, name: &str, address: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&name_key(name));
        if let Some(times) = address_key(address).and_then(|key| failures.get_mut(&key)) {
            times.pop();
        }
    }
}

fn alive(session: &Session, now: Instant) -> bool {
    now.duration_since(session.last_used) < IDLE && now.duration_since(session.started) < LIFETIME
}

fn name_key(name: &str) -> String {
    format!("name:{}", name.to_lowercase())
}

/// Loopback is every client's address behind a reverse proxy on this machine:
/// counting it would let twenty wrong guesses lock everybody out.
fn address_key(address: IpAddr) -> Option<String> {
    (!address.is_loopback()).then(|| format!("address:{address}"))
}

/// A cookie's value from a `Cookie:` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_name_but_not_another() {
        let sessions = Sessions::default();
        let here: IpAddr = "192.168.1.20".parse().unwrap();
        for _ in 0..FAILURES_PER_NAME {
            assert!(sessions.refused_for("office", here).is_none());
            sessions.failed("Office", here);
        }
        let wait = sessions.refused_for("office", here).expect("refused");
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(60));
        assert!(sessions.refused_for("head", here).is_none());
    }

    #[test]
    fn sessions_are_found_by_their_id_only() {
        let sessions = Sessions::default();
        let id = sessions.start("office", Role::Office, Vec::new());
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.find(&id).unwrap().user, "office");
        assert!(sessions.find("0").is_none());
        sessions.end(&id);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn cookies_and_tokens() {
        assert_eq!(cookie("a=1; aup_session=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie("aup_session_old=1", COOKIE), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn twenty_failures_from_one_address_stop_it_but_loopback_is_not_counted() {
        let sessions = Sessions::default();
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        for n in 0..FAILURES_PER_ADDRESS {
            sessions.failed(&format!("name{n}"), lan);
            sessions.failed(&format!("name{n}"), proxy);
        }
        assert!(sessions.refused_for("someone", lan).is_some());
        assert!(sessions.refused_for("someone", proxy).is_none());
    }
}
