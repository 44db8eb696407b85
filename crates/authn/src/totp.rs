//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): SHA-1, 6 digits, 30 s steps.
//!
//! HOTP is a dozen lines over `hmac` + `sha1`, written here rather than taken from `totp-rs`
//! because the verifier must report which time step matched (the caller stores it to refuse
//! replays), and every candidate is compared in constant time.

use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per time step.
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps of clock skew accepted on either side of the current one.
pub const SKEW_STEPS: u64 = 1;
/// Bytes in a generated secret (160 bits, the HMAC-SHA-1 block output size RFC 4226 advises).
pub const SECRET_BYTES: usize = 20;
/// Shortest secret accepted from outside (RFC 4226: at least 128 bits).
pub const MIN_SECRET_BYTES: usize = 16;

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a TOTP code or secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// Not six digits.
    #[error("the code must be 6 digits")]
    Malformed,
    /// Six digits, but not the code for now (± one step).
    #[error("the code is not valid")]
    Invalid,
    /// The code was right but its time step was already used: a code works once only.
    #[error("the code was already used")]
    Replayed,
    /// A secret that is not base32, or shorter than 128 bits.
    #[error("the TOTP secret is malformed or too short")]
    BadSecret,
    /// The URI is too long to fit in a QR code.
    #[error("the URI is too long for a QR code")]
    QrTooLong,
}

/// A shared TOTP secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TotpSecret({} bytes, redacted)", self.0.len())
    }
}

impl TotpSecret {
    /// A new random 160-bit secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret from raw bytes (at least 128 bits).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(TotpError::BadSecret);
        }
        Ok(Self(bytes))
    }

    /// Read a base32 secret as stored or typed: case, spaces, dashes and `=` padding ignored.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| TotpError::BadSecret)?;
        Self::from_bytes(bytes)
    }

    /// Upper-case base32 without padding, as authenticator apps expect.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The raw secret bytes (to encrypt and store).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `otpauth://totp/...` URI for authenticator apps (Google Authenticator key URI format):
    /// label `issuer:account`, with `secret`, `issuer`, `algorithm`, `digits` and `period`.
    ///
    /// The issuer appears twice, in the label and as a parameter, and apps that compare the two
    /// refuse the URI when they read differently. Some readers (pyotp among them) percent-decode
    /// the whole URI before splitting it, so a decoded `&` or `#` would cut the parameter short
    /// while the label kept it whole. Both places therefore carry [`authenticator_issuer`] and
    /// [`authenticator_account`]: text that reads the same whether decoded once or twice.
    pub fn otpauth_uri(&self, issuer: &str, account_name: &str) -> String {
        let issuer = utf8_percent_encode(&authenticator_issuer(issuer), URI_COMPONENT).to_string();
        let account =
            utf8_percent_encode(&authenticator_account(account_name), URI_COMPONENT).to_string();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.to_base32()
        )
    }

    /// The 6-digit code for the step containing `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        format_code(hotp(&self.0, unix_secs / STEP_SECS, DIGITS), DIGITS)
    }
}

/// The issuer as authenticator apps will show it: the key URI format forbids a colon in it, and
/// `&`, `+`, `%`, `#`, `?` and `=` change meaning when a reader decodes the URI before parsing its
/// query, so `&` becomes "and" and the others a space. Whitespace runs are collapsed.
pub fn authenticator_issuer(issuer: &str) -> String {
    let replaced: String = issuer
        .chars()
        .map(|c| match c {
            '&' => " and ".to_string(),
            ':' | '+' | '%' | '#' | '?' | '=' => " ".to_string(),
            c if c.is_control() => " ".to_string(),
            c => c.to_string(),
        })
        .collect();
    let collapsed = replaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        "Trustplane".to_string()
    } else {
        collapsed
    }
}

/// The account name as authenticator apps will show it. It sits only in the label's path, where
/// `&`, `+` and `=` are safe, but `%`, `#` and `?` still change meaning under a second decoding
/// and a colon would split the label again; those become `_`.
pub fn authenticator_account(account: &str) -> String {
    account
        .chars()
        .map(|c| match c {
            ':' | '%' | '#' | '?' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

/// RFC 4226 HOTP value with `digits` digits (6 here, 8 for the RFC 6238 test vectors).
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation: the low nibble of the last byte picks 4 bytes (RFC 4226 §5.3).
    let offset = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    word % 10u32.pow(digits)
}

fn format_code(value: u32, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// Check `code` against the step containing `now_unix_secs` and one step either side.
///
/// Returns the matched step, which the caller stores as `last_used_step`: a code whose step is
/// at or before `last_used_step` is refused as [`TotpError::Replayed`], so each code (and any
/// older one) works once only. Spaces in the code are ignored.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now_unix_secs: u64,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let now_step = now_unix_secs / STEP_SECS;
    let first = now_step.saturating_sub(SKEW_STEPS);
    let last = now_step.saturating_add(SKEW_STEPS);
    // Compare every candidate, without stopping early, and keep the latest match.
    let mut matched: Option<u64> = None;
    for step in first..=last {
        let expected = format_code(hotp(&secret.0, step, DIGITS), DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            matched = Some(step);
        }
    }
    let step = matched.ok_or(TotpError::Invalid)?;
    if last_used_step.is_some_and(|used| step <= used) {
        return Err(TotpError::Replayed);
    }
    Ok(step)
}

/// An SVG QR code of `uri` (for the enrolment page). Dark modules on white, with a quiet zone.
pub fn qr_svg(uri: &str) -> Result<String, TotpError> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| TotpError::QrTooLong)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let vectors: [(u64, u32); 6] = [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ];
        for (time, expected) in vectors {
            assert_eq!(hotp(RFC_SEED, time / STEP_SECS, 8), expected, "T = {time}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64, 6), value);
        }
    }

    #[test]
    fn six_digit_codes_keep_leading_zeros() {
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec()).unwrap();
        // RFC vector 07081804 at T=1111111109: the 6-digit code is its last 6 digits.
        assert_eq!(secret.code_at(1_111_111_109), "081804");
    }

    fn secret() -> TotpSecret {
        TotpSecret::from_bytes(RFC_SEED.to_vec()).unwrap()
    }

    #[test]
    fn current_code_is_accepted_and_step_returned() {
        let s = secret();
        let now = 1_700_000_015;
        let code = s.code_at(now);
        assert_eq!(verify(&s, &code, now, None), Ok(now / 30));
        // Spaces are tolerated ("123 456").
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(verify(&s, &spaced, now, None), Ok(now / 30));
    }

    #[test]
    fn one_step_of_skew_either_way() {
        let s = secret();
        let now = 1_700_000_015;
        assert_eq!(
            verify(&s, &s.code_at(now - 30), now, None),
            Ok(now / 30 - 1)
        );
        assert_eq!(
            verify(&s, &s.code_at(now + 30), now, None),
            Ok(now / 30 + 1)
        );
        assert_eq!(
            verify(&s, &s.code_at(now - 60), now, None),
            Err(TotpError::Invalid)
        );
        assert_eq!(
            verify(&s, &s.code_at(now + 60), now, None),
            Err(TotpError::Invalid)
        );
    }

    #[test]
    fn a_code_works_once() {
        let s = secret();
        let now = 1_700_000_015;
        let code = s.code_at(now);
        let step = verify(&s, &code, now, None).unwrap();
        assert_eq!(verify(&s, &code, now, Some(step)), Err(TotpError::Replayed));
        // Still refused 20 s later, within the skew window.
        assert_eq!(
            verify(&s, &code, now + 20, Some(step)),
            Err(TotpError::Replayed)
        );
        // An older code from the previous step is refused too once a later one was used.
        assert_eq!(
            verify(&s, &s.code_at(now - 30), now, Some(step)),
            Err(TotpError::Replayed)
        );
        // The next step's code works.
        assert_eq!(
            verify(&s, &s.code_at(now + 30), now + 30, Some(step)),
            Ok(step + 1)
        );
    }

    #[test]
    fn malformed_codes() {
        let s = secret();
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify(&s, bad, 1_000, None),
                Err(TotpError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn time_zero_has_no_previous_step() {
        let s = secret();
        assert_eq!(verify(&s, &s.code_at(0), 0, None), Ok(0));
    }

    #[test]
    fn base32_round_trip_and_tolerance() {
        let s = TotpSecret::generate();
        assert_eq!(s.as_bytes().len(), 20);
        let b32 = s.to_base32();
        assert_eq!(b32.len(), 32);
        assert_eq!(TotpSecret::from_base32(&b32).unwrap(), s);
        let messy = b32
            .to_lowercase()
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(TotpSecret::from_base32(&messy).unwrap(), s);
        assert_eq!(
            TotpSecret::from_base32("not base32!"),
            Err(TotpError::BadSecret)
        );
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBV"),
            Err(TotpError::BadSecret)
        );
        assert_ne!(TotpSecret::generate(), s);
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = secret();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains(&s.to_base32()) && !shown.contains("1234"),
            "{shown}"
        );
    }

    #[test]
    fn otpauth_uri_is_percent_encoded() {
        let s = secret();
        let uri = s.otpauth_uri("Trustplane (Acme & Co)", "alice+ops@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Trustplane%20%28Acme%20and%20Co%29:alice%2Bops%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Trustplane%20%28Acme%20and%20Co%29\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn authenticator_text_survives_a_second_decoding() {
        assert_eq!(
            authenticator_issuer("Acme & Co: 100% #1?"),
            "Acme and Co 100 1"
        );
        assert_eq!(authenticator_issuer(" :&: "), "and");
        assert_eq!(authenticator_issuer("::"), "Trustplane");
        assert_eq!(authenticator_account("a+b&c=d@x"), "a+b&c=d@x");
        assert_eq!(authenticator_account("a:b%41#c?d"), "a_b_41_c_d");
    }

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg(&secret().otpauth_uri("Trustplane", "alice@example.com")).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"));
        assert_eq!(qr_svg(&"x".repeat(5000)), Err(TotpError::QrTooLong));
    }
}
