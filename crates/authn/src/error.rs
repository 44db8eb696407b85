//! The crate-wide error for failures that are not a plain "no" (those are typed per module:
//! [`crate::PolicyError`], [`crate::TotpError`], [`crate::SessionExpired`], [`crate::Throttled`]).

/// An authentication primitive could not do its job, or a WebAuthn ceremony was refused.
///
/// Messages never contain a password, code, token or key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthnError {
    /// A stored password hash is not a PHC string this crate can read.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// The password hasher failed (parameters or internal error).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The relying party settings are not usable (bad origin URL, origin not under the RP id).
    #[error("webauthn relying party configuration is invalid: {0}")]
    WebauthnConfig(String),
    /// Ceremony state JSON could not be read, or belongs to another kind of ceremony.
    #[error("webauthn ceremony state is malformed or of the wrong kind")]
    MalformedState,
    /// The browser's response JSON could not be read.
    #[error("webauthn response is malformed: {0}")]
    MalformedResponse(String),
    /// A stored passkey JSON could not be read.
    #[error("stored passkey is malformed")]
    MalformedPasskey,
    /// The response names a credential that is not among the account's passkeys.
    #[error("passkey is not registered for this account")]
    UnknownCredential,
    /// The signature counter did not move past the stored one: a replayed response or a cloned
    /// authenticator.
    #[error("signature counter did not advance: replayed response or cloned authenticator")]
    CounterRegression,
    /// `webauthn-rs` refused the ceremony (wrong origin, challenge, signature, flags...).
    #[error("webauthn verification failed: {0}")]
    Webauthn(String),
}
