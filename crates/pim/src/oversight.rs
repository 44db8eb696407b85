//! Watching over privileged access: reconciliation with the clouds, PIM alerts, access
//! reviews and the delivery of webhook notifications.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trustplane_model::{new_id, Actor, AssignmentKind, RequestState, RoleResource, User};
use trustplane_store::{Drift, ListQuery, Review, ReviewItem, StoreError};
use utoipa::ToSchema;

use super::PimError;
use super::{cloud_key, Pim, REMOVE_OUTSIDE_SETTING};
use crate::GrantCall;

/// Permanent active holders of one role above which PIM raises an alert.
const MAX_PERMANENT_HOLDERS: usize = 2;
/// Activations of one role by one person within a day above which PIM raises an alert.
const MAX_ACTIVATIONS_PER_DAY: usize = 5;
/// Eligible assignments older than this and never activated are stale.
const STALE_AFTER_MS: i64 = 30 * 86_400_000;
/// Webhook deliveries attempted per round, and attempts before a message is given up on.
const WEBHOOK_BATCH: i64 = 50;
const WEBHOOK_MAX_ATTEMPTS: i64 = 10;

/// A PIM alert, after Entra's: something about privileged access worth a look.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PimAlert {
    /// `rolesAssignedOutsidePim`, `tooManyPermanentHolders`, `rolesNotRequiringMfa`,
    /// `staleEligibleAssignments` or `frequentActivation`.
    pub alert_id: String,
    /// `high`, `medium` or `low`.
    pub severity: String,
    /// What it means.
    pub description: String,
    /// What it was raised for.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// Body of `POST /api/v1/pim/reviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewRequest {
    /// The role whose eligible holders are reviewed.
    pub role_definition_id: String,
    /// Its scope; `/` when absent.
    #[serde(default)]
    pub directory_scope_id: Option<String>,
    /// Users or groups who decide.
    pub reviewers: Vec<String>,
    /// Days until the deadline (1 to 180).
    pub duration_days: i64,
    /// `keep` or `remove`: what happens to assignments nobody decided on.
    pub default_decision: String,
}

impl Pim {
    /// Compares what the clouds hold for each cloud role with what Trustplane granted;
    /// records every grant made outside Trustplane (and removes it when the
    /// `pim.remove_outside_grants` setting is `true`). Roles whose cloud could not be read
    /// are reported in the second list, never as "nothing found".
    pub async fn reconcile(&self, actor: &Actor) -> Result<(Vec<Drift>, Vec<String>), StoreError> {
        let remove = self.store.setting(REMOVE_OUTSIDE_SETTING).await?.as_deref() == Some("true");
        let ours: HashSet<String> = self
            .store
            .pim_grants()
            .await?
            .into_iter()
            .map(|g| g.key)
            .collect();
        let now = self.now();
        let (mut found, mut unreadable) = (Vec::new(), Vec::new());
        let Some(grants) = self.grants.clone() else {
            return Ok((found, vec!["this node cannot read cloud grants".into()]));
        };
        for role in self.store.list_role_definitions().await? {
            let (connection_id, probe) = match &role.resource {
                Some(RoleResource::AwsIdentityCenter {
                    connection_id,
                    instance_arn,
                    permission_set_arn,
                    account_id,
                }) => (
                    connection_id,
                    GrantCall::AwsIdentityCenter {
                        instance_arn: instance_arn.clone(),
                        permission_set_arn: permission_set_arn.clone(),
                        account_id: account_id.clone(),
                        principal_id: String::new(),
                    },
                ),
                Some(RoleResource::AzureRbac {
                    connection_id,
                    scope,
                    role_definition_id,
                }) => (
                    connection_id,
                    GrantCall::AzureRbac {
                        scope: scope.clone(),
                        role_definition_id: role_definition_id.clone(),
                        principal_id: String::new(),
                    },
                ),
                _ => continue,
            };
            let connection = match self.connections.connection(connection_id).await {
                Ok(c) => c,
                Err(e) => {
                    unreadable.push(format!("{}: {e}", role.display_name));
                    continue;
                }
            };
            let holders = match grants.holders(&connection, &probe).await {
                Ok(h) => h,
                Err(e) => {
                    unreadable.push(format!("{}: {e}", role.display_name));
                    continue;
                }
            };
            for h in holders {
                let call = with_principal(&probe, &h.principal_id);
                let key = cloud_key(&call);
                if ours.contains(&key) {
                    continue;
                }
                let removed_at = if remove {
                    match grants.revoke(&connection, &call).await {
                        Ok(()) => Some(now),
                        Err(e) => {
                            tracing::warn!(grant = %key, error = %e, "could not remove a grant made outside Trustplane");
                            None
                        }
                    }
                } else {
                    None
                };
                found.push(Drift {
                    key,
                    role_definition_id: role.id.clone(),
                    principal: h.principal_id.clone(),
                    detail: json!({ "call": call, "principalType": h.principal_type }),
                    first_seen: now,
                    last_seen: now,
                    removed_at,
                });
            }
        }
        // Only when every role could be read may an old finding be marked resolved.
        if unreadable.is_empty() {
            self.store.record_drift(actor, &found).await?;
        } else {
            let mut open = self.store.open_drift().await?;
            open.retain(|d| !found.iter().any(|f| f.key == d.key));
            open.extend(found.iter().cloned());
            self.store.record_drift(actor, &open).await?;
        }
        Ok((found, unreadable))
    }

    /// The PIM alerts as of now.
    pub async fn alerts(&self) -> Result<Vec<PimAlert>, StoreError> {
        let now = self.now();
        let mut alerts = Vec::new();
        let drift = self.store.open_drift().await?;
        if !drift.is_empty() {
            alerts.push(PimAlert {
                alert_id: "rolesAssignedOutsidePim".into(),
                severity: "high".into(),
                description: "Cloud roles were granted outside Trustplane, so nobody activated, justified or approved them.".into(),
                items: drift.iter().map(|d| json!(d)).collect(),
            });
        }
        let roles = self.store.list_role_definitions().await?;
        let assignments = self.all_assignments().await?;
        let requests = self.store.list_pim_requests(None, &[]).await?;
        let managed: HashSet<String> = self
            .store
            .pim_grants()
            .await?
            .into_iter()
            .filter(|g| g.kind == "directory")
            .map(|g| format!("{}|{}", g.user_id, g.role_id))
            .collect();
        let mut permanent: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut eligible_roles: HashSet<&str> = HashSet::new();
        let mut stale = Vec::new();
        for a in &assignments {
            match a.assignment_type {
                AssignmentKind::Active
                    if a.end_date_time.is_none()
                        && !managed
                            .contains(&format!("{}|{}", a.principal_id, a.role_definition_id)) =>
                {
                    permanent
                        .entry(a.role_definition_id.as_str())
                        .or_default()
                        .push(a.principal_id.as_str());
                }
                AssignmentKind::Eligible => {
                    eligible_roles.insert(a.role_definition_id.as_str());
                    let old = now - trustplane_model::to_ms(a.created_date_time) > STALE_AFTER_MS;
                    let used = requests.iter().any(|r| {
                        r.eligibility_id == a.id
                            && r.activated_date_time
                                .is_some_and(|t| now - trustplane_model::to_ms(t) <= STALE_AFTER_MS)
                    });
                    if old && !used {
                        stale.push(json!({ "assignmentId": a.id, "principalId": a.principal_id, "roleDefinitionId": a.role_definition_id }));
                    }
                }
                _ => {}
            }
        }
        let privileged = |role_id: &str| {
            roles.iter().any(|r| {
                r.id == role_id
                    && (r.resource.is_some()
                        || r.role_permissions.iter().any(|p| {
                            p.allowed_resource_actions
                                .iter()
                                .any(|a| a == "*" || a.ends_with("/write"))
                        }))
            })
        };
        let crowded: Vec<Value> = permanent
            .iter()
            .filter(|(role, holders)| holders.len() > MAX_PERMANENT_HOLDERS && privileged(role))
            .map(|(role, holders)| json!({ "roleDefinitionId": role, "permanentHolders": holders }))
            .collect();
        if !crowded.is_empty() {
            alerts.push(PimAlert {
                alert_id: "tooManyPermanentHolders".into(),
                severity: "medium".into(),
                description: format!("Privileged roles held permanently by more than {MAX_PERMANENT_HOLDERS} principals; make them eligible instead."),
                items: crowded,
            });
        }
        let mut no_mfa = Vec::new();
        for role in &eligible_roles {
            if !self.settings(role, "/").await?.require_mfa {
                no_mfa.push(json!({ "roleDefinitionId": role }));
            }
        }
        if !no_mfa.is_empty() {
            alerts.push(PimAlert {
                alert_id: "rolesNotRequiringMfa".into(),
                severity: "medium".into(),
                description: "Roles that can be activated without a second factor.".into(),
                items: no_mfa,
            });
        }
        if !stale.is_empty() {
            alerts.push(PimAlert {
                alert_id: "staleEligibleAssignments".into(),
                severity: "low".into(),
                description:
                    "Eligible assignments not activated in 30 days; remove what is not needed."
                        .into(),
                items: stale,
            });
        }
        let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
        for r in &requests {
            if r.activated_date_time
                .is_some_and(|t| now - trustplane_model::to_ms(t) <= 86_400_000)
            {
                *counts
                    .entry((r.principal_id.as_str(), r.role_definition_id.as_str()))
                    .or_default() += 1;
            }
        }
        let frequent: Vec<Value> = counts
            .into_iter()
            .filter(|(_, n)| *n > MAX_ACTIVATIONS_PER_DAY)
            .map(|((user, role), n)| json!({ "principalId": user, "roleDefinitionId": role, "activationsInLastDay": n }))
            .collect();
        if !frequent.is_empty() {
            alerts.push(PimAlert {
                alert_id: "frequentActivation".into(),
                severity: "low".into(),
                description: format!("Roles activated more than {MAX_ACTIVATIONS_PER_DAY} times in a day by one person; the eligibility may hide a standing need, or misuse."),
                items: frequent,
            });
        }
        Ok(alerts)
    }

    async fn all_assignments(&self) -> Result<Vec<trustplane_model::RoleAssignment>, StoreError> {
        let mut q = ListQuery {
            filter: Vec::new(),
            top: 999,
            skip_token: None,
        };
        let mut out = Vec::new();
        loop {
            let page = self.store.list_role_assignments(&q).await?;
            out.extend(page.items);
            match page.next {
                Some(next) => q.skip_token = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Starts an access review of who is eligible for a role.
    pub async fn start_review(
        &self,
        actor: &Actor,
        body: ReviewRequest,
    ) -> Result<Review, PimError> {
        let role = self
            .store
            .get_role_definition(&body.role_definition_id)
            .await?;
        let scope = body.directory_scope_id.unwrap_or_else(|| "/".into());
        if body.reviewers.is_empty() {
            return Err(super::invalid("reviewers", "name at least one reviewer"));
        }
        if !(1..=180).contains(&body.duration_days) {
            return Err(super::invalid("durationDays", "must be between 1 and 180"));
        }
        if !["keep", "remove"].contains(&body.default_decision.as_str()) {
            return Err(super::invalid(
                "defaultDecision",
                "must be `keep` or `remove`",
            ));
        }
        let items = self
            .all_assignments()
            .await?
            .into_iter()
            .filter(|a| {
                a.assignment_type == AssignmentKind::Eligible
                    && a.role_definition_id == role.id
                    && a.directory_scope_id == scope
            })
            .map(|a| ReviewItem {
                assignment_id: a.id,
                principal_id: a.principal_id,
                decision: None,
                reviewer_id: None,
                comment: None,
                outcome: None,
            })
            .collect();
        let now = self.now();
        let review = Review {
            id: new_id(),
            role_definition_id: role.id,
            directory_scope_id: scope,
            reviewers: body.reviewers,
            default_decision: body.default_decision,
            created_by: actor.id.clone(),
            created_at: now,
            due_at: now + body.duration_days * 86_400_000,
            status: "inProgress".into(),
            completed_at: None,
            items,
        };
        self.store.create_pim_review(actor, &review).await?;
        Ok(review)
    }

    /// A reviewer's decision on one assignment: `keep` or `remove`.
    pub async fn review_decision(
        &self,
        reviewer: &User,
        actor: &Actor,
        review_id: &str,
        assignment_id: &str,
        decision: &str,
        comment: Option<String>,
    ) -> Result<Review, PimError> {
        let review = self.store.get_pim_review(review_id).await?;
        if !["keep", "remove"].contains(&decision) {
            return Err(super::invalid("decision", "must be `keep` or `remove`"));
        }
        if !self.is_among(&reviewer.id, &review.reviewers).await? {
            return Err(PimError::Forbidden(format!(
                "{} is not a reviewer of this review",
                reviewer.user_principal_name
            )));
        }
        if review
            .items
            .iter()
            .any(|i| i.assignment_id == assignment_id && i.principal_id == reviewer.id)
        {
            return Err(PimError::Forbidden(
                "nobody reviews their own access".into(),
            ));
        }
        self.store
            .decide_pim_review_item(actor, review_id, assignment_id, decision, comment)
            .await?;
        Ok(self.store.get_pim_review(review_id).await?)
    }

    /// Applies the decisions of every review past its deadline; undecided items get the
    /// review's default.
    pub(super) async fn complete_due_reviews(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for id in self.store.pim_review_ids(Some(self.now())).await? {
            let review = self.store.get_pim_review(&id).await?;
            let outcomes: Vec<(String, String)> = review
                .items
                .iter()
                .map(|i| {
                    let outcome = match (i.decision.as_deref(), review.default_decision.as_str()) {
                        (Some("remove"), _) => "removed",
                        (Some(_), _) => "kept",
                        (None, "remove") => "defaultRemoved",
                        (None, _) => "defaultKept",
                    };
                    (i.assignment_id.clone(), outcome.to_string())
                })
                .collect();
            match self
                .store
                .complete_pim_review(&Actor::system(), &id, &outcomes)
                .await
            {
                Ok(()) => n += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Posts queued webhook notifications; failures stay queued and are retried.
    pub(super) async fn deliver_webhooks(&self) -> Result<usize, StoreError> {
        let pending = self.store.outbox(Some("webhook"), WEBHOOK_BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StoreError::Corrupt(format!("HTTP client: {e}")))?;
        let mut delivered = 0;
        for m in pending {
            if m.attempts >= WEBHOOK_MAX_ATTEMPTS {
                continue;
            }
            let outcome = match client
                .post(&m.recipient)
                .header("content-type", "application/json")
                .header("x-trustplane-event", &m.subject)
                .body(m.body.clone())
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Err(e.without_url().to_string()),
            };
            if outcome.is_ok() {
                delivered += 1;
            }
            self.store.mark_notification(&m.id, outcome).await?;
        }
        Ok(delivered)
    }

    /// Requests in a state, visible to an approver: those they may decide on.
    pub async fn approvals_for(
        &self,
        approver: &User,
    ) -> Result<Vec<trustplane_model::ActivationRequest>, StoreError> {
        let mut out = Vec::new();
        for r in self
            .store
            .list_pim_requests(None, &[RequestState::PendingApproval])
            .await?
        {
            if r.principal_id == approver.id {
                continue;
            }
            let settings = self
                .settings(&r.role_definition_id, &r.directory_scope_id)
                .await?;
            if self.is_approver(&approver.id, &settings).await? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

fn with_principal(probe: &GrantCall, principal: &str) -> GrantCall {
    match probe.clone() {
        GrantCall::AwsIdentityCenter {
            instance_arn,
            permission_set_arn,
            account_id,
            ..
        } => GrantCall::AwsIdentityCenter {
            instance_arn,
            permission_set_arn,
            account_id,
            principal_id: principal.to_string(),
        },
        GrantCall::AzureRbac {
            scope,
            role_definition_id,
            ..
        } => GrantCall::AzureRbac {
            scope,
            role_definition_id,
            principal_id: principal.to_string(),
        },
    }
}
