//! Directory objects. Field names follow Microsoft Graph's `user`, `group`, `application`,
//! `unifiedRoleDefinition` and `unifiedRoleAssignment` resources.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A fresh immutable object id (a random UUID, as Entra uses).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The kinds of object that can be members of groups and holders of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    /// A person or service account.
    User,
    /// A group of users and groups.
    Group,
    /// An application registration.
    Application,
}

impl ObjectKind {
    /// The name stored in the database and shown in `@odata.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Application => "application",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(ObjectKind::User),
            "group" => Some(ObjectKind::Group),
            "application" => Some(ObjectKind::Application),
            _ => None,
        }
    }
}

/// A user of the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Immutable object id.
    pub id: String,
    /// Sign-in name, unique without regard to case.
    pub user_principal_name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Mail address, if any.
    pub mail: Option<String>,
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Whether the account may sign in.
    pub account_enabled: bool,
    /// Free attributes (department, cost centre, ...) that claim mappings can read.
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: OffsetDateTime,
}

/// The password part of a create or update request. The password itself is never returned.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordProfile {
    /// The new password.
    pub password: String,
    /// Whether the user must choose a new password at the next sign-in.
    #[serde(default)]
    pub force_change_password_next_sign_in: bool,
}

impl std::fmt::Debug for PasswordProfile {
    // Passwords never reach a log through a derived Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordProfile")
            .field("password", &"<redacted>")
            .field(
                "force_change_password_next_sign_in",
                &self.force_change_password_next_sign_in,
            )
            .finish()
    }
}

/// Body of `POST /api/v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// Sign-in name.
    pub user_principal_name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Mail address.
    pub mail: Option<String>,
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Whether the account may sign in (yes unless said otherwise).
    #[serde(default = "yes")]
    pub account_enabled: bool,
    /// The first password, if any.
    pub password_profile: Option<PasswordProfile>,
    /// Free attributes.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
}

/// Body of `PATCH /api/v1/users/{id}`: only the fields to change; `null` clears the
/// optional ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    /// New sign-in name.
    pub user_principal_name: Option<String>,
    /// New display name.
    pub display_name: Option<String>,
    /// New mail address.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub mail: Option<Option<String>>,
    /// New first name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub given_name: Option<Option<String>>,
    /// New last name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub surname: Option<Option<String>>,
    /// Enable or disable sign-in.
    pub account_enabled: Option<bool>,
    /// A password set by an administrator.
    pub password_profile: Option<PasswordProfile>,
    /// Attributes to set; a `null` value removes one.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
}

/// Body of `POST /api/v1/groups`. `members` holds user and group ids to add at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGroup {
    /// Name shown to people; unique without regard to case.
    pub display_name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// Whether the group can hold directory roles.
    #[serde(default)]
    pub is_assignable_to_role: bool,
    /// Users and groups to add.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Body of `PATCH /api/v1/groups/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateGroup {
    /// New name.
    pub display_name: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

fn yes() -> bool {
    true
}

/// A field that may be absent (leave it), `null` (clear it) or a value.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A group; members are users and groups, and membership nests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Immutable object id.
    pub id: String,
    /// Name shown to people; unique without regard to case.
    pub display_name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// Whether the group can hold directory roles.
    pub is_assignable_to_role: bool,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: OffsetDateTime,
}

/// An application registration. Federation adds SAML and OIDC settings under `settings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Immutable object id.
    pub id: String,
    /// The client or entity identifier others know the application by.
    pub app_id: String,
    /// Name shown to people.
    pub display_name: String,
    /// What the application is.
    pub description: Option<String>,
    /// Protocol-specific settings (SAML service provider, OIDC client, ...).
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: OffsetDateTime,
}

/// Longest linked sign-on URL.
const MAX_LINK: usize = 2048;

impl Application {
    /// The URL of a linked application (`settings.linked.url`): My Apps opens it as it is,
    /// and the application signs people in by itself. `Err` says what is wrong with one.
    pub fn linked_url(settings: &Map<String, Value>) -> Result<Option<&str>, String> {
        let Some(linked) = settings.get("linked") else {
            return Ok(None);
        };
        let url = linked
            .get("url")
            .and_then(Value::as_str)
            .ok_or("settings.linked.url: a linked application needs its https URL")?;
        let host = url.strip_prefix("https://").unwrap_or_default();
        let host = host.split(['/', '?', '#']).next().unwrap_or_default();
        if url.len() > MAX_LINK
            || host.is_empty()
            || url
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return Err(format!(
                "settings.linked.url: must be an https URL with a host, at most {MAX_LINK} characters"
            ));
        }
        Ok(Some(url))
    }
}

/// What a role allows, in Graph's `rolePermissions` shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolePermission {
    /// Actions such as `trustplane.directory/users/write`; `*` allows everything.
    pub allowed_resource_actions: Vec<String>,
}

/// A directory role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    /// Stable id; for built-in roles the Entra role template id.
    pub id: String,
    /// Name shown to people.
    pub display_name: String,
    /// What the role is for.
    pub description: String,
    /// Whether Trustplane defines the role.
    pub is_built_in: bool,
    /// Whether the role can be assigned.
    pub is_enabled: bool,
    /// Template id, equal to `id` for built-in roles.
    pub template_id: String,
    /// What the role allows.
    pub role_permissions: Vec<RolePermission>,
    /// For a role in a cloud rather than in Trustplane: which one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<RoleResource>,
}

/// A role that lives in a cloud; holding it in Trustplane grants it there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RoleResource {
    /// An AWS IAM role reached through SAML federation: an active assignment puts the pair
    /// `roleArn,samlProviderArn` into the `Role` attribute of AWS sign-in assertions.
    #[serde(rename_all = "camelCase")]
    AwsSamlRole {
        /// The 12-digit account the role is in.
        account_id: String,
        /// `arn:aws:iam::<account>:role/<name>`.
        role_arn: String,
        /// `arn:aws:iam::<account>:saml-provider/<name>`: the provider trusting Trustplane.
        saml_provider_arn: String,
        /// The role's maximum session, in seconds (AWS allows 900 to 43200).
        max_session_duration: u32,
    },
    /// An AWS IAM Identity Center permission set on one account: holding the role creates the
    /// account assignment for the user's Identity Center user (`awsIdentityCenterUserId`
    /// attribute), losing it deletes the assignment.
    #[serde(rename_all = "camelCase")]
    AwsIdentityCenter {
        /// The connected AWS account (management or delegated administrator) whose
        /// credentials make the calls.
        connection_id: String,
        /// `arn:aws:sso:::instance/ssoins-...`.
        instance_arn: String,
        /// `arn:aws:sso:::permissionSet/ssoins-.../ps-...`.
        permission_set_arn: String,
        /// The 12-digit account the permission set is assigned on.
        account_id: String,
    },
    /// An Azure RBAC role at a scope: holding the role creates the role assignment for the
    /// user's Entra object (`azureObjectId` attribute) through Resource Manager.
    #[serde(rename_all = "camelCase")]
    AzureRbac {
        /// The connected Azure subscription whose service principal makes the calls.
        connection_id: String,
        /// `/subscriptions/...[/resourceGroups/...]`.
        scope: String,
        /// `/subscriptions/.../providers/Microsoft.Authorization/roleDefinitions/<guid>`.
        role_definition_id: String,
    },
}

impl RoleResource {
    /// Checks the resource's own consistency; the message names the field at fault.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match self {
            RoleResource::AwsSamlRole {
                account_id,
                role_arn,
                saml_provider_arn,
                max_session_duration,
            } => {
                if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(("accountId", "must be 12 digits".into()));
                }
                check_iam_arn("roleArn", role_arn, account_id, "role/")?;
                check_iam_arn(
                    "samlProviderArn",
                    saml_provider_arn,
                    account_id,
                    "saml-provider/",
                )?;
                if !(900..=43_200).contains(max_session_duration) {
                    return Err((
                        "maxSessionDuration",
                        "must be between 900 and 43200 seconds".into(),
                    ));
                }
                Ok(())
            }
            RoleResource::AwsIdentityCenter {
                connection_id,
                instance_arn,
                permission_set_arn,
                account_id,
            } => {
                if connection_id.is_empty() {
                    return Err(("connectionId", "must name a connected AWS account".into()));
                }
                if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(("accountId", "must be 12 digits".into()));
                }
                if !instance_arn.starts_with("arn:aws") || !instance_arn.contains(":instance/") {
                    return Err((
                        "instanceArn",
                        "must look like arn:aws:sso:::instance/ssoins-...".into(),
                    ));
                }
                // AWS names permission sets `...:permissionSet/ssoins-.../ps-...`; the ps- part
                // is what identifies one (moto puts it under `instance/`).
                if !permission_set_arn.starts_with("arn:aws")
                    || !permission_set_arn.contains(":sso:::")
                    || !permission_set_arn.contains("/ps-")
                {
                    return Err((
                        "permissionSetArn",
                        "must look like arn:aws:sso:::permissionSet/ssoins-.../ps-...".into(),
                    ));
                }
                Ok(())
            }
            RoleResource::AzureRbac {
                connection_id,
                scope,
                role_definition_id,
            } => {
                if connection_id.is_empty() {
                    return Err((
                        "connectionId",
                        "must name a connected Azure subscription".into(),
                    ));
                }
                let lower = scope.to_ascii_lowercase();
                if !lower.starts_with("/subscriptions/")
                    && !lower.starts_with("/providers/microsoft.management/managementgroups/")
                {
                    return Err((
                        "scope",
                        "must start with /subscriptions/ or a management group".into(),
                    ));
                }
                if !role_definition_id
                    .to_ascii_lowercase()
                    .contains("/providers/microsoft.authorization/roledefinitions/")
                {
                    return Err((
                        "roleDefinitionId",
                        "must be the Resource Manager id of a role definition".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The connected cloud account that grants the role, for roles granted by a cloud call
    /// (not for roles that federation carries in an assertion).
    pub fn connection_id(&self) -> Option<&str> {
        match self {
            RoleResource::AwsSamlRole { .. } => None,
            RoleResource::AwsIdentityCenter { connection_id, .. }
            | RoleResource::AzureRbac { connection_id, .. } => Some(connection_id),
        }
    }
}

/// `arn:<partition>:iam::<account>:<kind><name>`, in the given account.
fn check_iam_arn(
    field: &'static str,
    arn: &str,
    account_id: &str,
    kind: &str,
) -> Result<(), (&'static str, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4] == account_id
        && parts[5]
            .strip_prefix(kind)
            .is_some_and(|name| !name.is_empty() && !name.contains(','));
    if ok {
        Ok(())
    } else {
        Err((
            field,
            format!("must look like arn:aws:iam::{account_id}:{kind}NAME"),
        ))
    }
}

/// Whether an assignment grants the role now (active) or only the right to activate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentKind {
    /// The principal holds the role while the schedule says so.
    Active,
    /// The principal may activate the role (privileged identity management).
    Eligible,
}

impl AssignmentKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentKind::Active => "active",
            AssignmentKind::Eligible => "eligible",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(AssignmentKind::Active),
            "eligible" => Some(AssignmentKind::Eligible),
            _ => None,
        }
    }
}

/// A role held by a principal at a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// Immutable object id.
    pub id: String,
    /// The user or group holding the role.
    pub principal_id: String,
    /// Whether the principal is a user or a group.
    pub principal_type: ObjectKind,
    /// The role.
    pub role_definition_id: String,
    /// Where the role applies: `/` for the whole directory.
    pub directory_scope_id: String,
    /// Active or eligible.
    pub assignment_type: AssignmentKind,
    /// When the assignment starts to count; absent means since creation.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_date_time: Option<OffsetDateTime>,
    /// When it stops counting; absent means permanent.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end_date_time: Option<OffsetDateTime>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: OffsetDateTime,
}
