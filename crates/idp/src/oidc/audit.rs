//! Audit entries of the provider: every code and token issued or refused, revocations and
//! logouts. Each names who (the user, or the client for client credentials), which
//! application, the user's roles at that moment, and the conditional-access decision.
//! Neither codes nor tokens enter the trail: only token ids (`jti`) and grant ids.

use std::sync::OnceLock;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use trustplane_model::{Actor, Event, Outcome, Target, User};
use trustplane_store::{Store, StoreError};

use super::clients::Client;
use super::error::OAuthError;
use crate::ca::CaDecision;
use crate::RequestContext;

/// Audit category of everything the provider records.
pub const CATEGORY: &str = "federation";

/// What one entry says.
pub struct Record<'a> {
    /// `oidc.code.issue`, `oidc.token.refuse`, ...
    pub activity: &'static str,
    /// The client, when known.
    pub client: Option<&'a Client>,
    /// The client id as presented, when the client is unknown.
    pub client_id: Option<&'a str>,
    /// Who: the user, or the client itself for client credentials.
    pub actor: Actor,
    /// Why it was refused, for refusals.
    pub failure: Option<String>,
    /// The rest: grant type, scope, roles, decision, token ids.
    pub details: Value,
}

/// The actor for a user acting through a request.
pub fn user_actor(user: &User, ctx: &RequestContext) -> Actor {
    Actor {
        id: user.id.clone(),
        display_name: Some(user.user_principal_name.clone()),
        ip_address: ctx.ip.map(|i| i.to_string()),
        user_agent: ctx.user_agent.clone(),
    }
}

/// The actor for a client acting on its own behalf (or not yet known to be anyone).
pub fn client_actor(
    client: Option<&Client>,
    client_id: Option<&str>,
    ctx: &RequestContext,
) -> Actor {
    Actor {
        id: client
            .map(|c| c.app.id.clone())
            .or_else(|| client_id.map(|c| c.chars().take(128).collect()))
            .unwrap_or_else(|| "unknown".into()),
        display_name: client.map(|c| c.app.display_name.clone()),
        ip_address: ctx.ip.map(|i| i.to_string()),
        user_agent: ctx.user_agent.clone(),
    }
}

/// The decision as recorded: the outcome and the sign-in log's conditional-access part.
pub fn decision_json(d: &CaDecision) -> Value {
    let outcome = match d.outcome {
        trustplane_access::Outcome::Allow => "allow",
        trustplane_access::Outcome::Grant => "stepUp",
        trustplane_access::Outcome::Block => "block",
    };
    json!({
        "outcome": outcome,
        "blockingPolicies": d.blocking,
        "requiredControls": d.required,
        "conditionalAccessStatus": d.log["conditionalAccessStatus"],
        "appliedConditionalAccessPolicies": d.log["appliedConditionalAccessPolicies"],
    })
}

/// The display names of the roles a user holds now.
pub async fn roles_of(store: &Store, user_id: &str) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = store
        .effective_roles(user_id)
        .await?
        .into_iter()
        .map(|r| r.display_name)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The entry.
pub fn event(r: Record<'_>) -> Event {
    let (target_id, target_name) = match r.client {
        Some(c) => (c.app.id.clone(), Some(c.app.display_name.clone())),
        None => (
            r.client_id
                .map(|c| c.chars().take(128).collect())
                .unwrap_or_else(|| "unknown".into()),
            None,
        ),
    };
    let mut details = r.details;
    if let Some(obj) = details.as_object_mut() {
        obj.insert(
            "clientId".into(),
            json!(r
                .client
                .map(|c| c.client_id().to_string())
                .or(r.client_id.map(str::to_string))),
        );
    }
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: CATEGORY.into(),
        activity: r.activity.into(),
        initiated_by: r.actor,
        target: Some(Target {
            kind: "application".into(),
            id: target_id,
            display_name: target_name,
        }),
        result: if r.failure.is_none() {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        result_reason: r.failure,
        before: None,
        after: Some(details),
    }
}

/// Most entries written in one transaction.
const MAX_GROUP: usize = 512;

type Pending = (Event, oneshot::Sender<Result<(), OAuthError>>);

/// Writes entries that go with no other change (client-credentials tokens, refusals) with
/// group commit: requests that arrive while one commit is being flushed share the next, so
/// each still waits for its entry to be durable but the disk flush is paid once per group.
pub struct AuditWriter {
    store: Store,
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl AuditWriter {
    /// A writer over the store; its task starts with the first entry.
    pub fn new(store: Store) -> Self {
        AuditWriter {
            store,
            queue: OnceLock::new(),
        }
    }

    /// Appends `event` and returns once it is committed.
    pub async fn record(&self, event: Event) -> Result<(), OAuthError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4 * MAX_GROUP);
            tokio::spawn(write_groups(self.store.clone(), rx));
            tx
        });
        let (reply, done) = oneshot::channel();
        queue
            .send((event, reply))
            .await
            .map_err(|_| OAuthError::server_error())?;
        done.await.map_err(|_| OAuthError::server_error())?
    }
}

async fn write_groups(store: Store, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<Event>, Vec<_>) = group.into_iter().unzip();
        let result = store
            .record_events(events)
            .await
            .map(|_| ())
            .map_err(OAuthError::from);
        for reply in replies {
            // A request that went away no longer listens; its entry is written all the same.
            let _ = reply.send(result.clone());
        }
    }
}
