//! Privileged identity management: eligible people activate a role for a bounded time, with a
//! reason, a second factor and, where the role's settings say so, someone else's approval.
//!
//! Requests move through [`RequestState`]s in the store with compare-and-set transitions, so
//! two approvers or two nodes cannot both act on one request. What a request grants is kept
//! apart from the request, in grant records ([`PimGrant`]): the directory assignment of the
//! role, and for cloud roles the account assignment or Azure role assignment. A grant record
//! is written *before* the cloud is asked and removed only *after* the cloud confirmed the
//! removal, so a crash at any point leaves nothing granted that Trustplane does not know
//! about. [`Pim::run_due`] (a background job under a lease, and once at start) converges the
//! grants on what the active requests need: the latest end of all the requests that share a
//! grant decides when it goes, so overlapping activations never cut each other short.
//!
//! The engine is free of HTTP: it takes the store, the connected accounts
//! ([`trustplane_cloudops::Connections`]), the [`CloudGrants`] port that `trustplane-cloud`
//! implements, and sign-in and conditional access from `trustplane-idp`. The server's routes,
//! pages and job loops call it.
#![deny(missing_docs)]

mod configure;
mod converge;
mod grants;
mod oversight;
mod sessions;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_model::{
    from_ms, new_id, to_ms, ActivationRequest, Actor, PimSettings, RequestState, RoleDefinition,
    RoleResource, User,
};
use trustplane_store::{NewMessage, RequestChange, Store, StoreError};
use utoipa::ToSchema;

use trustplane_cloudops::Connections;
use trustplane_idp::ca::ConditionalAccess;
use trustplane_idp::signin::{SecondFactor, SignIn, SignInError};
use trustplane_idp::{ClientApp, RequestContext};

pub use configure::Configuration;
pub use converge::{ActivateError, RunReport};
pub use grants::{CloudGrants, GrantCall, Holder, SessionRevocation};
pub use oversight::{PimAlert, ReviewRequest};

/// The user attribute holding a person's IAM Identity Center user id.
pub const AWS_IDC_USER_ATTRIBUTE: &str = "awsIdentityCenterUserId";
/// The user attribute holding a person's Entra object id.
pub const AZURE_OBJECT_ATTRIBUTE: &str = "azureObjectId";
/// The setting naming the URL that PIM notifications are posted to.
pub const WEBHOOK_SETTING: &str = "pim.webhook_url";
/// The setting that makes reconciliation remove grants made outside Trustplane.
pub const REMOVE_OUTSIDE_SETTING: &str = "pim.remove_outside_grants";
/// The application id conditional-access policies name to govern role activation (besides
/// `All`); the role being activated counts among the person's roles for `includeRoles`.
pub const PIM_APP_ID: &str = "trustplane-pim";

/// How an activation request reached the node, for conditional access.
#[derive(Debug, Clone, Copy)]
pub struct Channel<'a> {
    /// The web pages or the API.
    pub client: ClientApp,
    /// Address and device of the request.
    pub request: &'a RequestContext,
}

/// The PIM service of a node.
pub struct Pim {
    store: Store,
    /// Reaches the connected accounts that cloud roles are granted in.
    connections: Connections,
    /// Grants cloud roles; `None` on a node started without the cloud implementations.
    grants: Option<Arc<dyn CloudGrants>>,
    signin: Arc<SignIn>,
    ca: Arc<ConditionalAccess>,
}

/// Body of `POST /api/v1/pim/requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRequest {
    /// The role (id or name).
    pub role_definition_id: String,
    /// Its scope; `/` when absent.
    #[serde(default)]
    pub directory_scope_id: Option<String>,
    /// How long, in seconds; the role's maximum when absent.
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    /// Start later than now (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_date_time: Option<time::OffsetDateTime>,
    /// Why the role is needed.
    #[serde(default)]
    pub justification: Option<String>,
    /// The change or incident ticket.
    #[serde(default)]
    pub ticket_number: Option<String>,
    /// A TOTP code proving a second factor, for roles that require MFA.
    #[serde(default)]
    pub mfa_code: Option<String>,
    /// A recovery code instead.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// Whether the caller proved a second factor in its session (web pages) or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMfa {
    /// The session's second factor is recent.
    Proven,
    /// No second factor in this call's session (API tokens carry none).
    Absent,
}

/// Why PIM refused or failed a step.
#[derive(Debug, thiserror::Error)]
pub enum PimError {
    /// A field of the request is wrong.
    #[error("{detail}")]
    Invalid {
        /// The field at fault, as the API names it.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A second factor is needed and was not proven.
    #[error("{0}")]
    MfaRequired(&'static str),
    /// The request contradicts what is held already.
    #[error("{0}")]
    Conflict(String),
    /// A field names something that does not exist.
    #[error("{detail}")]
    UnknownReference {
        /// The field at fault, as the API names it.
        field: &'static str,
        /// What it names.
        detail: String,
    },
    /// Proving the second factor failed otherwise (throttled, locked, busy).
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, detail: impl Into<String>) -> PimError {
    PimError::Invalid {
        field,
        detail: detail.into(),
    }
}

/// What a role's grant is keyed by in the directory.
fn directory_key(user_id: &str, role_id: &str, scope: &str) -> String {
    format!("directory|{user_id}|{role_id}|{scope}")
}

/// What a cloud grant is keyed by: the thing granted in the cloud, whoever asked for it.
fn cloud_key(call: &GrantCall) -> String {
    match call {
        GrantCall::AwsIdentityCenter {
            instance_arn,
            permission_set_arn,
            account_id,
            principal_id,
        } => format!("aws-idc|{instance_arn}|{permission_set_arn}|{account_id}|{principal_id}"),
        GrantCall::AzureRbac {
            scope,
            role_definition_id,
            principal_id,
        } => format!(
            "azure|{}|{}|{}",
            scope.to_ascii_lowercase(),
            role_definition_id.to_ascii_lowercase(),
            principal_id.to_ascii_lowercase()
        ),
    }
}

/// The cloud call that grants `role` to `user`, with the connection to make it through;
/// `None` for roles that live in the directory (and reach AWS through SAML).
fn cloud_call(role: &RoleDefinition, user: &User) -> Result<Option<(String, GrantCall)>, String> {
    let attribute = |name: &str| {
        user.attributes
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{} has no `{name}` attribute: the cloud does not know whom to grant the role to",
                    user.user_principal_name
                )
            })
    };
    match &role.resource {
        Some(RoleResource::AwsIdentityCenter {
            connection_id,
            instance_arn,
            permission_set_arn,
            account_id,
        }) => Ok(Some((
            connection_id.clone(),
            GrantCall::AwsIdentityCenter {
                instance_arn: instance_arn.clone(),
                permission_set_arn: permission_set_arn.clone(),
                account_id: account_id.clone(),
                principal_id: attribute(AWS_IDC_USER_ATTRIBUTE)?,
            },
        ))),
        Some(RoleResource::AzureRbac {
            connection_id,
            scope,
            role_definition_id,
        }) => Ok(Some((
            connection_id.clone(),
            GrantCall::AzureRbac {
                scope: scope.clone(),
                role_definition_id: role_definition_id.clone(),
                principal_id: attribute(AZURE_OBJECT_ATTRIBUTE)?,
            },
        ))),
        Some(RoleResource::AwsSamlRole { .. }) | None => Ok(None),
    }
}

impl Pim {
    /// The service over a node's store, its connected accounts and the port that grants
    /// roles in them, its sign-in service and conditional access.
    pub fn new(
        store: Store,
        connections: Connections,
        grants: Option<Arc<dyn CloudGrants>>,
        signin: Arc<SignIn>,
        ca: Arc<ConditionalAccess>,
    ) -> Self {
        Pim {
            store,
            connections,
            grants,
            signin,
            ca,
        }
    }

    /// Whether activating `role` needs a second factor: the role's settings say so, or
    /// conditional access does for this person holding this role through this channel.
    /// Conditional access that blocks, or asks for a control other than MFA, refuses.
    pub async fn mfa_needed(
        &self,
        user: &User,
        role: &RoleDefinition,
        scope: &str,
        channel: Channel<'_>,
    ) -> Result<bool, PimError> {
        let settings = self.settings(&role.id, scope).await?;
        let mut ctx = self
            .ca
            .context(user, channel.client, channel.request, PIM_APP_ID, &[])
            .await?;
        if !ctx.role_ids.contains(&role.template_id) && !role.template_id.is_empty() {
            ctx.role_ids.push(role.template_id.clone());
        }
        let decision = self.ca.decide_context(&ctx).await?;
        match decision.outcome {
            trustplane_access::Outcome::Block => Err(PimError::Forbidden(format!(
                "conditional access blocks activating this role: {}",
                decision.blocking.join(", ")
            ))),
            trustplane_access::Outcome::Grant if !decision.mfa_satisfies() => {
                Err(PimError::Forbidden(format!(
                    "conditional access requires {} to activate this role, which a second factor does not satisfy",
                    decision
                        .required
                        .iter()
                        .map(|any| any.join(" or "))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )))
            }
            trustplane_access::Outcome::Grant => Ok(true),
            trustplane_access::Outcome::Allow => Ok(settings.require_mfa),
        }
    }

    fn now(&self) -> i64 {
        self.store.clock().now_ms()
    }

    /// The settings that govern a role at a scope: its own, else the role's at `/`, else
    /// the defaults.
    pub async fn settings(&self, role_id: &str, scope: &str) -> Result<PimSettings, StoreError> {
        Ok(self
            .stored_settings(role_id, scope)
            .await?
            .unwrap_or_default())
    }

    /// The settings stored for a role at a scope, else at `/`.
    async fn stored_settings(
        &self,
        role_id: &str,
        scope: &str,
    ) -> Result<Option<PimSettings>, StoreError> {
        match self.store.pim_settings(role_id, scope).await? {
            None if scope != "/" => self.store.pim_settings(role_id, "/").await,
            found => Ok(found),
        }
    }

    /// Checks that an assignment about to be made respects its role's settings on
    /// permanent and maximum-length assignments.
    pub async fn check_assignment(
        &self,
        role_id: &str,
        scope: &str,
        eligible: bool,
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<(), PimError> {
        // Limits on assignments apply to roles whose settings were stored; roles left at the
        // defaults keep the assignments they had before PIM was configured for them.
        let Some(settings) = self.stored_settings(role_id, scope).await? else {
            return Ok(());
        };
        let (permanent_ok, max, what) = if eligible {
            (
                settings.allow_permanent_eligible,
                settings.max_eligible_seconds,
                "eligible",
            )
        } else {
            (
                settings.allow_permanent_active,
                settings.max_active_seconds,
                "active",
            )
        };
        match end {
            None if !permanent_ok => Err(invalid(
                "endDateTime",
                format!("the role's settings do not allow permanent {what} assignments"),
            )),
            Some(end) => {
                let start = start.unwrap_or_else(|| self.now());
                if (end - start) / 1000 > max {
                    Err(invalid(
                        "endDateTime",
                        format!("{what} assignments of this role last at most {max} seconds"),
                    ))
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// Roles the user may activate now: the eligible assignments that apply to them.
    pub async fn eligible(&self, user_id: &str) -> Result<Vec<Value>, StoreError> {
        let mut out = Vec::new();
        for a in self.store.eligible_assignments(user_id).await? {
            let role = self
                .store
                .get_role_definition(&a.role_definition_id)
                .await?;
            let settings = self.settings(&role.id, &a.directory_scope_id).await?;
            out.push(json!({
                "assignment": a,
                "roleDefinition": { "id": role.id, "displayName": role.display_name, "resource": role.resource },
                "settings": settings,
            }));
        }
        Ok(out)
    }

    /// Asks to activate an eligible role. Returns the request as it stands after the checks
    /// (and, when neither approval nor a later start holds it back, after the activation).
    pub async fn request(
        &self,
        user: &User,
        actor: &Actor,
        body: NewRequest,
        session_mfa: SessionMfa,
        channel: Channel<'_>,
    ) -> Result<ActivationRequest, PimError> {
        let role = self
            .store
            .get_role_definition(&body.role_definition_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => {
                    invalid("roleDefinitionId", "no role has this id or name")
                }
                e => e.into(),
            })?;
        let scope = body.directory_scope_id.unwrap_or_else(|| "/".into());
        let eligibility = self
            .store
            .eligible_assignments(&user.id)
            .await?
            .into_iter()
            .find(|a| a.role_definition_id == role.id && a.directory_scope_id == scope)
            .ok_or_else(|| {
                PimError::Forbidden(format!(
                    "{} is not eligible for {} at {scope}",
                    user.user_principal_name, role.display_name
                ))
            })?;
        let settings = self.settings(&role.id, &scope).await?;
        let duration = body
            .duration_seconds
            .unwrap_or(settings.max_activation_seconds);
        if duration < 60 {
            return Err(invalid("durationSeconds", "must be at least 60 seconds"));
        }
        if duration > settings.max_activation_seconds {
            return Err(invalid(
                "durationSeconds",
                format!(
                    "the role can be activated for at most {} seconds",
                    settings.max_activation_seconds
                ),
            ));
        }
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let justification = text(body.justification);
        let ticket = text(body.ticket_number);
        if settings.require_justification && justification.is_none() {
            return Err(invalid(
                "justification",
                "the role requires a justification",
            ));
        }
        if settings.require_ticket && ticket.is_none() {
            return Err(invalid("ticketNumber", "the role requires a ticket number"));
        }
        if justification.as_ref().is_some_and(|j| j.len() > 500) {
            return Err(invalid("justification", "at most 500 characters"));
        }
        if ticket.as_ref().is_some_and(|t| t.len() > 100) {
            return Err(invalid("ticketNumber", "at most 100 characters"));
        }
        if let Some(standing) = self
            .store
            .direct_active_assignment(&user.id, &role.id, &scope)
            .await?
        {
            let managed = self
                .store
                .pim_grant(&directory_key(&user.id, &role.id, &scope))
                .await?
                .is_some();
            if !managed {
                return Err(PimError::Conflict(format!(
                    "the role is held already through the standing assignment {}",
                    standing.id
                )));
            }
        }
        // The cloud must know the person before anything is asked of anyone.
        cloud_call(&role, user).map_err(|e| invalid("principalId", e))?;
        let needed = self.mfa_needed(user, &role, &scope, channel).await?;
        let mfa = self
            .check_mfa(
                user,
                needed,
                session_mfa,
                channel.request,
                body.mfa_code,
                body.recovery_code,
            )
            .await?;
        let now = self.now();
        let start = body.start_date_time.map(to_ms).filter(|s| *s > now);
        let request = ActivationRequest {
            id: new_id(),
            principal_id: user.id.clone(),
            role_definition_id: role.id.clone(),
            directory_scope_id: scope,
            eligibility_id: eligibility.id,
            state: if settings.require_approval {
                RequestState::PendingApproval
            } else {
                RequestState::Approved
            },
            reason: None,
            justification,
            ticket_number: ticket,
            duration_seconds: duration,
            requested_date_time: from_ms(now),
            start_date_time: start.map(from_ms),
            activated_date_time: None,
            end_date_time: None,
            decided_by: None,
            mfa,
        };
        self.store.insert_pim_request(actor, &request).await?;
        let event = if settings.require_approval {
            "requested, waiting for approval"
        } else {
            "requested"
        };
        self.notify(&request, event, settings.require_approval)
            .await?;
        if request.state == RequestState::Approved && start.is_none() {
            return self.activate(actor, &request.id).await.map_err(Into::into);
        }
        Ok(request)
    }

    async fn check_mfa(
        &self,
        user: &User,
        needed: bool,
        session_mfa: SessionMfa,
        ctx: &RequestContext,
        totp: Option<String>,
        recovery: Option<String>,
    ) -> Result<bool, PimError> {
        if session_mfa == SessionMfa::Proven {
            return Ok(true);
        }
        let factor = match (totp, recovery) {
            (Some(c), _) => SecondFactor::Totp(c),
            (None, Some(c)) => SecondFactor::RecoveryCode(c),
            (None, None) if needed => {
                return Err(PimError::MfaRequired(
                    "activating this role needs a second factor: send mfaCode (or recoveryCode), or sign in with one",
                ))
            }
            (None, None) => return Ok(false),
        };
        // Guessing codes here is throttled and locks the account as at sign-in.
        match self.signin.prove_second_factor(ctx, user, factor).await {
            Ok(()) => Ok(true),
            Err(SignInError::InvalidCode) => {
                Err(PimError::MfaRequired("the second-factor code is not valid"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `user` may approve requests for a role under `settings`.
    async fn is_approver(&self, user_id: &str, settings: &PimSettings) -> Result<bool, StoreError> {
        self.is_among(user_id, &settings.approvers).await
    }

    /// Whether a user is one of `principals`, or a member (through any nesting) of one of
    /// them.
    async fn is_among(&self, user_id: &str, principals: &[String]) -> Result<bool, StoreError> {
        if principals.iter().any(|p| p == user_id) {
            return Ok(true);
        }
        let groups = self.store.group_ids_of(user_id, true).await?;
        Ok(principals.iter().any(|p| groups.contains(p)))
    }

    /// Approves or denies a pending request. The approver must be one of the role's
    /// approvers and never the requester.
    pub async fn decide(
        &self,
        approver: &User,
        actor: &Actor,
        id: &str,
        approve: bool,
        comment: Option<String>,
    ) -> Result<ActivationRequest, PimError> {
        let request = self.store.get_pim_request(id).await?;
        if request.principal_id == approver.id {
            return Err(PimError::Forbidden(
                "nobody can approve or deny their own request".into(),
            ));
        }
        let settings = self
            .settings(&request.role_definition_id, &request.directory_scope_id)
            .await?;
        if !self.is_approver(&approver.id, &settings).await? {
            return Err(PimError::Forbidden(format!(
                "{} is not an approver of this role",
                approver.user_principal_name
            )));
        }
        let comment = comment.map(|c| c.chars().take(500).collect::<String>());
        let change = RequestChange {
            decided_by: Some(approver.id.clone()),
            ..RequestChange::to(
                if approve {
                    RequestState::Approved
                } else {
                    RequestState::Denied
                },
                comment,
            )
        };
        let activity = if approve {
            "pim.request.approve"
        } else {
            "pim.request.deny"
        };
        let decided = self
            .store
            .transition_pim_request(
                actor,
                id,
                &[RequestState::PendingApproval],
                change,
                activity,
            )
            .await?;
        self.notify(&decided, if approve { "approved" } else { "denied" }, false)
            .await?;
        let due = decided
            .start_date_time
            .is_none_or(|s| to_ms(s) <= self.now());
        if approve && due {
            return self.activate(actor, id).await.map_err(Into::into);
        }
        Ok(decided)
    }

    /// The requester withdraws a request not yet active.
    pub async fn cancel(
        &self,
        user: &User,
        actor: &Actor,
        id: &str,
    ) -> Result<ActivationRequest, PimError> {
        let request = self.store.get_pim_request(id).await?;
        if request.principal_id != user.id {
            return Err(PimError::Forbidden(
                "only the requester can cancel a request".into(),
            ));
        }
        Ok(self
            .store
            .transition_pim_request(
                actor,
                id,
                &[RequestState::PendingApproval, RequestState::Approved],
                RequestChange::to(
                    RequestState::Cancelled,
                    Some("cancelled by the requester".into()),
                ),
                "pim.request.cancel",
            )
            .await?)
    }

    /// Ends an active request early: the requester deactivating it, or an administrator
    /// (`admin` true) revoking it. The grants go at once unless another active request
    /// still needs them.
    pub async fn end_early(
        &self,
        user: &User,
        actor: &Actor,
        id: &str,
        admin: bool,
    ) -> Result<ActivationRequest, PimError> {
        let request = self.store.get_pim_request(id).await?;
        if !admin && request.principal_id != user.id {
            return Err(PimError::Forbidden(
                "only the requester can deactivate a request".into(),
            ));
        }
        let reason = if admin && request.principal_id != user.id {
            format!("revoked by {}", user.user_principal_name)
        } else {
            "deactivated by the requester".to_string()
        };
        let ended = self
            .store
            .transition_pim_request(
                actor,
                id,
                &[RequestState::Active],
                RequestChange {
                    end_at: Some(self.now()),
                    ..RequestChange::to(RequestState::Revoked, Some(reason))
                },
                if admin {
                    "pim.activation.revoke"
                } else {
                    "pim.activation.deactivate"
                },
            )
            .await?;
        self.converge().await?;
        self.notify(&ended, "ended early", false).await?;
        Ok(ended)
    }

    /// Extends an active activation by `seconds`, when the role's settings allow it; the
    /// activation may then last at most the role's maximum from now.
    pub async fn extend(
        &self,
        user: &User,
        actor: &Actor,
        id: &str,
        seconds: i64,
    ) -> Result<ActivationRequest, PimError> {
        let request = self.store.get_pim_request(id).await?;
        if request.principal_id != user.id {
            return Err(PimError::Forbidden(
                "only the requester can extend an activation".into(),
            ));
        }
        let settings = self
            .settings(&request.role_definition_id, &request.directory_scope_id)
            .await?;
        if !settings.allow_extension {
            return Err(PimError::Forbidden(
                "the role's settings do not allow extending an activation; request it again".into(),
            ));
        }
        if seconds < 60 {
            return Err(invalid("durationSeconds", "must be at least 60 seconds"));
        }
        let now = self.now();
        let end = request
            .end_date_time
            .map(to_ms)
            .unwrap_or(now)
            .saturating_add(seconds.saturating_mul(1000));
        if end - now > settings.max_activation_seconds * 1000 {
            return Err(invalid(
                "durationSeconds",
                format!(
                    "an activation can last at most {} seconds from now",
                    settings.max_activation_seconds
                ),
            ));
        }
        let extended = self
            .store
            .transition_pim_request(
                actor,
                id,
                &[RequestState::Active],
                RequestChange {
                    end_at: Some(end),
                    ..RequestChange::to(
                        RequestState::Active,
                        Some(format!("extended by {seconds} s")),
                    )
                },
                "pim.activation.extend",
            )
            .await?;
        self.converge().await?;
        self.notify(&extended, "extended", false).await?;
        Ok(extended)
    }

    /// Queues the notifications of a request's step: mail to the role's recipients (and to
    /// the approvers when `to_approvers`), and the webhook if one is configured.
    async fn notify(
        &self,
        r: &ActivationRequest,
        what: &str,
        to_approvers: bool,
    ) -> Result<(), StoreError> {
        let role = self
            .store
            .get_role_definition(&r.role_definition_id)
            .await?;
        let settings = self
            .settings(&r.role_definition_id, &r.directory_scope_id)
            .await?;
        let requester = self
            .store
            .get_user(&r.principal_id)
            .await
            .map(|u| u.user_principal_name)
            .unwrap_or_else(|_| r.principal_id.clone());
        let subject = format!("PIM: {} {} for {}", role.display_name, what, requester);
        let text = format!(
            "{subject}\n\nRequest: {}\nState: {}\nScope: {}\nDuration: {} s\nJustification: {}\nTicket: {}\n",
            r.id,
            r.state.as_str(),
            r.directory_scope_id,
            r.duration_seconds,
            r.justification.as_deref().unwrap_or("-"),
            r.ticket_number.as_deref().unwrap_or("-"),
        );
        let mut recipients = settings.notification_recipients.clone();
        if to_approvers {
            for a in &settings.approvers {
                match self.store.get_user(a).await {
                    Ok(u) => recipients.extend(u.mail),
                    Err(_) => {
                        let (users, _) = self.store.list_members(a, true).await.unwrap_or_default();
                        recipients.extend(users.into_iter().filter_map(|u| u.mail));
                    }
                }
            }
        }
        recipients.sort();
        recipients.dedup();
        let mut messages: Vec<NewMessage> = recipients
            .into_iter()
            .map(|to| NewMessage {
                channel: "email".into(),
                recipient: to,
                subject: subject.clone(),
                body: text.clone(),
            })
            .collect();
        if let Some(url) = self
            .store
            .setting(WEBHOOK_SETTING)
            .await?
            .filter(|u| !u.is_empty())
        {
            messages.push(NewMessage {
                channel: "webhook".into(),
                recipient: url,
                subject: format!("pim.request.{}", r.state.as_str()),
                body: json!({
                    "event": what,
                    "request": r,
                    "role": { "id": role.id, "displayName": role.display_name },
                    "requester": requester,
                })
                .to_string(),
            });
        }
        self.store.enqueue_notifications(messages).await
    }
}

/// Maps a request that cannot move to a clear API error.
impl From<converge::ActivateError> for PimError {
    fn from(e: converge::ActivateError) -> Self {
        match e {
            converge::ActivateError::Store(e) => e.into(),
        }
    }
}

impl Pim {
    /// Starts the node's share of privileged identity management: every few seconds the
    /// lease holder starts due activations, expires ended ones and takes their grants back,
    /// completes reviews past their deadline and delivers webhooks; every quarter hour it
    /// reconciles the clouds' grants with Trustplane's. Both run at once when the node
    /// starts, so an expiry missed while no node was up happens straight away.
    pub fn spawn_jobs(self: &Arc<Self>, store: Store, node_id: String) {
        use std::time::Duration;
        use trustplane_store::jobs::spawn_leased;
        let pim = self.clone();
        spawn_leased(
            store.clone(),
            "pim",
            node_id.clone(),
            Duration::from_secs(5),
            move || {
                let pim = pim.clone();
                async move {
                    if let Err(e) = pim.run_due().await {
                        tracing::warn!(error = %e, "PIM round failed");
                    }
                }
            },
        );
        let pim = self.clone();
        let quarter_hour = Duration::from_secs(15 * 60);
        spawn_leased(store, "pim-reconcile", node_id, quarter_hour, move || {
            let pim = pim.clone();
            async move {
                match pim.reconcile(&trustplane_model::Actor::system()).await {
                    Ok((found, unreadable)) if !found.is_empty() || !unreadable.is_empty() => {
                        tracing::warn!(
                            outside = found.len(),
                            unreadable = unreadable.len(),
                            "PIM reconciliation found grants made outside Trustplane or could not read a cloud"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "PIM reconciliation failed"),
                }
            }
        });
    }
}
