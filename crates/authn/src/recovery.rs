//! Single-use recovery codes.
//!
//! Ten codes of ten characters from a 32-symbol lower-case alphabet (Crockford's base32: no
//! `i`, `l`, `o`, `u`), so each code carries 50 random bits and reads as `xxxxx-xxxxx`. With
//! that much entropy a fast salted SHA-256 is enough (there is nothing to brute-force from a
//! dictionary); comparisons are constant-time. The caller deletes a code's hash once used.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use data_encoding::HEXLOWER;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Codes handed out at a time.
pub const CODE_COUNT: usize = 10;
/// Symbols per code (5 bits each).
pub const CODE_CHARS: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const SCHEME: &str = "v1";

/// Ten fresh recovery codes, formatted `xxxxx-xxxxx`. Show them once; store only their hashes.
pub fn generate_recovery_codes() -> Vec<String> {
    (0..CODE_COUNT).map(|_| generate_code()).collect()
}

fn generate_code() -> String {
    random_symbols(CODE_CHARS, CODE_CHARS / 2)
}

/// `count` random symbols of the alphabet (5 bits each), a dash after every `group`.
pub(crate) fn random_symbols(count: usize, group: usize) -> String {
    let mut code = String::with_capacity(count + count / group.max(1));
    let mut bits = 0_u64;
    for i in 0..count {
        // 64 random bits give twelve 5-bit symbols.
        if i % 12 == 0 {
            bits = OsRng.next_u64();
        }
        if i > 0 && group > 0 && i % group == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[(bits & 0x1f) as usize]));
        bits >>= 5;
    }
    code
}

/// The canonical form that is hashed: lower case, no spaces or dashes, and the letters people
/// confuse with digits read as those digits (`o` as `0`, `i` and `l` as `1`).
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect()
}

fn digest(salt: &[u8], normalised: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(normalised.as_bytes());
    h.finalize().into()
}

/// Hash a code for storage: `v1$<salt hex>$<sha256(salt || code) hex>`.
pub fn hash_recovery_code(code: &str) -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let d = digest(&salt, &normalise_recovery_code(code));
    format!(
        "{SCHEME}${}${}",
        HEXLOWER.encode(&salt),
        HEXLOWER.encode(&d)
    )
}

/// Whether `code` matches a stored hash (constant-time on the digest). A malformed stored hash
/// never matches.
pub fn verify_recovery_code(code: &str, hash: &str) -> bool {
    let mut parts = hash.split('$');
    let (Some(SCHEME), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(salt), Ok(expected)) = (
        HEXLOWER.decode(salt.as_bytes()),
        HEXLOWER.decode(expected.as_bytes()),
    ) else {
        return false;
    };
    let actual = digest(&salt, &normalise_recovery_code(code));
    bool::from(actual.as_slice().ct_eq(expected.as_slice()))
}

/// Find which of the stored hashes a code matches (its index, for the caller to delete). Every
/// hash is checked, so the time does not depend on the position of the match.
pub fn find_recovery_code(code: &str, hashes: &[String]) -> Option<usize> {
    let mut found = None;
    for (i, h) in hashes.iter().enumerate() {
        if verify_recovery_code(code, h) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ten_distinct_codes_in_the_expected_shape() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11, "{c}");
            assert_eq!(&c[5..6], "-");
            assert!(c
                .chars()
                .filter(|&ch| ch != '-')
                .all(|ch| ALPHABET.contains(&(ch as u8))));
            assert!(!c.contains(['i', 'l', 'o', 'u']));
        }
    }

    #[test]
    fn entropy_is_fifty_bits() {
        // 10 symbols from 32 = 2^5 each.
        assert_eq!(ALPHABET.len(), 32);
        assert_eq!(ALPHABET.iter().collect::<HashSet<_>>().len(), 32);
        const { assert!(CODE_CHARS * 5 >= 50) };
    }

    #[test]
    fn verify_normalises_case_spaces_dashes_and_lookalikes() {
        let code = "0a1b2-c3d4e";
        let h = hash_recovery_code(code);
        assert!(verify_recovery_code(code, &h));
        assert!(verify_recovery_code("0A1B2C3D4E", &h));
        assert!(verify_recovery_code(" 0a1b2 c3d4e ", &h));
        assert!(verify_recovery_code("oaIb2-c3d4e", &h));
        assert!(!verify_recovery_code("0a1b2-c3d4f", &h));
        assert!(!verify_recovery_code("", &h));
    }

    #[test]
    fn hashes_are_salted() {
        assert_ne!(
            hash_recovery_code("abcde-fghjk"),
            hash_recovery_code("abcde-fghjk")
        );
    }

    #[test]
    fn malformed_hashes_never_match() {
        for h in ["", "v1$", "v1$zz$zz", "v2$00$00", "v1$00$00$00"] {
            assert!(!verify_recovery_code("abcde-fghjk", h), "{h}");
        }
    }

    #[test]
    fn find_returns_the_index_of_the_used_code() {
        let codes = generate_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| hash_recovery_code(c)).collect();
        assert_eq!(find_recovery_code(&codes[7], &hashes), Some(7));
        let mut remaining = hashes.clone();
        remaining.remove(7);
        assert_eq!(find_recovery_code(&codes[7], &remaining), None);
    }
}
