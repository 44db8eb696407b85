//! Plain types shared by every part of Trustplane.
//!
//! Nothing here performs I/O. The directory objects ([`User`], [`Group`], [`Application`],
//! [`RoleDefinition`], [`RoleAssignment`]) serialise with Microsoft Graph's field names where
//! Graph has a matching resource, so that tools written for Graph read them unchanged.
//! [`Event`] is the one shape for everything that happens; [`Clock`] is the one source of time.
#![deny(missing_docs)]

mod auth;
mod clock;
mod directory;
mod event;
mod pim;
mod proxy;
mod roles;
mod tiers;
mod upn;

pub use auth::{AuthMethodInfo, SessionInfo};
pub use clock::{from_ms, to_ms, Clock, ManualClock, SystemClock, Timestamp};
pub use directory::{
    new_id, nullable, Application, AssignmentKind, CreateGroup, CreateUser, Group, ObjectKind,
    PasswordProfile, RoleAssignment, RoleDefinition, RolePermission, RoleResource, UpdateGroup,
    UpdateUser, User,
};
pub use event::{Actor, Event, Outcome, Target};
pub use pim::{ActivationRequest, PimSettings, RequestState};
pub use proxy::{AppSessionPolicy, DownloadRule, ProxySettings, UploadRule, PROXY_CALLBACK_PATH};
pub use roles::{builtin_roles, BuiltinRole, Permission};
pub use tiers::{acting_tier, role_tier, tier_of, Tier};
pub use upn::{normalise_upn, UpnError};
