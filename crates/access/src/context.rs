//! The facts about one sign-in that policies are evaluated against.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::enums::{
    ClientAppType, DevicePlatform, GuestOrExternalUserType, InsiderRiskLevel, RiskLevel,
    TransferMethod,
};

/// A sign-in, already enriched with directory facts (groups, roles) and network facts
/// (country). Ids compare without regard to case.
// Unknown fields are refused: a misspelt condition (`signInRiskLevel` for `signInRisk`)
// would otherwise vanish and change the answer without a word.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SignInContext {
    /// The user's object id; `None` for a workload identity sign-in.
    #[serde(alias = "user")]
    pub user_id: Option<String>,
    /// Ids of every group the user is a member of (transitively).
    #[serde(alias = "groups")]
    pub group_ids: Vec<String>,
    /// Role template ids of the directory roles the user holds (active assignments).
    #[serde(alias = "roles")]
    pub role_ids: Vec<String>,
    /// Whether the user is a guest or external user.
    pub is_guest: bool,
    /// The kind of guest; `b2bCollaborationGuest` when `is_guest` and this is unset.
    pub guest_type: Option<GuestOrExternalUserType>,
    /// The guest's home tenant id.
    pub home_tenant_id: Option<String>,
    /// The service principal signing in, for workload identity sign-ins.
    #[serde(alias = "servicePrincipal")]
    pub service_principal_id: Option<String>,
    /// The application (client or resource app id) being accessed.
    #[serde(alias = "app", alias = "appId")]
    pub application_id: Option<String>,
    /// App groups the application belongs to (`Office365`, `MicrosoftAdminPortals`), in
    /// addition to the built-in table of well-known Microsoft app ids.
    pub application_groups: Vec<String>,
    /// Custom security attributes of the application, for `applicationFilter`
    /// (`CustomSecurityAttribute.Set_Name` -> value).
    pub application_attributes: BTreeMap<String, String>,
    /// A user action instead of an application (`urn:user:registersecurityinfo`).
    pub user_action: Option<String>,
    /// Authentication context class references requested (`c1`).
    pub authentication_contexts: Vec<String>,
    /// The client app type; `browser` when unset.
    #[serde(alias = "clientAppType")]
    pub client_app: Option<ClientAppType>,
    /// The device platform; `None` is an unknown platform.
    #[serde(alias = "platform")]
    pub device_platform: Option<DevicePlatform>,
    /// The client IP address.
    #[serde(alias = "ipAddress")]
    pub ip: Option<IpAddr>,
    /// The ISO 3166-1 alpha-2 country, already resolved; `None` is unknown.
    pub country: Option<String>,
    /// Whether the sign-in comes through a compliant network (Global Secure Access).
    pub compliant_network: bool,
    /// The sign-in risk; `none` when unset.
    pub sign_in_risk: Option<RiskLevel>,
    /// The user risk; `none` when unset.
    pub user_risk: Option<RiskLevel>,
    /// The service principal risk, for workload identities; `none` when unset.
    pub service_principal_risk: Option<RiskLevel>,
    /// The insider risk level, if any.
    pub insider_risk: Option<InsiderRiskLevel>,
    /// The authentication flow in use, if any (`deviceCodeFlow`, `authenticationTransfer`).
    pub authentication_flow: Option<TransferMethod>,
    /// Facts about the device.
    pub device: DeviceInfo,
    /// Controls already satisfied in this session: built-in control names (`mfa`,
    /// `compliantDevice`, `passwordChange`, ...), authentication strength ids, terms of use
    /// ids and custom control ids.
    pub satisfied_controls: Vec<String>,
}

/// What is known about the device.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DeviceInfo {
    /// Marked compliant by device management (satisfies `compliantDevice`).
    pub compliant: bool,
    /// Hybrid Entra joined, i.e. trusted (satisfies `domainJoinedDevice`; `trustType` is
    /// `ServerAD` for device filters unless given in `attributes`).
    pub trusted: bool,
    /// Other device attributes for `deviceFilter` rules, by name without the `device.` prefix
    /// (`deviceOwnership`, `trustType`, `model`, `extensionAttribute1`, ...).
    pub attributes: BTreeMap<String, String>,
}
