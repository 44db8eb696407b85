//! Server-rendered pages: sign-in, second factor, the user portal (security info, sessions,
//! privileged roles and approvals).
//! They work without JavaScript except passkeys, which need the WebAuthn browser API.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod admin_detection;
pub(crate) mod cookies;
pub(crate) mod html;
pub(crate) mod login;
pub(crate) mod roles;

use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(account::router())
        .merge(roles::router())
        .merge(admin::router())
        .merge(admin_detection::router())
}
