//! The built-in checks, one module per service area. Each module's `checks()` lists its
//! [`CheckDef`]s; [`all`] collects them for [`crate::Registry::builtin`].

use crate::registry::CheckDef;

pub(crate) mod util;

pub mod aws_iam;
pub mod aws_logging;
pub mod aws_monitoring;
pub mod aws_network;
pub mod aws_storage;
pub mod azure_app;
pub mod azure_assessments;
pub mod azure_compute;
pub mod azure_database;
pub mod azure_databricks;
pub mod azure_defender;
pub mod azure_entra;
pub mod azure_gateway;
pub mod azure_keyvault;
pub mod azure_monitor;
pub mod azure_network;
pub mod azure_sql;
pub mod azure_storage;
pub mod identity;

/// Every built-in check.
pub fn all() -> Vec<CheckDef> {
    let mut v = Vec::new();
    v.extend(aws_iam::checks());
    v.extend(aws_storage::checks());
    v.extend(aws_logging::checks());
    v.extend(aws_monitoring::checks());
    v.extend(aws_network::checks());
    v.extend(azure_entra::checks());
    v.extend(azure_defender::checks());
    v.extend(azure_keyvault::checks());
    v.extend(azure_storage::checks());
    v.extend(azure_sql::checks());
    v.extend(azure_database::checks());
    v.extend(azure_gateway::checks());
    v.extend(azure_databricks::checks());
    v.extend(azure_assessments::checks());
    v.extend(azure_monitor::checks());
    v.extend(azure_network::checks());
    v.extend(azure_compute::checks());
    v.extend(azure_app::checks());
    v.extend(identity::checks());
    v
}
