//! Password hashing (argon2id) and password policy (NIST SP 800-63B, OWASP ASVS 6.2).
//!
//! Passwords are NFKC-normalised before anything else, so the same password typed on two
//! keyboards (composed or decomposed accents, full-width digits) hashes the same.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::UnicodeNormalization;

use crate::AuthnError;

/// Memory cost in KiB (OWASP Password Storage Cheat Sheet, argon2id option 2).
pub const MEMORY_KIB: u32 = 19_456;
/// Iterations.
pub const TIME_COST: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest password accepted, in characters after NFKC.
pub const MIN_CHARS: usize = 8;
/// Longest password accepted, in characters after NFKC.
pub const MAX_CHARS: usize = 256;
/// Context words shorter than this are ignored (else a one-letter name would forbid most
/// passwords).
const MIN_CONTEXT_CHARS: usize = 3;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    /// The password matches.
    pub valid: bool,
    /// The stored hash uses other parameters than the current ones: when `valid`, hash the
    /// password again with [`hash_password`] and store the new hash.
    pub needs_rehash: bool,
}

/// Why a new password is refused. Messages are meant to be shown to the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("the password is too short: use at least {min} characters")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More than [`MAX_CHARS`] characters.
    #[error("the password is too long: use at most {max} characters")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// Found in the list of common or breached passwords.
    #[error(
        "the password is too common: it appears in lists of passwords that attackers try first"
    )]
    Common,
    /// Equal to or containing a word tied to the account (user name, e-mail local part, ...).
    #[error("the password contains your user name or another word tied to your account")]
    ContainsContext,
}

/// The argon2id hasher with the current parameters.
fn hasher() -> Result<Argon2<'static>, AuthnError> {
    let params = Params::new(MEMORY_KIB, TIME_COST, PARALLELISM, None)
        .map_err(|e| AuthnError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// NFKC form of a password: what is hashed and what the policy checks.
pub fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// Hash a password with argon2id and a fresh random salt; returns a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password(password: &str) -> Result<String, AuthnError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()?
        .hash_password(normalise(password).as_bytes(), &salt)
        .map_err(|e| AuthnError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

/// Check a password against a stored PHC string. The stored string's own parameters are used,
/// so hashes made with older parameters still verify (and report `needs_rehash`).
pub fn verify_password(password: &str, phc: &str) -> Result<PasswordCheck, AuthnError> {
    let parsed = PasswordHash::new(phc).map_err(|_| AuthnError::MalformedHash)?;
    let needs_rehash = !has_current_params(&parsed);
    // The stored hash's algorithm, version and parameters drive verification; the output
    // comparison inside `password-hash` is constant-time.
    let valid = match hasher()?.verify_password(normalise(password).as_bytes(), &parsed) {
        Ok(()) => true,
        Err(password_hash::Error::Password) => false,
        Err(_) => return Err(AuthnError::MalformedHash),
    };
    Ok(PasswordCheck {
        valid,
        needs_rehash,
    })
}

fn has_current_params(parsed: &PasswordHash<'_>) -> bool {
    let Ok(params) = Params::try_from(parsed) else {
        return false;
    };
    parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && params.m_cost() == MEMORY_KIB
        && params.t_cost() == TIME_COST
        && params.p_cost() == PARALLELISM
        && parsed.hash.map(|h| h.len()) == Some(Params::DEFAULT_OUTPUT_LEN)
}

/// Spend the same time as [`verify_password`] on a real hash, and always fail. Call it when the
/// account does not exist (or has no password), so timing does not tell which case it was.
pub fn dummy_verify(password: &str) {
    if let Some(phc) = dummy_hash() {
        let _ = verify_password(password, phc);
    }
}

/// Make the hash [`dummy_verify`] checks against now (one argon2id hash), so the first unknown
/// user after start-up is not answered slower than the others. Call once at start-up.
pub fn prepare_dummy() {
    let _ = dummy_hash();
}

/// One hash of a random password with the current parameters, made once per process.
fn dummy_hash() -> Option<&'static String> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let (random, _) = crate::session::new_session_token();
            hash_password(&random).ok()
        })
        .as_ref()
}

/// The shipped list of common passwords, lower-cased (see the crate README for its source).
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Number of entries in the shipped common-password list.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// Check a new password against the policy: 8 to 256 characters (after NFKC, any characters,
/// no composition rules), not a common password, and not equal to or containing any of the
/// `context` words (user name, UPN, display name, service name). Comparisons ignore case. For a
/// context word with an `@`, its local part is checked too.
pub fn check_password_policy(password: &str, context: &[&str]) -> Result<(), PolicyError> {
    let normalised = normalise(password);
    let chars = normalised.chars().count();
    if chars < MIN_CHARS {
        return Err(PolicyError::TooShort { min: MIN_CHARS });
    }
    if chars > MAX_CHARS {
        return Err(PolicyError::TooLong { max: MAX_CHARS });
    }
    let lower = normalised.to_lowercase();
    if common_passwords().contains(lower.as_str()) {
        return Err(PolicyError::Common);
    }
    for word in context {
        let word = normalise(word).to_lowercase();
        let local = word.split('@').next().unwrap_or_default().to_string();
        for candidate in [word, local] {
            let candidate = candidate.trim();
            if candidate.chars().count() >= MIN_CONTEXT_CHARS && lower.contains(candidate) {
                return Err(PolicyError::ContainsContext);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let ok = verify_password("correct horse battery staple", &phc).unwrap();
        assert_eq!(
            ok,
            PasswordCheck {
                valid: true,
                needs_rehash: false
            }
        );
        let bad = verify_password("correct horse battery stapler", &phc).unwrap();
        assert!(!bad.valid);
    }

    #[test]
    fn salts_differ() {
        assert_ne!(
            hash_password("same").unwrap(),
            hash_password("same").unwrap()
        );
    }

    #[test]
    fn nfkc_makes_composed_and_decomposed_equal() {
        // "é" as one code point, then as "e" + combining acute accent.
        let phc = hash_password("caf\u{e9} au lait").unwrap();
        assert!(verify_password("cafe\u{301} au lait", &phc).unwrap().valid);
    }

    #[test]
    fn old_parameters_verify_and_ask_for_rehash() {
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let phc = weak
            .hash_password(b"hunter2hunter2", &salt)
            .unwrap()
            .to_string();
        let check = verify_password("hunter2hunter2", &phc).unwrap();
        assert!(check.valid && check.needs_rehash);
        // argon2i is another algorithm: still verified, rehash asked.
        let i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default());
        let phc = i
            .hash_password(b"hunter2hunter2", &salt)
            .unwrap()
            .to_string();
        let check = verify_password("hunter2hunter2", &phc).unwrap();
        assert!(check.valid && check.needs_rehash);
    }

    #[test]
    fn malformed_hash_is_an_error() {
        assert!(matches!(
            verify_password("x", "not a phc string"),
            Err(AuthnError::MalformedHash)
        ));
    }

    #[test]
    fn dummy_verify_runs() {
        prepare_dummy();
        dummy_verify("anything");
        dummy_verify("anything else");
    }

    #[test]
    fn list_is_large_enough() {
        assert!(
            common_password_count() >= 10_000,
            "{}",
            common_password_count()
        );
    }

    #[test]
    fn common_passwords_are_refused() {
        for p in [
            "password1",
            "qwerty123",
            "Password1",
            "QWERTY123",
            "iloveyou",
            "12345678",
        ] {
            assert_eq!(
                check_password_policy(p, &[]),
                Err(PolicyError::Common),
                "{p}"
            );
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(
            check_password_policy("short", &[]),
            Err(PolicyError::TooShort { min: 8 })
        );
        // Seven characters of three bytes each: still too short.
        assert_eq!(
            check_password_policy("日本語日本語日", &[]),
            Err(PolicyError::TooShort { min: 8 })
        );
        assert_eq!(check_password_policy("日本語日本語日本", &[]), Ok(()));
        assert_eq!(check_password_policy(&"x7".repeat(128), &[]), Ok(()));
        assert_eq!(
            check_password_policy(&"x7".repeat(129), &[]),
            Err(PolicyError::TooLong { max: 256 })
        );
    }

    #[test]
    fn no_composition_rules() {
        assert_eq!(
            check_password_policy("purple monkey dishwasher", &[]),
            Ok(())
        );
        assert_eq!(
            check_password_policy("🦀🦀 crabs all the way 🦀🦀", &[]),
            Ok(())
        );
    }

    #[test]
    fn context_words_are_refused() {
        let ctx = ["alice.martin@example.com", "Alice Martin"];
        assert_eq!(
            check_password_policy("alice.martin2026", &ctx),
            Err(PolicyError::ContainsContext)
        );
        assert_eq!(
            check_password_policy("my name is ALICE MARTIN", &ctx),
            Err(PolicyError::ContainsContext)
        );
        assert_eq!(check_password_policy("river stone lantern", &ctx), Ok(()));
        // Tiny context words are ignored.
        assert_eq!(
            check_password_policy("river stone lantern", &["an"]),
            Ok(())
        );
    }

    #[test]
    fn messages_are_plain_words() {
        assert_eq!(
            PolicyError::TooShort { min: 8 }.to_string(),
            "the password is too short: use at least 8 characters"
        );
    }
}
