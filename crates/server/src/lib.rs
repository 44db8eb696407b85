//! Trustplane's HTTP surface: the admin REST API under `/api/v1`, health and readiness,
//! Prometheus metrics, and the background jobs a node runs.
//!
//! Handlers are thin: they parse, authorise and call the store. [`app`] builds the router for
//! tests (`tower::ServiceExt::oneshot`); [`start`] opens the store, bootstraps an empty one,
//! starts the jobs and binds the listener.
#![deny(missing_docs)]

mod auth;
mod bare_errors;
mod bootstrap;
mod context;
mod error;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod odata;
pub mod oidc;
mod openapi;
mod panic_guard;
mod routes;
pub mod saml;
mod server;
mod web;

pub use bootstrap::{random_secret, recover_admin, BootstrapCredentials};
pub use context::ClientApp;
pub use error::ApiError;
pub use server::{
    app, start, start_with_cloud, AppState, NodeSettings, RunningServer, ServerConfig,
};
pub use trustplane_idp::SignInLimits;
// The engine's modules under their old paths, so handlers read `crate::signin` as before.
pub use trustplane_idp::{ca, ca_guard, signin};
// The detection pipeline, where handlers and the CLI look for it.
pub use trustplane_monitor as detection;
// Connected clouds, where handlers, jobs and PIM look for them.
pub use trustplane_cloudops as cloud;
// Privileged identity management, where routes, pages and jobs look for it.
pub use trustplane_pim as pim;
