//! Authentication methods and sessions as the API shows them (no secrets).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A registered authentication method, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthMethodInfo {
    /// Method id.
    pub id: String,
    /// `totp`, `passkey` or `recoveryCode`.
    pub kind: String,
    /// What the user called it.
    pub display_name: String,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: OffsetDateTime,
    /// When it was last used to sign in.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_date_time: Option<OffsetDateTime>,
    /// For recovery codes: whether it was spent.
    pub used: bool,
}

/// A signed-in session, without its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Session id (not the token).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// When the user signed in.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: OffsetDateTime,
    /// When the session was last used.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_date_time: OffsetDateTime,
    /// When a second factor was last proven in this session.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mfa_date_time: Option<OffsetDateTime>,
    /// Authentication method references (RFC 8176), e.g. `pwd`, `otp`, `mfa`.
    pub amr: Vec<String>,
    /// Address the session was created from.
    pub ip_address: Option<String>,
    /// Browser or client.
    pub user_agent: Option<String>,
    /// `browser`, `mobileAppsAndDesktopClients` or `other`.
    pub client_app: String,
}
