//! Sign-in through an upstream OpenID Connect provider (Entra ID, Okta, Google Workspace, any
//! standard OP), free of HTTP serving:
//! - [`settings`]: a provider's settings as the API receives them, validated with the field
//!   named;
//! - [`client`]: discovery, the JWKS (cached, fetched again on an unknown key), the token
//!   endpoint, every answer bounded;
//! - [`id_token`]: the ID token's full check (signature, `iss`, `aud`/`azp`, `exp`, `iat`,
//!   `nbf`, `nonce`);
//! - [`claims`]: what the token asserts, by the provider's claim mapping (Entra's by default);
//! - [`Upstream`]: providers in the store (secret sealed), home-realm discovery, and the
//!   authorization code flow with PKCE, `state` and `nonce`, single use and bound to the
//!   browser that started it, ending in the same conditional access and sessions as any
//!   sign-in.

pub mod claims;
pub mod client;
mod flow;
pub mod id_token;
pub mod settings;

pub use flow::{Finished, Started, Upstream};
pub use settings::{ClaimMapping, LinkBy, NewProvider, ProviderSettings};

use trustplane_store::StoreError;

use crate::signin::SignInError;

/// Where the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/login/federated/callback";
/// The cookie that binds a started sign-in to its browser.
pub const BINDING_COOKIE: &str = "tp_federated";
/// How long a started sign-in may take at the provider.
pub const STARTED_TTL_MS: i64 = 10 * 60 * 1000;

/// Why an upstream operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// A setting is refused; `field` names it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The API field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The provider could not be reached or answered something unusable.
    #[error("the identity provider could not be used: {0}")]
    Provider(String),
    /// The sign-in was refused (bad token, unknown person, no link): said to the person
    /// without the detail, which goes to the sign-in log.
    #[error("sign-in through the identity provider failed")]
    Refused(String),
    /// The started sign-in is unknown, used, too old or from another browser.
    #[error("this sign-in has expired; start again")]
    Expired,
    /// The sealed client secret cannot be opened.
    #[error("the client secret cannot be opened")]
    Secret,
    /// The sign-in flow refused (conditional access, ...).
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UpstreamError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        UpstreamError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The API field a refused setting names.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            UpstreamError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
