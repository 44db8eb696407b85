//! Trustplane's pages as HTML views.
//!
//! Each view takes what the page shows, already decided by an engine, and returns HTML in
//! which every interpolated value is escaped. The server wraps a view in a response with its
//! status and security headers ([`html::SECURITY_HEADERS`]); nothing here knows HTTP, the
//! store or a session, so the views are tested as plain functions.

pub mod admin;
pub mod detection;
pub mod html;
pub mod next;
pub mod portal;
pub mod protocol;
pub mod roles;
pub mod signin;

/// The script behind the passkey buttons (WebAuthn needs the browser API).
pub const PASSKEY_SCRIPT: &str = include_str!("passkey.js");
