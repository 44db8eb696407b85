//! Trustplane's identity provider engine, free of HTTP: the sign-in flow and its sessions,
//! conditional access evaluated at sign-in and when an application is opened, the OpenID
//! Connect clients and signing keys, and the SAML applications' settings and assertion
//! decisions. Protocol adapters (pages, the JSON API, OIDC and SAML endpoints) call it and
//! only translate.
#![deny(missing_docs)]

pub mod admin;
pub mod api_tokens;
pub mod app_settings;
pub mod ca;
pub mod ca_admin;
pub mod ca_guard;
mod context;
pub mod directory;
pub mod oidc;
pub mod saml_app;
pub mod signin;
pub mod upstream;

pub use context::{platform, source_ip, url_encode, ClientApp, RequestContext};
pub use signin::SignInLimits;
