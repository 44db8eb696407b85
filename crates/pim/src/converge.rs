//! Activation, expiry and the convergence of grants on what active requests need.

use std::collections::HashMap;

use serde_json::Value;
use trustplane_model::{from_ms, to_ms, ActivationRequest, Actor, RequestState};
use trustplane_store::{PimGrant, RequestChange, StoreError};

use super::sessions::SESSION_DENY;
use super::{cloud_call, cloud_key, directory_key, Pim};
use crate::GrantCall;

/// Why an activation could not be recorded (a refusal by the cloud is not an error: the
/// request ends `failed`).
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `held` and friends.
pub(super) const GRANTING: &str = "granting";
pub(super) const HELD: &str = "held";
const REVOKING: &str = "revoking";

/// What one round of [`Pim::run_due`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Requests activated.
    pub activated: usize,
    /// Activations whose time ran out.
    pub expired: usize,
    /// Grants removed.
    pub removed: usize,
    /// Grants whose removal or change the cloud refused (tried again next round).
    pub failing: usize,
    /// Reviews completed.
    pub reviews_completed: usize,
    /// Webhook notifications delivered.
    pub delivered: usize,
}

impl Pim {
    /// The grant records a request needs: the directory one always, a cloud one for cloud
    /// roles (with the connection to reach it through).
    async fn grants_for(
        &self,
        r: &ActivationRequest,
        until: i64,
    ) -> Result<Result<Vec<PimGrant>, String>, StoreError> {
        let role = self
            .store
            .get_role_definition(&r.role_definition_id)
            .await?;
        let user = self.store.get_user(&r.principal_id).await?;
        let mut grants = vec![PimGrant {
            key: directory_key(
                &r.principal_id,
                &r.role_definition_id,
                &r.directory_scope_id,
            ),
            kind: "directory".into(),
            user_id: r.principal_id.clone(),
            role_id: r.role_definition_id.clone(),
            scope: r.directory_scope_id.clone(),
            target: Value::Null,
            state: GRANTING.into(),
            until,
            last_error: None,
        }];
        match cloud_call(&role, &user) {
            Err(e) => return Ok(Err(e)),
            Ok(None) => {}
            Ok(Some((connection_id, call))) => grants.push(PimGrant {
                key: cloud_key(&call),
                kind: "cloud".into(),
                user_id: r.principal_id.clone(),
                role_id: r.role_definition_id.clone(),
                scope: r.directory_scope_id.clone(),
                target: serde_json::json!({ "connectionId": connection_id, "call": call }),
                state: GRANTING.into(),
                until,
                last_error: None,
            }),
        }
        Ok(Ok(grants))
    }

    /// Activates an approved request now: records the grants, asks the cloud, and marks the
    /// request active, or `failed` with the cloud's reason (and takes back whatever it
    /// granted). Safe to run again for the same request after a crash.
    pub async fn activate(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<ActivationRequest, ActivateError> {
        let request = self.store.get_pim_request(id).await?;
        if request.state != RequestState::Approved {
            return Ok(request);
        }
        let now = self.now();
        let end = now + request.duration_seconds * 1000;
        let grants = match self.grants_for(&request, end).await? {
            Ok(g) => g,
            Err(reason) => return self.fail(actor, &request, reason).await,
        };
        let mut outcome = Ok(());
        for mut g in grants {
            // An overlapping activation keeps the later end.
            if let Some(old) = self.store.pim_grant(&g.key).await? {
                g.until = g.until.max(old.until);
                if old.state == HELD && g.kind == "directory" {
                    g.state = HELD.into();
                }
            }
            // Known before the cloud is asked: a crash from here on is cleaned up.
            self.store.put_pim_grant(&g).await?;
            let applied = self.apply(&g).await;
            self.audit_cloud(&g, "pim.grant.cloudGrant", &applied).await;
            match applied {
                Ok(()) => {
                    g.state = HELD.into();
                    g.last_error = None;
                    self.store.put_pim_grant(&g).await?;
                }
                Err(reason) => {
                    outcome = Err(reason);
                    break;
                }
            }
        }
        match outcome {
            Ok(()) => {
                let change = RequestChange {
                    activated_at: Some(now),
                    end_at: Some(end),
                    ..RequestChange::to(RequestState::Active, None)
                };
                match self
                    .store
                    .transition_pim_request(
                        actor,
                        id,
                        &[RequestState::Approved],
                        change,
                        "pim.activation.start",
                    )
                    .await
                {
                    Ok(active) => Ok(active),
                    // The job and an approver activated it at once: the other one recorded it.
                    Err(StoreError::Conflict(_)) => Ok(self.store.get_pim_request(id).await?),
                    Err(e) => Err(e.into()),
                }
            }
            Err(reason) => self.fail(actor, &request, reason).await,
        }
    }

    async fn fail(
        &self,
        actor: &Actor,
        request: &ActivationRequest,
        reason: String,
    ) -> Result<ActivationRequest, ActivateError> {
        tracing::warn!(request = %request.id, %reason, "activation failed");
        let failed = match self
            .store
            .transition_pim_request(
                actor,
                &request.id,
                &[RequestState::Approved],
                RequestChange::to(RequestState::Failed, Some(reason)),
                "pim.activation.fail",
            )
            .await
        {
            Ok(r) => r,
            Err(StoreError::Conflict(_)) => self.store.get_pim_request(&request.id).await?,
            Err(e) => return Err(e.into()),
        };
        // Takes back what was granted for it, unless another activation needs it.
        self.converge().await?;
        Ok(failed)
    }

    /// Audits a call to a cloud (the directory's own changes audit themselves).
    pub(super) async fn audit_cloud(
        &self,
        g: &PimGrant,
        activity: &str,
        outcome: &Result<(), String>,
    ) {
        if g.kind == "directory" {
            return;
        }
        let mut event = trustplane_store::pim_event(
            &Actor::system(),
            activity,
            trustplane_model::Target {
                kind: "cloudGrant".into(),
                id: g.key.clone(),
                display_name: Some(g.role_id.clone()),
            },
            Some(g.target.clone()),
        );
        if let Err(reason) = outcome {
            event.result = trustplane_model::Outcome::Failure;
            event.result_reason = Some(reason.clone());
        }
        if let Err(e) = self.store.record_event(event).await {
            tracing::warn!(error = %e, grant = %g.key, "could not audit a cloud grant change");
        }
    }

    /// Makes a grant record true where it lives.
    async fn apply(&self, g: &PimGrant) -> Result<(), String> {
        match g.kind.as_str() {
            "directory" => self
                .store
                .hold_activated_role(&Actor::system(), &g.user_id, &g.role_id, &g.scope, g.until)
                .await
                .map_err(|e| e.to_string()),
            _ => {
                let (connection, call) = self.cloud_target(g).await?;
                let grants = self.grants.as_ref().ok_or(
                    "this node cannot grant cloud roles (it was not started by `trustplane serve`)",
                )?;
                grants.grant(&connection, &call).await
            }
        }
    }

    /// Takes a grant back where it lives.
    async fn unapply(&self, g: &PimGrant) -> Result<(), String> {
        match g.kind.as_str() {
            "directory" => self
                .store
                .release_activated_role(&Actor::system(), &g.user_id, &g.role_id, &g.scope)
                .await
                .map_err(|e| e.to_string()),
            _ => {
                let (connection, call) = self.cloud_target(g).await?;
                let grants = self
                    .grants
                    .as_ref()
                    .ok_or("this node cannot remove cloud roles (it was not started by `trustplane serve`)")?;
                grants.revoke(&connection, &call).await
            }
        }
    }

    async fn cloud_target(
        &self,
        g: &PimGrant,
    ) -> Result<(trustplane_cloudops::ScanTarget, GrantCall), String> {
        let connection_id = g
            .target
            .get("connectionId")
            .and_then(Value::as_str)
            .ok_or("the grant record names no connection")?;
        let call: GrantCall =
            serde_json::from_value(g.target.get("call").cloned().unwrap_or_default())
                .map_err(|e| format!("the grant record is unreadable: {e}"))?;
        let connection = self.connections.connection(connection_id).await?;
        Ok((connection, call))
    }

    /// Brings every grant record in line with the requests that need it: a grant nobody
    /// needs any more is removed (the record last, once the cloud confirmed), one whose end
    /// moved is changed. A directory grant removed before its end revokes the AWS sessions
    /// it may have given (see [`super::sessions`]). Returns (removed, failing).
    pub async fn converge(&self) -> Result<(usize, usize), StoreError> {
        let now = self.now();
        let mut needed: HashMap<String, i64> = HashMap::new();
        let live = self
            .store
            .list_pim_requests(None, &[RequestState::Active, RequestState::Approved])
            .await?;
        for r in &live {
            let until = match r.state {
                RequestState::Active => r.end_date_time.map(to_ms).unwrap_or(now),
                // Being activated (or due to be): keep whatever it has asked for so far.
                _ if r.start_date_time.is_none_or(|s| to_ms(s) <= now) => 0,
                _ => continue,
            };
            if let Ok(grants) = self.grants_for(r, until).await? {
                for g in grants {
                    let e = needed.entry(g.key).or_insert(until);
                    *e = (*e).max(until);
                }
            }
        }
        let (mut removed, mut failing) = (0, 0);
        for mut g in self.store.pim_grants().await? {
            if g.kind == SESSION_DENY {
                continue;
            }
            match needed.get(&g.key) {
                None => {
                    // Ended before its time: sessions it gave in a cloud may outlive it.
                    let early = g.kind == "directory" && g.until > now;
                    if g.state != REVOKING {
                        g.state = REVOKING.into();
                        self.store.put_pim_grant(&g).await?;
                    }
                    let outcome = self.unapply(&g).await;
                    self.audit_cloud(&g, "pim.grant.cloudRevoke", &outcome)
                        .await;
                    match outcome {
                        Ok(()) => {
                            // Recorded before the grant is forgotten: a crash in between
                            // comes back here.
                            if early {
                                self.record_session_revocation(&g).await?;
                            }
                            self.store.delete_pim_grant(&g.key).await?;
                            removed += 1;
                        }
                        Err(reason) => {
                            tracing::warn!(grant = %g.key, %reason, "could not remove a grant");
                            g.last_error = Some(reason);
                            self.store.put_pim_grant(&g).await?;
                            failing += 1;
                        }
                    }
                }
                Some(&until) if until > 0 && (until != g.until || g.state != HELD) => {
                    g.until = until;
                    let applied = self.apply(&g).await;
                    self.audit_cloud(&g, "pim.grant.cloudGrant", &applied).await;
                    match applied {
                        Ok(()) => {
                            g.state = HELD.into();
                            g.last_error = None;
                        }
                        Err(reason) => {
                            g.last_error = Some(reason);
                            failing += 1;
                        }
                    }
                    self.store.put_pim_grant(&g).await?;
                }
                Some(_) => {}
            }
        }
        let (_, not_settled) = self.settle_session_revocations().await?;
        Ok((removed, failing + not_settled))
    }

    /// Marks active requests whose time is up as expired.
    async fn expire(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let mut n = 0;
        for r in self
            .store
            .list_pim_requests(None, &[RequestState::Active])
            .await?
        {
            if r.end_date_time.is_some_and(|e| to_ms(e) <= now) {
                let reason = format!("ended at {}", from_ms(now));
                match self
                    .store
                    .transition_pim_request(
                        &Actor::system(),
                        &r.id,
                        &[RequestState::Active],
                        RequestChange::to(RequestState::Expired, Some(reason)),
                        "pim.activation.expire",
                    )
                    .await
                {
                    Ok(_) => n += 1,
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(n)
    }

    /// One round of the PIM job: starts approved requests whose time has come, expires
    /// activations, converges grants, completes reviews past their deadline and delivers
    /// webhook notifications. Runs at start too, so an expiry missed while the node was down
    /// happens at once.
    pub async fn run_due(&self) -> Result<RunReport, StoreError> {
        let now = self.now();
        let mut report = RunReport::default();
        for r in self
            .store
            .list_pim_requests(None, &[RequestState::Approved])
            .await?
        {
            if r.start_date_time.is_none_or(|s| to_ms(s) <= now) {
                match self.activate(&Actor::system(), &r.id).await {
                    Ok(a) if a.state == RequestState::Active => report.activated += 1,
                    Ok(_) => {}
                    Err(ActivateError::Store(StoreError::Conflict(_))) => {}
                    Err(ActivateError::Store(e)) => return Err(e),
                }
            }
        }
        report.expired = self.expire().await?;
        let (removed, failing) = self.converge().await?;
        report.removed = removed;
        report.failing = failing;
        report.reviews_completed = self.complete_due_reviews().await?;
        report.delivered = self.deliver_webhooks().await?;
        Ok(report)
    }
}
