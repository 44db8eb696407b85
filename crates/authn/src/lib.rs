//! Authentication primitives for Trustplane.
//!
//! Everything here is pure but [`gate`] (which runs work on threads of its own): no database,
//! no HTTP, and no reading of the system clock. Every function that depends on time takes it as
//! an argument (Unix seconds or milliseconds), so the sign-in flow can pass its movable clock
//! and tests can move time instead of sleeping.
//!
//! | module | job |
//! |---|---|
//! | [`password`] | argon2id hashing (OWASP parameters), transparent rehash, constant-cost dummy verify, NIST SP 800-63B password policy with a shipped list of 30,000 common passwords |
//! | [`totp`] | RFC 6238 (SHA-1, 6 digits, 30 s) with ±1 step of skew and replay refusal; `otpauth://` URI and SVG QR code |
//! | [`recovery`] | ten single-use recovery codes (50 bits each), salted hashes, constant-time checks |
//! | [`session`] | opaque 256-bit session tokens stored as SHA-256, idle and absolute timeouts |
//! | [`throttle`] | per-account growing delays and hard lock at 100 failures; per-IP token buckets that count failures |
//! | [`gate`] | a bound on concurrent argon2id work (hashing and verification), with a bounded queue |
//! | [`webauthn`] | passkey registration and sign-in (known user and usernameless) over `webauthn-rs` |
//!
//! Types that hold secrets implement `Debug` by hand and never print the secret; error messages
//! never contain a password, code or token.
//!
//! ```
//! use trustplane_authn::session::{new_session_token, hash_session_token, SessionPolicy};
//!
//! let (token, stored_hash) = new_session_token();
//! assert_eq!(hash_session_token(&token), stored_hash);
//! let policy = SessionPolicy::default();
//! assert!(policy.check(0, 0, 60_000).is_ok());
//! ```
#![deny(missing_docs)]

mod error;
pub mod gate;
pub mod password;
pub mod recovery;
pub mod session;
pub mod tap;
pub mod throttle;
pub mod totp;
pub mod webauthn;

pub use error::AuthnError;
pub use gate::{GateError, HashGate};
pub use password::{
    check_password_policy, dummy_verify, hash_password, verify_password, PasswordCheck, PolicyError,
};
pub use recovery::{generate_recovery_codes, hash_recovery_code, verify_recovery_code};
pub use session::{
    hash_session_token, new_prefixed_token, new_session_token, SessionExpired, SessionPolicy,
};
pub use throttle::{AccountThrottle, IpRateLimiter, RetryAfterMs, Throttled};
pub use totp::{TotpError, TotpSecret};
pub use webauthn::{AuthenticatedPasskey, Relying, StoredPasskey};
