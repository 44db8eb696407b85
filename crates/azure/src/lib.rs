//! The Azure collector of `trustplane scan azure`: reads Azure Resource Manager and Microsoft
//! Graph over REST and returns the normalised inventory that `trustplane-posture` assesses.
//!
//! One [`ResourceDoc`] per resource, with the ARM or Graph object as returned in `raw`; the
//! account is the subscription id (the tenant id for Graph data). A call that fails (after
//! retries) becomes a `collection_error` document for the types it would have produced, so the
//! assessment reports ERROR there instead of a silent PASS. Failures that leave nothing to
//! collect (credentials refused, Resource Manager unreachable, subscriptions unreadable) are an
//! [`AzureError`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use trustplane_azure::{collect, Credential, Options};
//! let credential = Credential::from_env().ok_or("no Azure credentials in the environment")?;
//! let docs = collect(&Options::new(credential)).await?;
//! let inventory = trustplane_posture::Inventory::from_docs(docs);
//! # Ok(()) }
//! ```
//!
//! [`rbac`] grants and takes back Azure role assignments, for just-in-time access.
//!
//! Credentials: a bearer token (e.g. from `az account get-access-token`) or a service
//! principal with a client secret. Certificate credentials are not supported yet.
#![deny(missing_docs)]

mod auth;
mod catalog;
mod collect;
mod error;
mod http;
mod options;
pub mod rbac;

pub use auth::{ARM_SCOPE, GRAPH_SCOPE};
pub use catalog::SUBSCRIPTION;
pub use collect::collect;
pub use error::AzureError;
pub use options::{
    Credential, Options, Progress, ProgressHook, ARM_ENDPOINT, GRAPH_ENDPOINT, LOGIN_ENDPOINT,
};
pub use trustplane_posture::ResourceDoc;

/// Every document type the collector can produce, for documentation and tests.
pub fn resource_types() -> Vec<&'static str> {
    let mut v = vec![SUBSCRIPTION];
    for l in catalog::ARM_LISTS {
        v.extend(catalog::types_under(l.rtype, l.children));
    }
    v.extend(catalog::GRAPH_CALLS.iter().map(|g| g.rtype));
    v
}
