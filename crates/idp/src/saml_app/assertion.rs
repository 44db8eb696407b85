//! What an assertion says about a person: the NameID and the attributes an SP's settings ask
//! for, read from the directory (the user, their groups, their roles at this moment).

use serde_json::Value;
use trustplane_model::{Group, RoleDefinition, RoleResource, User};
use trustplane_saml::Attribute;

use super::settings::SamlSettings;

/// The directory's facts about one person, read once per response.
pub struct Subject<'a> {
    /// The person.
    pub user: &'a User,
    /// Their groups, transitively.
    pub groups: &'a [Group],
    /// Roles they hold now (active, within schedule), directly or through groups.
    pub roles: &'a [RoleDefinition],
    /// Seconds until the first of the released AWS roles' activations ends, when one of them
    /// is time-bound: no AWS session may outlast the elevation that granted it.
    pub aws_time_left_secs: Option<u32>,
}

/// AWS roles of the subject that this SP may grant: (role ARN, provider ARN, maximum session).
pub fn aws_roles<'a>(
    subject: &'a Subject<'a>,
    settings: &SamlSettings,
) -> Vec<(&'a str, &'a str, u32)> {
    let mut roles: Vec<_> = subject
        .roles
        .iter()
        .filter_map(|r| match &r.resource {
            Some(RoleResource::AwsSamlRole {
                account_id,
                role_arn,
                saml_provider_arn,
                max_session_duration,
            }) if settings.aws_accounts.is_empty()
                || settings.aws_accounts.contains(account_id) =>
            {
                Some((
                    role_arn.as_str(),
                    saml_provider_arn.as_str(),
                    *max_session_duration,
                ))
            }
            _ => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// The values of one source for the subject; empty when the person has none.
pub fn values(source: &str, subject: &Subject<'_>, settings: &SamlSettings) -> Vec<String> {
    let user = subject.user;
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    match source {
        "userPrincipalName" => vec![user.user_principal_name.clone()],
        "mail" => one(&user.mail),
        "displayName" => vec![user.display_name.clone()],
        "givenName" => one(&user.given_name),
        "surname" => one(&user.surname),
        "id" => vec![user.id.clone()],
        "groups" => subject.groups.iter().map(|g| g.id.clone()).collect(),
        "groupNames" => subject
            .groups
            .iter()
            .map(|g| g.display_name.clone())
            .collect(),
        "roles" => subject
            .roles
            .iter()
            .filter(|r| r.resource.is_none())
            .map(|r| r.display_name.clone())
            .collect(),
        "awsRoles" => aws_roles(subject, settings)
            .into_iter()
            .map(|(role, provider, _)| format!("{role},{provider}"))
            .collect(),
        "awsSessionDuration" => {
            // AWS refuses a session longer than the role allows; with several roles the
            // person may pick any, so the shortest maximum is the one that always works.
            let wanted = settings.session_duration.unwrap_or(3600);
            let cap = aws_roles(subject, settings)
                .into_iter()
                .map(|(_, _, max)| max)
                .min()
                .unwrap_or(wanted);
            let left = subject.aws_time_left_secs.unwrap_or(u32::MAX);
            vec![wanted.min(cap).min(left).to_string()]
        }
        other => {
            if let Some(constant) = other.strip_prefix("value:") {
                vec![constant.to_string()]
            } else if let Some(name) = other.strip_prefix("attributes.") {
                match user.attributes.get(name) {
                    Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
                    Some(v) => scalar(v).into_iter().collect(),
                    None => Vec::new(),
                }
            } else {
                Vec::new()
            }
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The attributes to release; attributes without values are left out, as SPs expect.
pub fn attributes(subject: &Subject<'_>, settings: &SamlSettings) -> Vec<Attribute> {
    settings
        .attribute_rules()
        .into_iter()
        .filter_map(|rule| {
            let values = values(&rule.source, subject, settings);
            (!values.is_empty()).then_some(Attribute {
                name: rule.name,
                name_format: rule.name_format,
                friendly_name: rule.friendly_name,
                values,
            })
        })
        .collect()
}

/// The NameID format, its source and value, or `None` when the source is not one that
/// identifies a person or the person has no value for it. The caller must still check that
/// no one else holds a `mail` value.
pub fn name_id(
    subject: &Subject<'_>,
    settings: &SamlSettings,
) -> Option<(String, &'static str, String)> {
    let (format, source) = settings.name_id();
    let source = super::settings::IDENTIFYING_SOURCES
        .iter()
        .copied()
        .find(|s| *s == source)?;
    let value = values(source, subject, settings)
        .into_iter()
        .next()
        .filter(|v| !v.trim().is_empty())?;
    Some((format.to_string(), source, value))
}
