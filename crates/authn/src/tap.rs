//! Temporary access passes: a code an administrator hands a person who has no way to sign in
//! yet (a new starter, a lost phone), valid for a while and optionally once, with which they
//! sign in and register their own methods.
//!
//! A pass is sixteen symbols of the recovery-code alphabet (80 random bits), written
//! `xxxx-xxxx-xxxx-xxxx`, hashed like a recovery code; the stored record holds the hash with
//! the pass's window and whether it is single-use.

use crate::recovery::{hash_recovery_code, random_symbols, verify_recovery_code};

/// Symbols in a pass.
const PASS_SYMBOLS: usize = 16;
const SCHEME: &str = "tap1";

/// When and how often a pass may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassTerms {
    /// First usable instant (Unix milliseconds).
    pub start_ms: i64,
    /// Usable before this instant (Unix milliseconds).
    pub end_ms: i64,
    /// Spent by its first use.
    pub usable_once: bool,
}

impl PassTerms {
    /// Whether the pass may be used at `now_ms`.
    pub fn usable_at(&self, now_ms: i64) -> bool {
        self.start_ms <= now_ms && now_ms < self.end_ms
    }
}

/// A fresh pass. Show it once; store only [`seal_pass`]'s record.
pub fn new_pass() -> String {
    random_symbols(PASS_SYMBOLS, 4)
}

/// The stored record of a pass: its terms and a salted hash of it.
pub fn seal_pass(pass: &str, terms: PassTerms) -> String {
    format!(
        "{SCHEME}|{}|{}|{}|{}",
        terms.start_ms,
        terms.end_ms,
        u8::from(terms.usable_once),
        hash_recovery_code(pass)
    )
}

/// The terms of a stored record; `None` when it is malformed.
pub fn pass_terms(record: &str) -> Option<PassTerms> {
    let mut parts = record.split('|');
    let (Some(SCHEME), Some(start), Some(end), Some(once), Some(_), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(PassTerms {
        start_ms: start.parse().ok()?,
        end_ms: end.parse().ok()?,
        usable_once: match once {
            "0" => false,
            "1" => true,
            _ => return None,
        },
    })
}

/// The terms of `record` when `pass` matches it (constant-time on the digest), whatever the
/// time; the caller checks [`PassTerms::usable_at`].
pub fn verify_pass(pass: &str, record: &str) -> Option<PassTerms> {
    let terms = pass_terms(record)?;
    let hash = record.rsplit('|').next()?;
    // Passwords are longer or shorter; only a pass-shaped input is worth hashing.
    let symbols = pass
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .count();
    (symbols == PASS_SYMBOLS && verify_recovery_code(pass, hash)).then_some(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERMS: PassTerms = PassTerms {
        start_ms: 1_000,
        end_ms: 61_000,
        usable_once: true,
    };

    #[test]
    fn a_pass_matches_its_record_only() {
        let pass = new_pass();
        assert_eq!(pass.len(), 19, "{pass}");
        let record = seal_pass(&pass, TERMS);
        assert!(!record.contains(&pass));
        assert_eq!(verify_pass(&pass, &record), Some(TERMS));
        // Typed in capitals and without dashes, as people do.
        assert_eq!(
            verify_pass(&pass.replace('-', "").to_uppercase(), &record),
            Some(TERMS)
        );
        assert_eq!(verify_pass(&new_pass(), &record), None);
        assert_eq!(verify_pass("a long and unusual passphrase", &record), None);
    }

    #[test]
    fn a_malformed_record_matches_nothing() {
        let pass = new_pass();
        let record = seal_pass(&pass, TERMS);
        for broken in [
            record.replacen("tap1", "tap2", 1),
            record.replacen("|1|", "|2|", 1),
            format!("{record}|extra"),
            "tap1|x|61000|1|v1$00$00".to_string(),
        ] {
            assert_eq!(verify_pass(&pass, &broken), None, "{broken}");
        }
    }

    #[test]
    fn a_pass_is_usable_only_inside_its_window() {
        assert!(!TERMS.usable_at(999));
        assert!(TERMS.usable_at(1_000));
        assert!(TERMS.usable_at(60_999));
        assert!(!TERMS.usable_at(61_000));
    }
}
