//! Trustplane's identity-aware proxy: a reverse proxy in front of internal web applications
//! that signs people in through Trustplane (as each application's OIDC client, code flow with
//! PKCE), enforces conditional access when a session starts and again when something changes
//! (its address, a revocation, risk, policies: [`check`] on the Trustplane side), and applies
//! session policies on every request ([`policy`]): monitoring, blocking downloads and uploads,
//! and step-up for chosen paths.
//!
//! - [`check`]: what Trustplane answers a proxy (configuration, verdicts, records). The server
//!   mounts these as `/api/v1/proxy/*`.
//! - [`Proxy`]: the proxy itself (hyper; HTTP/1.1 and h2c, WebSocket upgrades, bodies
//!   streamed, never buffered). It runs inside `trustplane serve` or as `trustplane proxy`.
//! - [`guard`]: the checks every request passes first (path tricks, host, smuggling, spoofed
//!   identity headers).
#![deny(missing_docs)]

pub mod assertion;
pub mod check;
pub mod config;
pub mod control;
pub mod guard;
mod pages;
pub mod policy;
mod server;

pub use config::{AppCredentials, ProxyConfig};
pub use server::{Proxy, RunningProxy, StartError, SESSION_COOKIE};

/// Body type of every response the proxy gives.
pub type ProxyBody = http_body_util::combinators::BoxBody<bytes::Bytes, BoxError>;

/// Errors carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
