//! Outbound provisioning into AWS IAM Identity Center: keeps the users, groups and
//! memberships of an Identity Store in step with a chosen part of the directory (everyone, or
//! the members of named groups), through the Identity Store API or Identity Center's SCIM
//! endpoint.
//!
//! | Module | Job |
//! | --- | --- |
//! | `settings` | A connection's settings, checked field by field when saved. |
//! | `target` | The port a target is reached through, and what is sent. |
//! | `plan` | The directory's chosen part compared with what was pushed: the changes. |
//! | `run` | Apply with retries, record each acknowledged change, hold mass removals, reconcile, the outbox job. |
//! | `scim_client` | The SCIM transport (the Identity Store transport is in `trustplane-cloud`). |

pub mod plan;
pub mod run;
pub mod scim_client;
pub mod settings;
pub mod target;

pub use run::{
    is_outbound, with_retry, IdentityStoreConnector, Mode, Outbound, Retry, AWS_IDC_USER_ATTRIBUTE,
};
pub use settings::{OutboundSettings, ScopeGroup};
pub use target::{BoxFuture, OutGroup, OutUser, Target, TargetError, TargetGroup, TargetUser};
