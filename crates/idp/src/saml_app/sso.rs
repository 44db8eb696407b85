//! The SAML single sign-on's decisions, free of HTTP: which application a request is for,
//! and, once conditional access has let the person through, what the assertion says or why
//! no one gets one. The server parses the bindings, signs and renders the auto-post form.

use trustplane_model::{Application, RoleDefinition, RoleResource, User};
use trustplane_saml::Attribute;
use trustplane_store::{Clause, ListQuery, Op, Store, StoreError};

use super::assertion::{self, Subject};
use super::settings::{SamlSettings, Template};

/// AWS's shortest role session: a role with less time left in its activation is not offered.
pub const MIN_AWS_SESSION_SECS: i64 = 900;

/// The application whose `appId` is an SP's entity id, if any.
pub async fn find_sp(store: &Store, entity_id: &str) -> Result<Option<Application>, StoreError> {
    let query = ListQuery {
        top: 1,
        filter: vec![Clause {
            field: "appId".into(),
            op: Op::Eq,
            value: entity_id.into(),
        }],
        ..Default::default()
    };
    Ok(store.list_applications(&query).await?.items.pop())
}

/// The application's SAML settings, completed, or `None` when it is not set up for SAML.
/// Settings were checked when saved, so ones that no longer pass count as absent.
pub fn settings_of(app: &Application) -> Option<SamlSettings> {
    SamlSettings::from_app_settings(&app.settings)
        .ok()
        .flatten()
        .and_then(|s| s.complete(&app.app_id).ok())
}

/// What the assertion for one person says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The NameID format.
    pub name_id_format: String,
    /// The NameID.
    pub name_id: String,
    /// The attributes released, in the order the settings give them.
    pub attributes: Vec<Attribute>,
    /// The AWS role ARNs granted, for the audit entry.
    pub aws_roles: Vec<String>,
    /// Seconds until the first time-bound AWS role's activation ends, when one is.
    pub aws_time_left_secs: Option<u32>,
}

/// Why a signed-in person, allowed by conditional access, still gets no assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// An AWS console application, and the person holds none of its roles now.
    #[error("no AWS role is assigned to this person now")]
    NoAwsRole,
    /// The NameID has no value, or its source is not one that names a single person.
    #[error("the person has no value for the application's NameID, or its source does not identify one person")]
    NoNameId,
    /// `mail` names the person to the SP, and it is empty or someone else has it too.
    #[error("the person's mail address, which names them to this application, is empty or shared with another user")]
    MailNotUnique,
}

/// The decision for one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Issue this assertion.
    Issue(Assertion),
    /// Send a status response without an assertion.
    Refuse(Refused),
}

/// Decides the assertion for `user` at the application with `settings`. `aws_role` limits the
/// AWS roles to one (a portal tile per role). Conditional access is the caller's to have
/// decided first; replay of a request is also the caller's to check.
pub async fn decide(
    store: &Store,
    user: &User,
    settings: &SamlSettings,
    aws_role: Option<&str>,
) -> Result<Decision, StoreError> {
    let groups = store.member_of(&user.id, true).await?;
    let mut roles = store.effective_roles(&user.id).await?;
    if let Some(wanted) = aws_role {
        roles.retain(|r| match &r.resource {
            Some(RoleResource::AwsSamlRole { role_arn, .. }) => role_arn == wanted,
            _ => true,
        });
    }
    // An AWS role granted by an activation that ends within AWS's shortest session (900 s)
    // is left out; the others cap SessionDuration at the time left in theirs.
    let now_ms = store.clock().now_ms();
    let ends = store.role_ends(&user.id).await?;
    let time_left = |role: &RoleDefinition| -> Option<i64> {
        ends.get(&role.id)
            .copied()
            .flatten()
            .map(|end| (end - now_ms) / 1000)
    };
    roles.retain(|r| match &r.resource {
        Some(RoleResource::AwsSamlRole { .. }) => {
            time_left(r).is_none_or(|left| left >= MIN_AWS_SESSION_SECS)
        }
        _ => true,
    });
    let aws_time_left_secs = roles
        .iter()
        .filter(|r| matches!(r.resource, Some(RoleResource::AwsSamlRole { .. })))
        .filter_map(time_left)
        .min()
        .map(|left| u32::try_from(left).unwrap_or(u32::MAX));
    let subject = Subject {
        user,
        groups: &groups,
        roles: &roles,
        aws_time_left_secs,
    };
    let aws_roles: Vec<String> = assertion::aws_roles(&subject, settings)
        .into_iter()
        .map(|(role, _, _)| role.to_string())
        .collect();
    if settings.template == Template::AwsConsole && aws_roles.is_empty() {
        return Ok(Decision::Refuse(Refused::NoAwsRole));
    }
    let Some((name_id_format, name_id_source, name_id)) = assertion::name_id(&subject, settings)
    else {
        return Ok(Decision::Refuse(Refused::NoNameId));
    };
    // A mail address two people share would name either of them: refuse rather than guess.
    let session_name_from_mail = settings.template == Template::AwsConsole
        && settings.role_session_name_source.as_deref() == Some("mail");
    if name_id_source == "mail" || session_name_from_mail {
        let mail = user.mail.as_deref().unwrap_or("");
        if mail.is_empty() || store.users_with_mail(mail).await? != 1 {
            return Ok(Decision::Refuse(Refused::MailNotUnique));
        }
    }
    Ok(Decision::Issue(Assertion {
        name_id_format,
        name_id,
        attributes: assertion::attributes(&subject, settings),
        aws_roles,
        aws_time_left_secs,
    }))
}
