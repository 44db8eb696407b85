//! Serde types for Microsoft Graph `conditionalAccessPolicy` (v1.0 plus the beta fields real
//! exports carry).
//!
//! Every object keeps the properties it does not model in `extra` (a flattened map), so
//! `@odata.*` annotations and newer Graph properties survive a round trip.

use serde::{Deserialize, Serialize};

use crate::de::{self, Extra, FlagSet};
use crate::enums::*;

/// A conditional access policy, in Graph's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessPolicy {
    /// The object id; exports made from templates may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name shown to administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Not used by Graph, kept if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// enabled, disabled or enabledForReportingButNotEnforced.
    pub state: PolicyState,
    /// When the policy was created (kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
    /// When the policy was last changed (kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_time: Option<String>,
    /// Who and what the policy is about; every configured condition must match.
    pub conditions: Conditions,
    /// What the sign-in must satisfy.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub grant_controls: Option<GrantControls>,
    /// Restrictions on the session that results.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_controls: Option<SessionControls>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessConditionSet`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// Users, groups, roles and guests in and out of scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub users: Option<UsersCondition>,
    /// Applications, user actions or authentication contexts in scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub applications: Option<ApplicationsCondition>,
    /// Workload identities (service principals) in scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_applications: Option<ClientApplicationsCondition>,
    /// Client app types in scope; empty means all.
    #[serde(default, deserialize_with = "de::seq")]
    pub client_app_types: Vec<ClientAppType>,
    /// Device platforms in and out of scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub platforms: Option<PlatformsCondition>,
    /// Named locations in and out of scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub locations: Option<LocationsCondition>,
    /// Sign-in risk levels in scope; empty means not configured.
    #[serde(default, deserialize_with = "de::seq")]
    pub sign_in_risk_levels: Vec<RiskLevel>,
    /// User risk levels in scope; empty means not configured.
    #[serde(default, deserialize_with = "de::seq")]
    pub user_risk_levels: Vec<RiskLevel>,
    /// Service principal risk levels in scope (workload identities).
    #[serde(default, deserialize_with = "de::seq")]
    pub service_principal_risk_levels: Vec<RiskLevel>,
    /// Insider risk levels in scope (beta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insider_risk_levels: Option<FlagSet<InsiderRiskLevel>>,
    /// Authentication flows in scope (beta).
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_flows: Option<AuthenticationFlowsCondition>,
    /// Devices in and out of scope by filter.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub devices: Option<DevicesCondition>,
    /// Deprecated device states condition.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_states: Option<DeviceStatesCondition>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessUsers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersCondition {
    /// User ids, or `All`, `None`, `GuestsOrExternalUsers`.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_users: Vec<String>,
    /// User ids, or `GuestsOrExternalUsers`.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_users: Vec<String>,
    /// Group ids.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_groups: Vec<String>,
    /// Group ids.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_groups: Vec<String>,
    /// Directory role template ids.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_roles: Vec<String>,
    /// Directory role template ids.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_roles: Vec<String>,
    /// Guest and external user types in scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub include_guests_or_external_users: Option<GuestsOrExternalUsers>,
    /// Guest and external user types out of scope.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub exclude_guests_or_external_users: Option<GuestsOrExternalUsers>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessGuestsOrExternalUsers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestsOrExternalUsers {
    /// The kinds of guest or external user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_or_external_user_types: Option<FlagSet<GuestOrExternalUserType>>,
    /// The home tenants of those users.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_tenants: Option<ExternalTenants>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessExternalTenants` (all or enumerated).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalTenants {
    /// `all` or `enumerated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_kind: Option<MembershipKind>,
    /// Tenant ids when enumerated.
    #[serde(
        default,
        deserialize_with = "de::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub members: Vec<String>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessApplications`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationsCondition {
    /// Application ids, or `All`, `None`, `Office365`, `MicrosoftAdminPortals`.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_applications: Vec<String>,
    /// Application ids, or `Office365`, `MicrosoftAdminPortals`.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_applications: Vec<String>,
    /// `urn:user:registersecurityinfo`, `urn:user:registerdevice`.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_user_actions: Vec<String>,
    /// Authentication context ids (`c1` ... `c99`).
    #[serde(default, deserialize_with = "de::seq")]
    pub include_authentication_context_class_references: Vec<String>,
    /// A filter on custom security attributes of applications.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub application_filter: Option<Filter>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessClientApplications` (workload identities).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientApplicationsCondition {
    /// Service principal ids, or `ServicePrincipalsInMyTenant`.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_service_principals: Vec<String>,
    /// Service principal ids.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_service_principals: Vec<String>,
    /// A filter on service principal attributes.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_principal_filter: Option<Filter>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessPlatforms`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformsCondition {
    /// Platforms in scope.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_platforms: Vec<DevicePlatform>,
    /// Platforms out of scope.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_platforms: Vec<DevicePlatform>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessLocations`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationsCondition {
    /// Named location ids, or `All`, `AllTrusted`.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_locations: Vec<String>,
    /// Named location ids, or `AllTrusted`.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_locations: Vec<String>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessAuthenticationFlows`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationFlowsCondition {
    /// Transfer methods in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_methods: Option<FlagSet<TransferMethod>>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessDevices`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicesCondition {
    /// Deprecated device list.
    #[serde(
        default,
        deserialize_with = "de::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub include_devices: Vec<String>,
    /// Deprecated device list.
    #[serde(
        default,
        deserialize_with = "de::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub exclude_devices: Vec<String>,
    /// Deprecated device states.
    #[serde(
        default,
        deserialize_with = "de::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub include_device_states: Vec<String>,
    /// Deprecated device states.
    #[serde(
        default,
        deserialize_with = "de::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub exclude_device_states: Vec<String>,
    /// A filter on device attributes.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_filter: Option<Filter>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Deprecated `conditionalAccessDeviceStates`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatesCondition {
    /// `All`.
    #[serde(default, deserialize_with = "de::seq")]
    pub include_states: Vec<String>,
    /// `Compliant`, `DomainJoined`.
    #[serde(default, deserialize_with = "de::seq")]
    pub exclude_states: Vec<String>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessFilter`: a rule in Entra's filter syntax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Whether matching objects are included or excluded.
    pub mode: FilterMode,
    /// The rule, e.g. `device.isCompliant -eq True`.
    pub rule: String,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessGrantControls`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantControls {
    /// `AND` or `OR`; absent means `OR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<GrantOperator>,
    /// Built-in controls.
    #[serde(default, deserialize_with = "de::seq")]
    pub built_in_controls: Vec<BuiltInControl>,
    /// Custom controls (ids).
    #[serde(default, deserialize_with = "de::seq")]
    pub custom_authentication_factors: Vec<String>,
    /// Terms of use agreement ids.
    #[serde(default, deserialize_with = "de::seq")]
    pub terms_of_use: Vec<String>,
    /// An authentication strength (beta, and v1.0 since 2023).
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_strength: Option<AuthenticationStrength>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl GrantControls {
    /// The operator, `OR` when absent (Graph's default).
    pub fn operator(&self) -> GrantOperator {
        self.operator.clone().unwrap_or(GrantOperator::Or)
    }

    /// True when no control of any kind is set.
    pub fn is_empty(&self) -> bool {
        self.built_in_controls.is_empty()
            && self.custom_authentication_factors.is_empty()
            && self.terms_of_use.is_empty()
            && self
                .authentication_strength
                .as_ref()
                .is_none_or(|s| s.id.is_none())
    }
}

/// `authenticationStrengthPolicy`, as referenced from grant controls.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationStrength {
    /// The strength's id; built-in ones are `00000000-0000-0000-0000-00000000000{2,3,4}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The strength's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Method combinations that satisfy it.
    #[serde(
        default,
        deserialize_with = "de::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_combinations: Vec<String>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conditionalAccessSessionControls`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionControls {
    /// App-enforced restrictions (Exchange Online, SharePoint Online).
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub application_enforced_restrictions: Option<Toggle>,
    /// Defender for Cloud Apps session control.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_app_security: Option<CloudAppSecurity>,
    /// Persistent browser session.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub persistent_browser: Option<PersistentBrowser>,
    /// Sign-in frequency.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub sign_in_frequency: Option<SignInFrequency>,
    /// Continuous access evaluation mode.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub continuous_access_evaluation: Option<ContinuousAccessEvaluation>,
    /// Turn off resilience defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_resilience_defaults: Option<bool>,
    /// Token protection (beta).
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub secure_sign_in_session: Option<Toggle>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A session control that is only switched on or off.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toggle {
    /// Whether the control is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `cloudAppSecuritySessionControl`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudAppSecurity {
    /// Whether the control is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// Which Defender for Cloud Apps policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_app_security_type: Option<CloudAppSecurityType>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `persistentBrowserSessionControl`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentBrowser {
    /// Whether the control is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// `always` or `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PersistentBrowserMode>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `signInFrequencySessionControl`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInFrequency {
    /// Whether the control is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// The number of `type` units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u32>,
    /// `hours` or `days`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub unit: Option<FrequencyUnit>,
    /// `timeBased` or `everyTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_interval: Option<FrequencyInterval>,
    /// `primaryAndSecondaryAuthentication` or `secondaryAuthentication` (kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_type: Option<String>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `continuousAccessEvaluationSessionControl`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinuousAccessEvaluation {
    /// The mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<CaeMode>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
