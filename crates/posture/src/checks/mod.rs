//! The built-in checks, one module per service area. Each module's `checks()` lists its
//! [`CheckDef`]s; [`all`] collects them for [`crate::Registry::builtin`].

use crate::registry::CheckDef;

mod util;

pub mod aws_iam;
pub mod aws_logging;
pub mod aws_monitoring;
pub mod aws_network;
pub mod aws_storage;
pub mod identity;

/// Every built-in check.
pub fn all() -> Vec<CheckDef> {
    let mut v = Vec::new();
    v.extend(aws_iam::checks());
    v.extend(aws_storage::checks());
    v.extend(aws_logging::checks());
    v.extend(aws_monitoring::checks());
    v.extend(aws_network::checks());
    v.extend(identity::checks());
    v
}
