//! Privileged identity management records: activation rules, activation requests and their
//! state changes, what Trustplane has granted, the notification outbox, access reviews and
//! grants found outside Trustplane. The decisions (who may approve, what is due) are the
//! server's; this module keeps the records consistent and audits every change with it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{
    from_ms, new_id, to_ms, ActivationRequest, Actor, Event, Outcome, PimSettings, RequestState,
    RoleAssignment, RoleDefinition, Target, Timestamp,
};

use crate::db::{Bind, Store, WriteTx};
use crate::directory::{assignment_from_row, ASSIGNMENTS, TRANSITIVE_GROUPS};
use crate::error::{Result, StoreError};

/// Something Trustplane granted for activations: the active directory assignment of a user
/// (`kind` = `directory`) or a grant in a cloud (`cloud`, with what the cloud call needs in
/// `target`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PimGrant {
    /// What identifies the grant where it lives (two roles granting the same thing share it).
    pub key: String,
    /// `directory`, `cloud`, or `awsSessionDeny` (a revocation of AWS role sessions, kept on
    /// the role until `until`).
    pub kind: String,
    /// The user holding it.
    pub user_id: String,
    /// The role it was granted for.
    pub role_id: String,
    /// The role's scope.
    pub scope: String,
    /// For cloud grants: the provider's call arguments.
    pub target: Value,
    /// `granting` (asked for, not confirmed), `held`, or `revoking` (removal asked for).
    pub state: String,
    /// When the last activation it serves ends, ms.
    pub until: Timestamp,
    /// The last cloud failure, if any.
    pub last_error: Option<String>,
}

/// A notification waiting to be sent (or sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// Message id.
    pub id: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// Mail address or URL.
    pub recipient: String,
    /// Subject line (the event name for webhooks).
    pub subject: String,
    /// Text of the mail, JSON for webhooks.
    pub body: String,
    /// When queued, ms.
    pub created_at: Timestamp,
    /// When delivered, ms.
    pub sent_at: Option<Timestamp>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// `email` or `webhook`.
    pub channel: String,
    /// Mail address or URL.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// An access review of who is eligible for a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// Review id.
    pub id: String,
    /// The role reviewed.
    pub role_definition_id: String,
    /// Its scope.
    pub directory_scope_id: String,
    /// Users or groups who decide.
    pub reviewers: Vec<String>,
    /// What happens to an assignment nobody decided on by the deadline: `keep` or `remove`.
    pub default_decision: String,
    /// Who started it.
    pub created_by: String,
    /// Started, ms.
    pub created_at: Timestamp,
    /// Deadline, ms.
    pub due_at: Timestamp,
    /// `inProgress` or `completed`.
    pub status: String,
    /// When decisions were applied, ms.
    pub completed_at: Option<Timestamp>,
    /// One line per eligible assignment.
    pub items: Vec<ReviewItem>,
}

/// One assignment under review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItem {
    /// The eligible assignment.
    pub assignment_id: String,
    /// Who holds it.
    pub principal_id: String,
    /// `keep` or `remove`, once decided.
    pub decision: Option<String>,
    /// Who decided.
    pub reviewer_id: Option<String>,
    /// Why.
    pub comment: Option<String>,
    /// What was applied at completion: `kept`, `removed`, `defaultKept`, `defaultRemoved`.
    pub outcome: Option<String>,
}

/// A grant found in a cloud that Trustplane did not make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// What identifies it.
    pub key: String,
    /// The Trustplane role whose cloud role it is.
    pub role_definition_id: String,
    /// The cloud principal holding it.
    pub principal: String,
    /// The cloud's description of it.
    pub detail: Value,
    /// First and last seen by reconciliation, ms.
    pub first_seen: Timestamp,
    /// Last seen, ms.
    pub last_seen: Timestamp,
    /// When reconciliation removed it, ms.
    pub removed_at: Option<Timestamp>,
}

const GRANT_COLUMNS: &str =
    "grant_key, kind, user_id, role_id, scope, target, state, until_at, last_error";

const REQUEST_COLUMNS: &str =
    "id, user_id, role_id, scope, eligibility_id, state, reason, justification, \
    ticket, duration_secs, requested_at, start_at, activated_at, end_at, decided_by, mfa";

fn request_from_row(row: &AnyRow) -> Result<ActivationRequest> {
    let state: String = row.try_get("state")?;
    Ok(ActivationRequest {
        id: row.try_get("id")?,
        principal_id: row.try_get("user_id")?,
        role_definition_id: row.try_get("role_id")?,
        directory_scope_id: row.try_get("scope")?,
        eligibility_id: row.try_get("eligibility_id")?,
        state: RequestState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("request state `{state}`")))?,
        reason: row.try_get("reason")?,
        justification: row.try_get("justification")?,
        ticket_number: row.try_get("ticket")?,
        duration_seconds: row.try_get("duration_secs")?,
        requested_date_time: from_ms(row.try_get("requested_at")?),
        start_date_time: row.try_get::<Option<i64>, _>("start_at")?.map(from_ms),
        activated_date_time: row.try_get::<Option<i64>, _>("activated_at")?.map(from_ms),
        end_date_time: row.try_get::<Option<i64>, _>("end_at")?.map(from_ms),
        decided_by: row.try_get("decided_by")?,
        mfa: row.try_get::<i64, _>("mfa")? != 0,
    })
}

fn grant_from_row(row: &AnyRow) -> Result<PimGrant> {
    let target: String = row.try_get("target")?;
    Ok(PimGrant {
        key: row.try_get("grant_key")?,
        kind: row.try_get("kind")?,
        user_id: row.try_get("user_id")?,
        role_id: row.try_get("role_id")?,
        scope: row.try_get("scope")?,
        target: serde_json::from_str(&target)?,
        state: row.try_get("state")?,
        until: row.try_get("until_at")?,
        last_error: row.try_get("last_error")?,
    })
}

fn outbox_from_row(row: &AnyRow) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

/// An audit event of privileged identity management.
pub fn pim_event(actor: &Actor, activity: &str, target: Target, after: Option<Value>) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "pim".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(target),
        result: Outcome::Success,
        result_reason: None,
        before: None,
        after,
    }
}

fn request_target(r: &ActivationRequest) -> Target {
    Target {
        kind: "activationRequest".into(),
        id: r.id.clone(),
        display_name: Some(r.role_definition_id.clone()),
    }
}

/// A state change of a request: the new state and what comes with it.
#[derive(Debug, Clone)]
pub struct RequestChange {
    /// The new state.
    pub state: RequestState,
    /// Why.
    pub reason: Option<String>,
    /// The approver or denier.
    pub decided_by: Option<String>,
    /// When the role became held, ms.
    pub activated_at: Option<Timestamp>,
    /// When it is to be given up, ms.
    pub end_at: Option<Timestamp>,
}

impl RequestChange {
    /// Just a new state and its reason.
    pub fn to(state: RequestState, reason: Option<String>) -> Self {
        RequestChange {
            state,
            reason,
            decided_by: None,
            activated_at: None,
            end_at: None,
        }
    }
}

impl Store {
    /// The activation rules stored for a role at a scope, if any.
    pub async fn pim_settings(&self, role_id: &str, scope: &str) -> Result<Option<PimSettings>> {
        let row = self
            .fetch_optional(
                "SELECT body FROM pim_settings WHERE role_id = $1 AND scope = $2",
                &[Bind::Text(role_id.into()), Bind::Text(scope.into())],
            )
            .await?;
        match row {
            Some(r) => Ok(Some(serde_json::from_str(
                &r.try_get::<String, _>("body")?,
            )?)),
            None => Ok(None),
        }
    }

    /// Stores the activation rules of a role at a scope.
    pub async fn put_pim_settings(
        &self,
        actor: &Actor,
        role_id: &str,
        scope: &str,
        settings: &PimSettings,
    ) -> Result<()> {
        let body = serde_json::to_string(settings)?;
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO pim_settings (role_id, scope, body, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (role_id, scope) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            &[
                Bind::Text(role_id.into()),
                Bind::Text(scope.into()),
                Bind::Text(body),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.audit(pim_event(
            actor,
            "pim.settings.update",
            Target {
                kind: "roleDefinition".into(),
                id: role_id.into(),
                display_name: Some(scope.into()),
            },
            serde_json::to_value(settings).ok(),
        ))
        .await?;
        tx.commit().await
    }

    /// The eligible assignments that apply to a user now: to the user or to a group the user
    /// is in (transitively), whose schedule includes the present.
    pub async fn eligible_assignments(&self, user_id: &str) -> Result<Vec<RoleAssignment>> {
        let now = self.clock.now_ms();
        let sql = format!(
            "SELECT {} FROM role_assignments WHERE assignment_type = 'eligible' \
             AND (start_at IS NULL OR start_at <= $2) AND (end_at IS NULL OR end_at > $2) \
             AND (principal_id = $1 OR principal_id IN ({})) ORDER BY created_at, id",
            ASSIGNMENTS.columns, TRANSITIVE_GROUPS
        );
        self.fetch_all(&sql, &[Bind::Text(user_id.into()), Bind::Int(now)])
            .await?
            .iter()
            .map(assignment_from_row)
            .collect()
    }

    /// Records a new activation request.
    pub async fn insert_pim_request(&self, actor: &Actor, r: &ActivationRequest) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            &format!(
                "INSERT INTO pim_requests ({REQUEST_COLUMNS}, updated_at) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ),
            &[
                Bind::Text(r.id.clone()),
                Bind::Text(r.principal_id.clone()),
                Bind::Text(r.role_definition_id.clone()),
                Bind::Text(r.directory_scope_id.clone()),
                Bind::Text(r.eligibility_id.clone()),
                Bind::Text(r.state.as_str().into()),
                Bind::OptText(r.reason.clone()),
                Bind::OptText(r.justification.clone()),
                Bind::OptText(r.ticket_number.clone()),
                Bind::Int(r.duration_seconds),
                Bind::Int(to_ms(r.requested_date_time)),
                Bind::OptInt(r.start_date_time.map(to_ms)),
                Bind::OptInt(r.activated_date_time.map(to_ms)),
                Bind::OptInt(r.end_date_time.map(to_ms)),
                Bind::OptText(r.decided_by.clone()),
                Bind::Int(r.mfa.into()),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.audit(pim_event(
            actor,
            "pim.request.create",
            request_target(r),
            serde_json::to_value(r).ok(),
        ))
        .await?;
        tx.commit().await
    }

    /// One request.
    pub async fn get_pim_request(&self, id: &str) -> Result<ActivationRequest> {
        let row = self
            .fetch_optional(
                &format!("SELECT {REQUEST_COLUMNS} FROM pim_requests WHERE id = $1"),
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "activationRequest",
                id: id.into(),
            })?;
        request_from_row(&row)
    }

    /// Requests, newest first: of one user if given, in one of `states` if any given.
    pub async fn list_pim_requests(
        &self,
        user_id: Option<&str>,
        states: &[RequestState],
    ) -> Result<Vec<ActivationRequest>> {
        let mut sql = format!("SELECT {REQUEST_COLUMNS} FROM pim_requests WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(u) = user_id {
            binds.push(Bind::Text(u.into()));
            sql.push_str(&format!(" AND user_id = ${}", binds.len()));
        }
        if !states.is_empty() {
            let mut marks = Vec::new();
            for s in states {
                binds.push(Bind::Text(s.as_str().into()));
                marks.push(format!("${}", binds.len()));
            }
            sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
        }
        sql.push_str(" ORDER BY requested_at DESC, id");
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(request_from_row)
            .collect()
    }

    /// Moves a request from one of `from` to a new state, with its audit event; a request no
    /// longer in one of `from` (another node or person acted first) is a conflict.
    pub async fn transition_pim_request(
        &self,
        actor: &Actor,
        id: &str,
        from: &[RequestState],
        change: RequestChange,
        activity: &str,
    ) -> Result<ActivationRequest> {
        let mut tx = self.begin_write().await?;
        let r = transition_in(&mut tx, actor, id, from, change, activity).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Every grant Trustplane holds or is working on.
    pub async fn pim_grants(&self) -> Result<Vec<PimGrant>> {
        self.fetch_all(
            &format!("SELECT {GRANT_COLUMNS} FROM pim_grants ORDER BY grant_key"),
            &[],
        )
        .await?
        .iter()
        .map(grant_from_row)
        .collect()
    }

    /// Writes a grant (before the cloud is asked, and after it answered).
    pub async fn put_pim_grant(&self, g: &PimGrant) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO pim_grants (grant_key, kind, user_id, role_id, scope, target, state, until_at, last_error, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (grant_key) DO UPDATE SET \
             state = excluded.state, until_at = excluded.until_at, last_error = excluded.last_error, \
             target = excluded.target, updated_at = excluded.updated_at",
            &[
                Bind::Text(g.key.clone()),
                Bind::Text(g.kind.clone()),
                Bind::Text(g.user_id.clone()),
                Bind::Text(g.role_id.clone()),
                Bind::Text(g.scope.clone()),
                Bind::Text(g.target.to_string()),
                Bind::Text(g.state.clone()),
                Bind::Int(g.until),
                Bind::OptText(g.last_error.clone()),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.commit().await
    }

    /// Forgets a grant once its removal is confirmed.
    pub async fn delete_pim_grant(&self, key: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM pim_grants WHERE grant_key = $1",
            &[Bind::Text(key.into())],
        )
        .await?;
        tx.commit().await
    }

    /// Gives a user the active directory assignment of a role until `end` (ms), creating or
    /// extending the assignment that activations manage.
    pub async fn hold_activated_role(
        &self,
        actor: &Actor,
        user_id: &str,
        role_id: &str,
        scope: &str,
        end: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let changed = tx
            .execute(
                "UPDATE role_assignments SET end_at = $4 WHERE principal_id = $1 AND role_definition_id = $2 \
                 AND directory_scope_id = $3 AND assignment_type = 'active'",
                &[
                    Bind::Text(user_id.into()),
                    Bind::Text(role_id.into()),
                    Bind::Text(scope.into()),
                    Bind::Int(end),
                ],
            )
            .await?;
        if changed == 0 {
            let id = new_id();
            let now = tx.now;
            tx.execute(
                "INSERT INTO role_assignments (id, principal_id, principal_type, role_definition_id, \
                 directory_scope_id, assignment_type, start_at, end_at, created_at) \
                 VALUES ($1, $2, 'user', $3, $4, 'active', $5, $6, $5)",
                &[
                    Bind::Text(id.clone()),
                    Bind::Text(user_id.into()),
                    Bind::Text(role_id.into()),
                    Bind::Text(scope.into()),
                    Bind::Int(now),
                    Bind::Int(end),
                ],
            )
            .await?;
        }
        tx.audit(pim_event(
            actor,
            "pim.assignment.hold",
            Target {
                kind: "user".into(),
                id: user_id.into(),
                display_name: Some(role_id.into()),
            },
            Some(serde_json::json!({ "roleDefinitionId": role_id, "directoryScopeId": scope, "endDateTime": from_ms(end).to_string() })),
        ))
        .await?;
        tx.commit().await
    }

    /// Takes away the active directory assignment that activations gave.
    pub async fn release_activated_role(
        &self,
        actor: &Actor,
        user_id: &str,
        role_id: &str,
        scope: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM role_assignments WHERE principal_id = $1 AND role_definition_id = $2 \
             AND directory_scope_id = $3 AND assignment_type = 'active'",
            &[
                Bind::Text(user_id.into()),
                Bind::Text(role_id.into()),
                Bind::Text(scope.into()),
            ],
        )
        .await?;
        tx.audit(pim_event(
            actor,
            "pim.assignment.release",
            Target {
                kind: "user".into(),
                id: user_id.into(),
                display_name: Some(role_id.into()),
            },
            Some(serde_json::json!({ "roleDefinitionId": role_id, "directoryScopeId": scope })),
        ))
        .await?;
        tx.commit().await
    }

    /// The active assignment of a role to a user itself (not through a group), if any.
    pub async fn direct_active_assignment(
        &self,
        user_id: &str,
        role_id: &str,
        scope: &str,
    ) -> Result<Option<RoleAssignment>> {
        let sql = format!(
            "SELECT {} FROM role_assignments WHERE principal_id = $1 AND role_definition_id = $2 \
             AND directory_scope_id = $3 AND assignment_type = 'active'",
            ASSIGNMENTS.columns
        );
        self.fetch_optional(
            &sql,
            &[
                Bind::Text(user_id.into()),
                Bind::Text(role_id.into()),
                Bind::Text(scope.into()),
            ],
        )
        .await?
        .as_ref()
        .map(assignment_from_row)
        .transpose()
    }

    /// The grant record of a key, if Trustplane holds or is working on one.
    pub async fn pim_grant(&self, key: &str) -> Result<Option<PimGrant>> {
        self.fetch_optional(
            &format!("SELECT {GRANT_COLUMNS} FROM pim_grants WHERE grant_key = $1"),
            &[Bind::Text(key.into())],
        )
        .await?
        .as_ref()
        .map(grant_from_row)
        .transpose()
    }

    /// Queues notifications.
    pub async fn enqueue_notifications(&self, messages: Vec<NewMessage>) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        for m in messages {
            tx.execute(
                "INSERT INTO pim_outbox (id, channel, recipient, subject, body, created_at, attempts) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0)",
                &[
                    Bind::Text(new_id()),
                    Bind::Text(m.channel),
                    Bind::Text(m.recipient),
                    Bind::Text(m.subject),
                    Bind::Text(m.body),
                    Bind::Int(now),
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    /// The outbox, newest first; only unsent messages of `channel` if given.
    pub async fn outbox(&self, unsent_of: Option<&str>, limit: i64) -> Result<Vec<OutboxMessage>> {
        let cols =
            "id, channel, recipient, subject, body, created_at, sent_at, attempts, last_error";
        let (sql, binds) = match unsent_of {
            Some(c) => (
                format!("SELECT {cols} FROM pim_outbox WHERE sent_at IS NULL AND channel = $1 ORDER BY created_at, id LIMIT $2"),
                vec![Bind::Text(c.into()), Bind::Int(limit)],
            ),
            None => (
                format!("SELECT {cols} FROM pim_outbox ORDER BY created_at DESC, id LIMIT $1"),
                vec![Bind::Int(limit)],
            ),
        };
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(outbox_from_row)
            .collect()
    }

    /// Records a delivery attempt.
    pub async fn mark_notification(
        &self,
        id: &str,
        outcome: std::result::Result<(), String>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let (sql, binds) = match outcome {
            Ok(()) => (
                "UPDATE pim_outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1",
                vec![Bind::Text(id.into()), Bind::Int(now)],
            ),
            Err(e) => (
                "UPDATE pim_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                vec![Bind::Text(id.into()), Bind::Text(e)],
            ),
        };
        tx.execute(sql, &binds).await?;
        tx.commit().await
    }

    /// Starts an access review with one item per assignment.
    pub async fn create_pim_review(&self, actor: &Actor, review: &Review) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "INSERT INTO pim_reviews (id, role_id, scope, reviewers, default_decision, created_by, created_at, due_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'inProgress')",
            &[
                Bind::Text(review.id.clone()),
                Bind::Text(review.role_definition_id.clone()),
                Bind::Text(review.directory_scope_id.clone()),
                Bind::Text(serde_json::to_string(&review.reviewers)?),
                Bind::Text(review.default_decision.clone()),
                Bind::Text(review.created_by.clone()),
                Bind::Int(review.created_at),
                Bind::Int(review.due_at),
            ],
        )
        .await?;
        for item in &review.items {
            tx.execute(
                "INSERT INTO pim_review_items (review_id, assignment_id, principal_id) VALUES ($1, $2, $3)",
                &[
                    Bind::Text(review.id.clone()),
                    Bind::Text(item.assignment_id.clone()),
                    Bind::Text(item.principal_id.clone()),
                ],
            )
            .await?;
        }
        tx.audit(pim_event(
            actor,
            "pim.review.create",
            review_target(&review.id, &review.role_definition_id),
            serde_json::to_value(review).ok(),
        ))
        .await?;
        tx.commit().await
    }

    /// One review with its items.
    pub async fn get_pim_review(&self, id: &str) -> Result<Review> {
        let row = self
            .fetch_optional(
                "SELECT id, role_id, scope, reviewers, default_decision, created_by, created_at, due_at, status, completed_at \
                 FROM pim_reviews WHERE id = $1",
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "accessReview",
                id: id.into(),
            })?;
        let items = self
            .fetch_all(
                "SELECT assignment_id, principal_id, decision, reviewer_id, comment, outcome \
                 FROM pim_review_items WHERE review_id = $1 ORDER BY principal_id, assignment_id",
                &[Bind::Text(id.into())],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(ReviewItem {
                    assignment_id: r.try_get("assignment_id")?,
                    principal_id: r.try_get("principal_id")?,
                    decision: r.try_get("decision")?,
                    reviewer_id: r.try_get("reviewer_id")?,
                    comment: r.try_get("comment")?,
                    outcome: r.try_get("outcome")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let reviewers: String = row.try_get("reviewers")?;
        Ok(Review {
            id: row.try_get("id")?,
            role_definition_id: row.try_get("role_id")?,
            directory_scope_id: row.try_get("scope")?,
            reviewers: serde_json::from_str(&reviewers)?,
            default_decision: row.try_get("default_decision")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            due_at: row.try_get("due_at")?,
            status: row.try_get("status")?,
            completed_at: row.try_get("completed_at")?,
            items,
        })
    }

    /// Ids of reviews, newest first; only those in progress and due by `due_by` (ms) if given.
    pub async fn pim_review_ids(&self, due_by: Option<Timestamp>) -> Result<Vec<String>> {
        let rows = match due_by {
            Some(t) => {
                self.fetch_all(
                    "SELECT id FROM pim_reviews WHERE status = 'inProgress' AND due_at <= $1 ORDER BY due_at, id",
                    &[Bind::Int(t)],
                )
                .await?
            }
            None => {
                self.fetch_all(
                    "SELECT id FROM pim_reviews ORDER BY created_at DESC, id",
                    &[],
                )
                .await?
            }
        };
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    /// Records a reviewer's decision on one item of a review in progress.
    pub async fn decide_pim_review_item(
        &self,
        actor: &Actor,
        review_id: &str,
        assignment_id: &str,
        decision: &str,
        comment: Option<String>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let changed = tx
            .execute(
                "UPDATE pim_review_items SET decision = $3, reviewer_id = $4, comment = $5, decided_at = $6 \
                 WHERE review_id = $1 AND assignment_id = $2 AND EXISTS \
                 (SELECT 1 FROM pim_reviews r WHERE r.id = $1 AND r.status = 'inProgress')",
                &[
                    Bind::Text(review_id.into()),
                    Bind::Text(assignment_id.into()),
                    Bind::Text(decision.into()),
                    Bind::Text(actor.id.clone()),
                    Bind::OptText(comment.clone()),
                    Bind::Int(now),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict(
                "the review is complete or does not cover this assignment".into(),
            ));
        }
        tx.audit(pim_event(
            actor,
            "pim.review.decide",
            review_target(review_id, assignment_id),
            Some(serde_json::json!({ "assignmentId": assignment_id, "decision": decision, "comment": comment })),
        ))
        .await?;
        tx.commit().await
    }

    /// Completes a review: records each item's outcome and removes the eligible assignments
    /// whose outcome removes them, in one transaction.
    pub async fn complete_pim_review(
        &self,
        actor: &Actor,
        review_id: &str,
        outcomes: &[(String, String)],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let changed = tx
            .execute(
                "UPDATE pim_reviews SET status = 'completed', completed_at = $2 WHERE id = $1 AND status = 'inProgress'",
                &[Bind::Text(review_id.into()), Bind::Int(now)],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict(
                "the review is already complete".into(),
            ));
        }
        for (assignment_id, outcome) in outcomes {
            tx.execute(
                "UPDATE pim_review_items SET outcome = $3 WHERE review_id = $1 AND assignment_id = $2",
                &[
                    Bind::Text(review_id.into()),
                    Bind::Text(assignment_id.clone()),
                    Bind::Text(outcome.clone()),
                ],
            )
            .await?;
            if outcome.ends_with("emoved") {
                tx.execute(
                    "DELETE FROM role_assignments WHERE id = $1 AND assignment_type = 'eligible'",
                    &[Bind::Text(assignment_id.clone())],
                )
                .await?;
            }
        }
        tx.audit(pim_event(
            actor,
            "pim.review.complete",
            review_target(review_id, review_id),
            serde_json::to_value(outcomes).ok(),
        ))
        .await?;
        tx.commit().await
    }

    /// Records grants found outside Trustplane in one reconciliation, and marks those no
    /// longer found as resolved.
    pub async fn record_drift(&self, actor: &Actor, found: &[Drift]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        for d in found {
            let known = tx
                .fetch_optional(
                    "SELECT drift_key FROM pim_drift WHERE drift_key = $1 AND resolved_at IS NULL",
                    &[Bind::Text(d.key.clone())],
                )
                .await?
                .is_some();
            if known {
                tx.execute(
                    "UPDATE pim_drift SET last_seen = $2, removed_at = $3, detail = $4 WHERE drift_key = $1",
                    &[
                        Bind::Text(d.key.clone()),
                        Bind::Int(now),
                        Bind::OptInt(d.removed_at),
                        Bind::Text(d.detail.to_string()),
                    ],
                )
                .await?;
            } else {
                tx.execute(
                    "DELETE FROM pim_drift WHERE drift_key = $1",
                    &[Bind::Text(d.key.clone())],
                )
                .await?;
                tx.execute(
                    "INSERT INTO pim_drift (drift_key, role_id, principal, detail, first_seen, last_seen, removed_at) \
                     VALUES ($1, $2, $3, $4, $5, $5, $6)",
                    &[
                        Bind::Text(d.key.clone()),
                        Bind::Text(d.role_definition_id.clone()),
                        Bind::Text(d.principal.clone()),
                        Bind::Text(d.detail.to_string()),
                        Bind::Int(now),
                        Bind::OptInt(d.removed_at),
                    ],
                )
                .await?;
                tx.audit(pim_event(
                    actor,
                    "pim.reconcile.outsideGrant",
                    Target {
                        kind: "cloudGrant".into(),
                        id: d.key.clone(),
                        display_name: Some(d.role_definition_id.clone()),
                    },
                    serde_json::to_value(d).ok(),
                ))
                .await?;
            }
        }
        let keys: Vec<&str> = found.iter().map(|d| d.key.as_str()).collect();
        for row in tx
            .fetch_all(
                "SELECT drift_key FROM pim_drift WHERE resolved_at IS NULL",
                &[],
            )
            .await?
        {
            let key: String = row.try_get("drift_key")?;
            if !keys.contains(&key.as_str()) {
                tx.execute(
                    "UPDATE pim_drift SET resolved_at = $2 WHERE drift_key = $1",
                    &[Bind::Text(key), Bind::Int(now)],
                )
                .await?;
            }
        }
        tx.commit().await
    }

    /// Grants found outside Trustplane and still there at the last reconciliation.
    pub async fn open_drift(&self) -> Result<Vec<Drift>> {
        self.fetch_all(
            "SELECT drift_key, role_id, principal, detail, first_seen, last_seen, removed_at \
             FROM pim_drift WHERE resolved_at IS NULL ORDER BY first_seen, drift_key",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(Drift {
                key: r.try_get("drift_key")?,
                role_definition_id: r.try_get("role_id")?,
                principal: r.try_get("principal")?,
                detail: serde_json::from_str(&detail)?,
                first_seen: r.try_get("first_seen")?,
                last_seen: r.try_get("last_seen")?,
                removed_at: r.try_get("removed_at")?,
            })
        })
        .collect()
    }
}

fn review_target(review_id: &str, name: &str) -> Target {
    Target {
        kind: "accessReview".into(),
        id: review_id.into(),
        display_name: Some(name.into()),
    }
}

/// Ends every open request of a user whose account is being disabled: active ones are
/// revoked now, pending and approved ones cancelled; each change is audited.
pub(crate) async fn end_requests_of_disabled_tx(
    tx: &mut WriteTx,
    actor: &Actor,
    user_id: &str,
) -> Result<usize> {
    end_requests_of_user_tx(tx, actor, user_id, "account disabled").await
}

/// [`end_requests_of_disabled_tx`] with the reason recorded on each request.
pub(crate) async fn end_requests_of_user_tx(
    tx: &mut WriteTx,
    actor: &Actor,
    user_id: &str,
    why: &str,
) -> Result<usize> {
    let open = [
        RequestState::Active,
        RequestState::Approved,
        RequestState::PendingApproval,
    ];
    let rows = tx
        .fetch_all(
            "SELECT id, state FROM pim_requests WHERE user_id = $1 AND state IN ($2, $3, $4)",
            &[
                Bind::Text(user_id.into()),
                Bind::Text(open[0].as_str().into()),
                Bind::Text(open[1].as_str().into()),
                Bind::Text(open[2].as_str().into()),
            ],
        )
        .await?;
    let now = tx.now;
    let mut ended = 0;
    for row in rows {
        let id: String = row.try_get("id")?;
        let state: String = row.try_get("state")?;
        let (change, activity) = if state == RequestState::Active.as_str() {
            (
                RequestChange {
                    end_at: Some(now),
                    ..RequestChange::to(RequestState::Revoked, Some(why.into()))
                },
                "pim.activation.revoke",
            )
        } else {
            (
                RequestChange::to(RequestState::Cancelled, Some(why.into())),
                "pim.request.cancel",
            )
        };
        transition_in(tx, actor, &id, &open, change, activity).await?;
        ended += 1;
    }
    Ok(ended)
}

/// Moves a request inside a transaction (so that callers can change more with it).
pub(crate) async fn transition_in(
    tx: &mut WriteTx,
    actor: &Actor,
    id: &str,
    from: &[RequestState],
    change: RequestChange,
    activity: &str,
) -> Result<ActivationRequest> {
    let now = tx.now;
    let mut binds = vec![
        Bind::Text(id.into()),
        Bind::Text(change.state.as_str().into()),
        Bind::OptText(change.reason.clone()),
        Bind::OptText(change.decided_by.clone()),
        Bind::OptInt(change.activated_at),
        Bind::OptInt(change.end_at),
        Bind::Int(now),
    ];
    let mut marks = Vec::new();
    for s in from {
        binds.push(Bind::Text(s.as_str().into()));
        marks.push(format!("${}", binds.len()));
    }
    let changed = tx
        .execute(
            &format!(
                "UPDATE pim_requests SET state = $2, reason = COALESCE($3, reason), \
                 decided_by = COALESCE($4, decided_by), activated_at = COALESCE($5, activated_at), \
                 end_at = COALESCE($6, end_at), updated_at = $7 WHERE id = $1 AND state IN ({})",
                marks.join(", ")
            ),
            &binds,
        )
        .await?;
    let row = tx
        .fetch_optional(
            &format!("SELECT {REQUEST_COLUMNS} FROM pim_requests WHERE id = $1"),
            &[Bind::Text(id.into())],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound {
            kind: "activationRequest",
            id: id.into(),
        })?;
    let r = request_from_row(&row)?;
    if changed == 0 {
        return Err(StoreError::Conflict(format!(
            "the request is {}, not {}",
            r.state.as_str(),
            from.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    let mut event = pim_event(
        actor,
        activity,
        request_target(&r),
        serde_json::to_value(&r).ok(),
    );
    event.result_reason = change.reason;
    tx.audit(event).await?;
    Ok(r)
}

/// What privileged-use checks read: which cloud roles PIM manages and who may hold them when.
impl Store {
    /// Cloud roles under PIM: the role definitions with a cloud resource that someone is
    /// eligible for (directly or through a group).
    pub async fn pim_managed_cloud_roles(&self) -> Result<Vec<RoleDefinition>> {
        let rows = self
            .fetch_all(
                "SELECT d.body AS body FROM role_definitions d WHERE EXISTS (SELECT 1 FROM role_assignments a \
                 WHERE a.role_definition_id = d.id AND a.assignment_type = 'eligible')",
                &[],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let role: RoleDefinition = serde_json::from_str(&r.try_get::<String, _>("body")?)?;
            if role.resource.is_some() {
                out.push(role);
            }
        }
        Ok(out)
    }

    /// Whether the user holds `role_id` without an end, directly or through a group: standing
    /// access that no activation is needed for.
    pub async fn holds_role_standing(&self, user_id: &str, role_id: &str) -> Result<bool> {
        let sql = format!(
            "SELECT 1 AS x FROM role_assignments a WHERE a.role_definition_id = $2 \
             AND a.assignment_type = 'active' AND a.end_at IS NULL \
             AND (a.principal_id = $1 OR a.principal_id IN ({TRANSITIVE_GROUPS}))"
        );
        Ok(self
            .fetch_optional(
                &sql,
                &[Bind::Text(user_id.into()), Bind::Text(role_id.into())],
            )
            .await?
            .is_some())
    }

    /// The user's activations of `role_id` that were ever active, the latest first (at most
    /// `top`).
    pub async fn activations_of(
        &self,
        user_id: &str,
        role_id: &str,
        top: usize,
    ) -> Result<Vec<ActivationRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM pim_requests WHERE user_id = $1 AND role_id = $2 \
             AND activated_at IS NOT NULL ORDER BY activated_at DESC LIMIT {}",
            top.clamp(1, 1000)
        );
        self.fetch_all(
            &sql,
            &[Bind::Text(user_id.into()), Bind::Text(role_id.into())],
        )
        .await?
        .iter()
        .map(request_from_row)
        .collect()
    }
}
