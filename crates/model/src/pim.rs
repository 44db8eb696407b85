//! Privileged identity management: the rules that govern activating a role (after Entra's
//! role management policy rules) and the activation requests themselves.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// How a role may be activated and assigned, for one role at one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PimSettings {
    /// The longest activation, in seconds.
    pub max_activation_seconds: i64,
    /// Activation needs a second factor proven in the session (or a code with the request).
    pub require_mfa: bool,
    /// Activation needs a justification.
    pub require_justification: bool,
    /// Activation needs a ticket number.
    pub require_ticket: bool,
    /// Activation waits for one of `approvers` to approve.
    pub require_approval: bool,
    /// Users or groups who may approve; never the requester.
    pub approvers: Vec<String>,
    /// Whether an active activation may be extended.
    pub allow_extension: bool,
    /// Whether eligible assignments may be permanent.
    pub allow_permanent_eligible: bool,
    /// The longest eligible assignment when permanent ones are not allowed, in seconds.
    pub max_eligible_seconds: i64,
    /// Whether active assignments (standing access) may be permanent.
    pub allow_permanent_active: bool,
    /// The longest active assignment when permanent ones are not allowed, in seconds.
    pub max_active_seconds: i64,
    /// Mail addresses told about requests, approvals and activations.
    pub notification_recipients: Vec<String>,
}

impl Default for PimSettings {
    /// Entra's defaults: 8 hours, MFA and justification, no approval, eligible assignments may
    /// be permanent, active ones last at most 180 days.
    fn default() -> Self {
        PimSettings {
            max_activation_seconds: 8 * 3600,
            require_mfa: true,
            require_justification: true,
            require_ticket: false,
            require_approval: false,
            approvers: Vec::new(),
            allow_extension: false,
            allow_permanent_eligible: true,
            max_eligible_seconds: 365 * 86_400,
            allow_permanent_active: false,
            max_active_seconds: 180 * 86_400,
            notification_recipients: Vec::new(),
        }
    }
}

impl PimSettings {
    /// Checks the settings' own consistency; the message names the field at fault.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(300..=30 * 86_400).contains(&self.max_activation_seconds) {
            return Err((
                "maxActivationSeconds",
                "must be between 300 (5 minutes) and 2592000 (30 days)".into(),
            ));
        }
        if self.require_approval && self.approvers.is_empty() {
            return Err((
                "approvers",
                "must name at least one user or group when approval is required".into(),
            ));
        }
        if self.max_eligible_seconds <= 0 || self.max_active_seconds <= 0 {
            return Err((
                "maxEligibleSeconds",
                "assignment limits must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Where an activation request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    /// Waiting for an approver.
    PendingApproval,
    /// Approved (or needing no approval) and waiting for its start time, or being granted.
    Approved,
    /// The role is held.
    Active,
    /// An approver refused it.
    Denied,
    /// The requester withdrew it before it became active.
    Cancelled,
    /// Its time ran out.
    Expired,
    /// Ended early, by the requester or an administrator.
    Revoked,
    /// The cloud refused the grant; nothing was left granted.
    Failed,
}

impl RequestState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::PendingApproval => "pendingApproval",
            RequestState::Approved => "approved",
            RequestState::Active => "active",
            RequestState::Denied => "denied",
            RequestState::Cancelled => "cancelled",
            RequestState::Expired => "expired",
            RequestState::Revoked => "revoked",
            RequestState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            RequestState::PendingApproval,
            RequestState::Approved,
            RequestState::Active,
            RequestState::Denied,
            RequestState::Cancelled,
            RequestState::Expired,
            RequestState::Revoked,
            RequestState::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the request is over.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            RequestState::PendingApproval | RequestState::Approved | RequestState::Active
        )
    }
}

/// A request to activate an eligible role for a while.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivationRequest {
    /// Request id.
    pub id: String,
    /// The requester, who gets the role.
    pub principal_id: String,
    /// The role.
    pub role_definition_id: String,
    /// Where the role applies.
    pub directory_scope_id: String,
    /// The eligible assignment the request rests on.
    pub eligibility_id: String,
    /// Where the request is.
    pub state: RequestState,
    /// Why it is there (the approver's comment, the cloud's refusal, who revoked it).
    pub reason: Option<String>,
    /// The requester's reason.
    pub justification: Option<String>,
    /// The change or incident ticket.
    pub ticket_number: Option<String>,
    /// How long the role is wanted, in seconds.
    pub duration_seconds: i64,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub requested_date_time: OffsetDateTime,
    /// The earliest start asked for.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_date_time: Option<OffsetDateTime>,
    /// When the role became held.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_date_time: Option<OffsetDateTime>,
    /// When the role is (or was) to be given up.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end_date_time: Option<OffsetDateTime>,
    /// Who approved or denied.
    pub decided_by: Option<String>,
    /// Whether a second factor was proven for the request.
    pub mfa: bool,
}
