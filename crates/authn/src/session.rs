//! Opaque session tokens and their timeouts (OWASP ASVS V3).
//!
//! A token is 256 random bits in base64url; only its SHA-256 is stored, so a leaked sessions
//! table does not yield usable cookies. A slow hash is unnecessary at this entropy.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use sha2::{Digest, Sha256};

/// Random bytes in a session token.
pub const TOKEN_BYTES: usize = 32;

/// A new session token and the hash to store. Issue a new one at every (re)authentication.
pub fn new_session_token() -> (String, String) {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let token = BASE64URL_NOPAD.encode(&bytes);
    let hash = hash_session_token(&token);
    (token, hash)
}

/// A new bearer secret whose `prefix` says what it is for (`tp_` for API tokens), with the
/// hash to store: the same 256 random bits as a session token.
pub fn new_prefixed_token(prefix: &str) -> (String, String) {
    let token = format!("{prefix}{}", new_session_token().0);
    let hash = hash_session_token(&token);
    (token, hash)
}

/// The stored form of a token: lower-case hex SHA-256 of its text.
pub fn hash_session_token(token: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

/// Why a session is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionExpired {
    /// No activity for longer than the idle timeout.
    #[error("the session ended after a period of inactivity")]
    Idle,
    /// Older than the absolute timeout, active or not.
    #[error("the session reached its maximum lifetime")]
    Absolute,
}

/// Session lifetime limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Longest gap between two requests.
    pub idle_timeout_secs: i64,
    /// Longest life of a session from sign-in.
    pub absolute_timeout_secs: i64,
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 12 hours absolute.
    fn default() -> Self {
        Self {
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 12 * 60 * 60,
        }
    }
}

impl SessionPolicy {
    /// Whether a session created at `created_at_ms` and last used at `last_seen_ms` (Unix
    /// milliseconds) is still valid at `now_ms`. A session is valid strictly before each limit.
    /// The absolute limit is reported first when both are passed.
    pub fn check(
        &self,
        created_at_ms: i64,
        last_seen_ms: i64,
        now_ms: i64,
    ) -> Result<(), SessionExpired> {
        if now_ms.saturating_sub(created_at_ms) >= self.absolute_timeout_secs.saturating_mul(1000) {
            return Err(SessionExpired::Absolute);
        }
        if now_ms.saturating_sub(last_seen_ms) >= self.idle_timeout_secs.saturating_mul(1000) {
            return Err(SessionExpired::Idle);
        }
        Ok(())
    }

    /// When the session ends if it stays idle from `last_seen_ms` (for cookie `Max-Age` and UI).
    pub fn expires_at_ms(&self, created_at_ms: i64, last_seen_ms: i64) -> i64 {
        let idle = last_seen_ms.saturating_add(self.idle_timeout_secs.saturating_mul(1000));
        let absolute =
            created_at_ms.saturating_add(self.absolute_timeout_secs.saturating_mul(1000));
        idle.min(absolute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_hash_matches() {
        let (token, hash) = new_session_token();
        assert_eq!(BASE64URL_NOPAD.decode(token.as_bytes()).unwrap().len(), 32);
        assert_eq!(token.len(), 43);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash_session_token(&token), hash);
        let (other, other_hash) = new_session_token();
        assert_ne!(token, other);
        assert_ne!(hash, other_hash);
    }

    #[test]
    fn known_hash() {
        assert_eq!(
            hash_session_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn idle_and_absolute_timeouts() {
        let p = SessionPolicy::default();
        let min = 60_000;
        assert_eq!(p.check(0, 0, 29 * min), Ok(()));
        assert_eq!(p.check(0, 0, 30 * min), Err(SessionExpired::Idle));
        // Kept alive by activity, until the absolute limit.
        assert_eq!(p.check(0, 719 * min, 720 * min - 1), Ok(()));
        assert_eq!(
            p.check(0, 719 * min, 720 * min),
            Err(SessionExpired::Absolute)
        );
        assert_eq!(p.check(0, 0, 10_000 * min), Err(SessionExpired::Absolute));
        assert_eq!(p.expires_at_ms(0, 0), 30 * min);
        assert_eq!(p.expires_at_ms(0, 700 * min), 720 * min);
    }

    #[test]
    fn custom_policy() {
        let p = SessionPolicy {
            idle_timeout_secs: 5,
            absolute_timeout_secs: 60,
        };
        assert_eq!(p.check(1_000, 1_000, 5_999), Ok(()));
        assert_eq!(p.check(1_000, 1_000, 6_000), Err(SessionExpired::Idle));
    }
}
