//! Running an outbound connection: plan against what was pushed (or, in a reconciliation,
//! against what the target really holds), hold back a run that would remove too many users,
//! apply change by change with retries, record each acknowledged change at once, and write
//! the Identity Center user id onto the directory user.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use trustplane_keyring::Sealer;
use trustplane_model::Actor;
use trustplane_store::{
    ProvisioningConnection, PushedObject, RunRecord, Store, StoreError, UserPatch,
    AWS_IDENTITY_STORE, AWS_SCIM,
};

use super::plan::{self, fingerprint, member_key, Change, GROUP, MEMBER, USER};
use super::scim_client::ScimClient;
use super::settings::OutboundSettings;
use super::target::{BoxFuture, Target, TargetError};

/// The user attribute that holds a person's IAM Identity Center user id (PIM's Identity
/// Center assignments and the SAML application read it).
pub const AWS_IDC_USER_ATTRIBUTE: &str = "awsIdentityCenterUserId";

/// Most failures a run's report lists (the count is always complete).
pub const MAX_REPORTED_FAILURES: usize = 100;

/// Above this many new users, the target's users are listed once and matched locally
/// instead of being looked up one by one.
const MATCH_BY_LISTING_FROM: usize = 20;

/// Reaches an Identity Store through the AWS SDK (implemented in `trustplane-cloud`, so this
/// crate stays free of the SDK).
pub trait IdentityStoreConnector: Send + Sync {
    /// A transport for the connection's Identity Store.
    fn connect<'a>(
        &'a self,
        settings: &'a OutboundSettings,
    ) -> BoxFuture<'a, Result<Box<dyn Target>, String>>;
}

/// How throttled calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// The first wait; each next one doubles.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 8,
            first: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

/// Calls `call` until it is not throttled, waiting longer each time, at most `attempts` times.
pub async fn with_retry<T, F, Fut>(retry: &Retry, mut call: F) -> Result<T, TargetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TargetError>>,
{
    let mut wait = retry.first;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(TargetError::Throttled(why)) if attempt < retry.attempts.max(1) => {
                tracing::debug!(%why, attempt, "target throttled; waiting");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(retry.max);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// What a run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Push what changed since the last run (read nothing from the target first).
    Changes,
    /// Read the target, count and repair the drift, then push.
    Reconcile,
    /// An administrator confirmed a held run: push it, past the delete threshold.
    Confirm,
}

/// One object that failed.
#[derive(Debug, Clone)]
struct Failure {
    kind: &'static str,
    id: String,
    name: String,
    reason: String,
}

/// The outbound side of provisioning on a node.
pub struct Outbound {
    store: Store,
    sealer: Sealer,
    identity_store: Option<Arc<dyn IdentityStoreConnector>>,
    retry: Retry,
    /// Serialises runs on this node (a run and a confirmation must not interleave).
    running: tokio::sync::Mutex<()>,
    /// The audit sequence the last round saw, so quiet rounds read nothing else.
    seen: std::sync::atomic::AtomicI64,
}

fn secret_context(id: &str) -> String {
    format!("provisioning-secret:{id}")
}

/// Whether a connection kind is outbound.
pub fn is_outbound(kind: &str) -> bool {
    kind == AWS_IDENTITY_STORE || kind == AWS_SCIM
}

impl Outbound {
    /// Over a node's store and master key; `identity_store` reaches Identity Stores (without
    /// it, `awsIdentityStore` connections fail their runs with a clear reason).
    pub fn new(
        store: Store,
        sealer: Sealer,
        identity_store: Option<Arc<dyn IdentityStoreConnector>>,
    ) -> Self {
        Outbound {
            store,
            sealer,
            identity_store,
            retry: Retry::default(),
            running: tokio::sync::Mutex::new(()),
            seen: std::sync::atomic::AtomicI64::new(-1),
        }
    }

    /// The same service with other retry timings (tests).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Seals a connection's secret, bound to its id.
    pub fn seal(&self, connection_id: &str, secret: &str) -> Result<String, StoreError> {
        self.sealer
            .seal(&secret_context(connection_id), secret.as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn target(
        &self,
        c: &ProvisioningConnection,
        settings: &OutboundSettings,
    ) -> Result<Box<dyn Target>, String> {
        match c.kind.as_str() {
            AWS_IDENTITY_STORE => {
                let connector = self
                    .identity_store
                    .as_ref()
                    .ok_or("this node has no AWS SDK linked: it cannot reach an Identity Store")?;
                connector.connect(settings).await
            }
            AWS_SCIM => {
                let sealed = self
                    .store
                    .provisioning_secret(&c.id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("no SCIM token is stored for this connection")?;
                let token = self
                    .sealer
                    .open(&secret_context(&c.id), &sealed)
                    .map_err(|e| e.to_string())?;
                let token = String::from_utf8(token).map_err(|_| "the stored token is not text")?;
                let url = settings.url.clone().ok_or("the connection has no url")?;
                Ok(Box::new(ScimClient::new(&url, &token)?))
            }
            other => Err(format!("`{other}` is not an outbound connection")),
        }
    }

    /// Runs a connection; its report. `Confirm` refuses (409) when no run is held.
    pub async fn run(&self, id: &str, mode: Mode) -> Result<Value, StoreError> {
        let _one = self.running.lock().await;
        let c = self.store.get_provisioning_connection(id).await?;
        if !is_outbound(&c.kind) {
            return Err(StoreError::Conflict(format!(
                "`{}` is a {} connection: its SCIM client pushes every change, so there is nothing to run",
                c.display_name, c.kind
            )));
        }
        let (_, held) = self.store.outbound_report(&c.id).await?;
        if mode == Mode::Confirm && held.is_none() {
            return Err(StoreError::Conflict(format!(
                "`{}` has no run waiting for confirmation",
                c.display_name
            )));
        }
        let settings = OutboundSettings::from_value(&c.settings)?;
        let started = self
            .store
            .clock()
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let target = match self.target(&c, &settings).await {
            Ok(t) => t,
            Err(reason) => {
                let report = json!({"startedDateTime": started, "mode": mode_name(mode), "pushed": 0,
                    "failed": 1, "failures": [{"reason": reason}]});
                self.record(&c, "failed", Some(reason), 0, 1, None, report.clone(), held)
                    .await?;
                return Ok(report);
            }
        };
        let mut run = Run {
            store: &self.store,
            retry: &self.retry,
            target: target.as_ref(),
            connection: &c,
            actor: Actor {
                id: c.id.clone(),
                display_name: Some(c.display_name.clone()),
                ip_address: None,
                user_agent: None,
            },
            pushed: 0,
            failures: Vec::new(),
            failed: 0,
            stopped: None,
            targets: HashMap::new(),
            listing: None,
            created: HashSet::new(),
        };
        let snapshot = self.store.directory_snapshot().await?;
        let desired = plan::desired(&snapshot, &settings, target.keeps_active());
        let mut drift = None;
        if mode == Mode::Reconcile {
            match run.reconcile().await {
                Ok(found) => drift = Some(found),
                Err(e) => run.stop(e),
            }
        }
        let pushed = self.store.pushed_objects(&c.id).await?;
        let the_plan = plan::plan(&desired, &pushed);
        let destructive = the_plan.destructive();
        if run.stopped.is_none()
            && mode != Mode::Confirm
            && the_plan.needs_confirmation(settings.delete_threshold_percent)
        {
            let hold = json!({
                "since": started,
                "deactivateOrDelete": destructive,
                "users": the_plan.pushed_users,
                "thresholdPercent": settings.delete_threshold_percent,
            });
            let same = held.as_ref().is_some_and(|h| {
                h["deactivateOrDelete"] == hold["deactivateOrDelete"] && h["users"] == hold["users"]
            });
            let report = json!({"startedDateTime": started, "mode": mode_name(mode), "status": "held",
                "pushed": 0, "failed": 0, "drift": drift, "held": held.clone().filter(|_| same).unwrap_or(hold.clone())});
            // A hold already recorded is not written again every round.
            if !same || drift.is_some() {
                let why = format!(
                    "held: the run would deactivate or delete {destructive} of {} users, more than {} %; an administrator must confirm it",
                    the_plan.pushed_users, settings.delete_threshold_percent
                );
                self.record(
                    &c,
                    "held",
                    Some(why),
                    0,
                    0,
                    drift,
                    report.clone(),
                    Some(hold),
                )
                .await?;
            }
            return Ok(report);
        }
        if run.stopped.is_none() {
            run.prepare(&the_plan).await;
            for change in &the_plan.changes {
                if run.stopped.is_some() {
                    break;
                }
                run.apply(change, &snapshot).await?;
            }
        }
        let status = if run.stopped.is_some() || run.failed > 0 {
            "failed"
        } else {
            "succeeded"
        };
        let error = run.stopped.clone().or_else(|| {
            run.failures
                .first()
                .map(|f| format!("{} {}: {}", f.kind, f.name, f.reason))
        });
        let failures: Vec<Value> = run
            .failures
            .iter()
            .map(|f| json!({"kind": f.kind, "id": f.id, "name": f.name, "reason": f.reason}))
            .collect();
        let report = json!({
            "startedDateTime": started,
            "mode": mode_name(mode),
            "status": status,
            "planned": the_plan.changes.len(),
            "pushed": run.pushed,
            "failed": run.failed,
            "failures": failures,
            "stopped": run.stopped,
            "drift": drift,
        });
        // A quiet round (nothing planned, nothing read) leaves the status as it was.
        if mode != Mode::Changes
            || !the_plan.changes.is_empty()
            || run.stopped.is_some()
            || held.is_some()
        {
            let (pushed, failed) = (run.pushed, run.failed);
            self.record(
                &c,
                status,
                error,
                pushed,
                failed,
                drift,
                report.clone(),
                None,
            )
            .await?;
        }
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        c: &ProvisioningConnection,
        status: &str,
        error: Option<String>,
        pushed: i64,
        failures: i64,
        drift: Option<i64>,
        report: Value,
        held: Option<Value>,
    ) -> Result<(), StoreError> {
        self.store
            .record_outbound_run(
                &c.id,
                &RunRecord {
                    status: status.into(),
                    error,
                    pushed,
                    failures,
                    drift,
                    report,
                    held,
                },
            )
            .await
    }

    /// One round of the outbox: if anything was audited since the last round, every outbound
    /// connection pushes what changed.
    pub async fn round(&self) -> Result<(), StoreError> {
        let seq = self.store.audit_sequence().await?;
        let before = self.seen.swap(seq, std::sync::atomic::Ordering::AcqRel);
        if before == seq {
            return Ok(());
        }
        self.run_all(Mode::Changes).await
    }

    /// Runs every outbound connection in `mode` (one's failure does not stop the others).
    pub async fn run_all(&self, mode: Mode) -> Result<(), StoreError> {
        for c in self.store.list_provisioning_connections().await? {
            if !is_outbound(&c.kind) {
                continue;
            }
            if let Err(e) = self.run(&c.id, mode).await {
                tracing::warn!(connection = %c.id, error = %e, "outbound provisioning run failed");
            }
        }
        Ok(())
    }

    /// Starts the node's share of outbound provisioning: every few seconds the lease holder
    /// pushes what changed; every `reconcile_every` it reads the targets and repairs drift.
    pub fn spawn_jobs(
        self: &Arc<Self>,
        node_id: String,
        every: Duration,
        reconcile_every: Duration,
    ) {
        use trustplane_store::jobs::spawn_leased;
        let me = self.clone();
        spawn_leased(
            self.store.clone(),
            "provisioning-outbound",
            node_id.clone(),
            every,
            move || {
                let me = me.clone();
                async move {
                    if let Err(e) = me.round().await {
                        tracing::warn!(error = %e, "outbound provisioning round failed");
                    }
                }
            },
        );
        let me = self.clone();
        spawn_leased(
            self.store.clone(),
            "provisioning-reconcile",
            node_id,
            reconcile_every,
            move || {
                let me = me.clone();
                async move {
                    if let Err(e) = me.run_all(Mode::Reconcile).await {
                        tracing::warn!(error = %e, "outbound provisioning reconciliation failed");
                    }
                }
            },
        );
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Changes => "changes",
        Mode::Reconcile => "reconcile",
        Mode::Confirm => "confirm",
    }
}

/// One run in progress.
struct Run<'a> {
    store: &'a Store,
    retry: &'a Retry,
    target: &'a dyn Target,
    connection: &'a ProvisioningConnection,
    actor: Actor,
    pushed: i64,
    failures: Vec<Failure>,
    failed: i64,
    /// Why the run stopped early (the target could not be used).
    stopped: Option<String>,
    /// Target ids of users and groups known in this run (pushed before or now).
    targets: HashMap<(&'static str, String), String>,
    /// The target's users by `x:externalId` and `u:username`, when listed for matching.
    listing: Option<HashMap<String, String>>,
    /// Users created (not adopted) in this run: no membership of theirs exists yet.
    created: HashSet<String>,
}

impl Run<'_> {
    fn stop(&mut self, e: TargetError) {
        self.stopped = Some(e.to_string());
    }

    fn fail(&mut self, kind: &'static str, id: &str, name: &str, e: TargetError) {
        if let TargetError::Unavailable(_) = e {
            self.stop(e);
            return;
        }
        self.failed += 1;
        if self.failures.len() < MAX_REPORTED_FAILURES {
            self.failures.push(Failure {
                kind,
                id: id.into(),
                name: name.chars().take(256).collect(),
                reason: e.to_string().chars().take(512).collect(),
            });
        }
    }

    async fn remember(
        &mut self,
        kind: &'static str,
        object_id: &str,
        target_id: &str,
        fp: String,
    ) -> Result<(), StoreError> {
        self.store
            .record_pushed(
                &self.connection.id,
                &PushedObject {
                    kind: kind.into(),
                    object_id: object_id.into(),
                    target_id: target_id.into(),
                    fingerprint: fp,
                },
            )
            .await?;
        self.targets
            .insert((kind, object_id.to_string()), target_id.to_string());
        Ok(())
    }

    /// Loads the target ids already pushed, and when many users are new, the target's users
    /// by `externalId` and `userName`, so each new one is matched without a look-up.
    async fn prepare(&mut self, p: &plan::Plan) {
        if let Ok(pushed) = self.store.pushed_objects(&self.connection.id).await {
            for o in pushed {
                let kind = match o.kind.as_str() {
                    USER => USER,
                    GROUP => GROUP,
                    _ => continue,
                };
                self.targets.insert((kind, o.object_id), o.target_id);
            }
        }
        let new_users = p
            .changes
            .iter()
            .filter(|c| matches!(c, Change::CreateUser(_)))
            .count();
        if new_users >= MATCH_BY_LISTING_FROM {
            match with_retry(self.retry, || self.target.list_users()).await {
                Ok(users) => {
                    let mut index = HashMap::new();
                    for u in users {
                        if let Some(x) = &u.external_id {
                            index.insert(format!("x:{x}"), u.id.clone());
                        }
                        index.insert(format!("u:{}", u.user_name.to_lowercase()), u.id);
                    }
                    self.listing = Some(index);
                }
                Err(e) => self.stop(e),
            }
        }
    }

    /// A user already in the target for this one (so a retry never creates a duplicate).
    async fn find_user(
        &mut self,
        u: &super::target::OutUser,
    ) -> Result<Option<String>, TargetError> {
        if let Some(index) = &self.listing {
            return Ok(index
                .get(&format!("x:{}", u.external_id))
                .or_else(|| index.get(&format!("u:{}", u.user_name.to_lowercase())))
                .cloned());
        }
        with_retry(self.retry, || self.target.find_user(u)).await
    }

    /// Applies one change; a failure of the object is listed and the run goes on.
    async fn apply(
        &mut self,
        change: &Change,
        snapshot: &trustplane_store::DirectorySnapshot,
    ) -> Result<(), StoreError> {
        let (retry, target) = (self.retry, self.target);
        match change {
            Change::CreateGroup(g) => {
                let found = match with_retry(retry, || target.find_group(g)).await {
                    Ok(f) => f,
                    Err(e) => {
                        self.fail(GROUP, &g.external_id, &g.display_name, e);
                        return Ok(());
                    }
                };
                let made = match found {
                    // Adopted: the name is what matched, so there is nothing to update.
                    Some(id) => Ok(id),
                    None => with_retry(retry, || target.create_group(g)).await,
                };
                match made {
                    Ok(id) => {
                        self.remember(GROUP, &g.external_id, &id, fingerprint(g))
                            .await?;
                        self.pushed += 1;
                    }
                    Err(e) => self.fail(GROUP, &g.external_id, &g.display_name, e),
                }
            }
            Change::UpdateGroup { target_id, group } => {
                match with_retry(retry, || target.update_group(target_id, group)).await {
                    Ok(()) => {
                        self.remember(GROUP, &group.external_id, target_id, fingerprint(group))
                            .await?;
                        self.pushed += 1;
                    }
                    Err(TargetError::NotFound(_)) => {
                        // Gone from the target: created again by the next run.
                        self.store
                            .forget_pushed(&self.connection.id, GROUP, &group.external_id)
                            .await?;
                    }
                    Err(e) => self.fail(GROUP, &group.external_id, &group.display_name, e),
                }
            }
            Change::DeleteGroup {
                object_id,
                target_id,
            } => match with_retry(retry, || target.delete_group(target_id)).await {
                Ok(()) | Err(TargetError::NotFound(_)) => {
                    self.forget_members_of(object_id, true).await?;
                    self.store
                        .forget_pushed(&self.connection.id, GROUP, object_id)
                        .await?;
                    self.pushed += 1;
                }
                Err(e) => self.fail(GROUP, object_id, target_id, e),
            },
            Change::CreateUser(u) => {
                let found = match self.find_user(u).await {
                    Ok(f) => f,
                    Err(e) => {
                        self.fail(USER, &u.external_id, &u.user_name, e);
                        return Ok(());
                    }
                };
                let made = match found {
                    Some(id) => with_retry(retry, || target.update_user(&id, u))
                        .await
                        .map(|()| id),
                    None => {
                        let made = with_retry(retry, || target.create_user(u)).await;
                        if made.is_ok() {
                            self.created.insert(u.external_id.clone());
                        }
                        made
                    }
                };
                match made {
                    Ok(id) => {
                        self.remember(USER, &u.external_id, &id, fingerprint(u))
                            .await?;
                        self.pushed += 1;
                        self.note_user_id(&u.external_id, Some(&id), snapshot).await;
                    }
                    Err(e) => self.fail(USER, &u.external_id, &u.user_name, e),
                }
            }
            Change::UpdateUser {
                target_id, user, ..
            } => match with_retry(retry, || target.update_user(target_id, user)).await {
                Ok(()) => {
                    self.remember(USER, &user.external_id, target_id, fingerprint(user))
                        .await?;
                    self.pushed += 1;
                }
                Err(TargetError::NotFound(_)) => {
                    self.forget_members_of(&user.external_id, false).await?;
                    self.store
                        .forget_pushed(&self.connection.id, USER, &user.external_id)
                        .await?;
                }
                Err(e) => self.fail(USER, &user.external_id, &user.user_name, e),
            },
            Change::DeleteUser {
                object_id,
                target_id,
            } => match with_retry(retry, || target.delete_user(target_id)).await {
                Ok(()) | Err(TargetError::NotFound(_)) => {
                    self.forget_members_of(object_id, false).await?;
                    self.store
                        .forget_pushed(&self.connection.id, USER, object_id)
                        .await?;
                    self.pushed += 1;
                    self.note_user_id(object_id, None, snapshot).await;
                }
                Err(e) => self.fail(USER, object_id, target_id, e),
            },
            Change::AddMember { group, user } => {
                let key = member_key(group, user);
                let (Some(g), Some(u)) = (
                    self.targets.get(&(GROUP, group.clone())).cloned(),
                    self.targets.get(&(USER, user.clone())).cloned(),
                ) else {
                    // The group or the user failed earlier in this run: listed there already.
                    return Ok(());
                };
                let new_user = self.created_now(user);
                match with_retry(retry, || target.add_member(&g, &u, new_user)).await {
                    Ok(id) => {
                        self.remember(MEMBER, &key, &id, String::new()).await?;
                        self.pushed += 1;
                    }
                    Err(e) => self.fail(MEMBER, &key, &key, e),
                }
            }
            Change::RemoveMember {
                object_id,
                target_id,
            } => {
                let (group, user) = object_id.split_once('/').unwrap_or((object_id, ""));
                let g = self.targets.get(&(GROUP, group.to_string())).cloned();
                let u = self.targets.get(&(USER, user.to_string())).cloned();
                let done = match (g, u) {
                    (Some(g), Some(u)) => {
                        with_retry(retry, || target.remove_member(&g, &u, target_id)).await
                    }
                    // The group or user is gone from the target already, and the membership with it.
                    _ => Ok(()),
                };
                match done {
                    Ok(()) | Err(TargetError::NotFound(_)) => {
                        self.store
                            .forget_pushed(&self.connection.id, MEMBER, object_id)
                            .await?;
                        self.pushed += 1;
                    }
                    Err(e) => self.fail(MEMBER, object_id, object_id, e),
                }
            }
        }
        Ok(())
    }

    /// Whether the user was created (not adopted, not pushed before) in this run.
    fn created_now(&self, user: &str) -> bool {
        self.created.contains(user)
    }

    /// Forgets the memberships recorded for a group or a user that left the target.
    async fn forget_members_of(
        &mut self,
        object_id: &str,
        is_group: bool,
    ) -> Result<(), StoreError> {
        for o in self.store.pushed_objects(&self.connection.id).await? {
            if o.kind != MEMBER {
                continue;
            }
            let (g, u) = o.object_id.split_once('/').unwrap_or((&o.object_id, ""));
            if (is_group && g == object_id) || (!is_group && u == object_id) {
                self.store
                    .forget_pushed(&self.connection.id, MEMBER, &o.object_id)
                    .await?;
            }
        }
        Ok(())
    }

    /// Keeps the directory user's `awsIdentityCenterUserId` equal to their target id (or
    /// removes it once they are deleted there). A failure is listed, not fatal: the next run
    /// writes it again.
    async fn note_user_id(
        &mut self,
        user_id: &str,
        target_id: Option<&str>,
        snapshot: &trustplane_store::DirectorySnapshot,
    ) {
        let Some(user) = snapshot.users.iter().find(|u| u.id == user_id) else {
            return;
        };
        let now = user
            .attributes
            .get(AWS_IDC_USER_ATTRIBUTE)
            .and_then(Value::as_str);
        let value = match target_id {
            Some(id) if now != Some(id) => Value::String(id.into()),
            None if now.is_some() => Value::Null,
            _ => return,
        };
        let mut attributes = Map::new();
        attributes.insert(AWS_IDC_USER_ATTRIBUTE.into(), value);
        let patch = UserPatch {
            attributes: Some(attributes),
            ..Default::default()
        };
        if let Err(e) = self.store.update_user(&self.actor, user_id, patch).await {
            self.fail(
                USER,
                user_id,
                &user.user_principal_name,
                TargetError::Rejected(format!(
                    "pushed, but its Identity Center id could not be recorded: {e}"
                )),
            );
        }
    }

    /// Reads the target and compares it with what was pushed: a pushed object the target
    /// lost is forgotten (so it is pushed again), one the target changed is marked for an
    /// update, and a membership of a pushed group that should not be there is recorded so
    /// that the plan removes it. Returns the number of differences.
    async fn reconcile(&mut self) -> Result<i64, TargetError> {
        let conn = self.connection.id.clone();
        let store_err = |e: StoreError| TargetError::Unavailable(e.to_string());
        let pushed = self.store.pushed_objects(&conn).await.map_err(store_err)?;
        let users = with_retry(self.retry, || self.target.list_users()).await?;
        let groups = with_retry(self.retry, || self.target.list_groups()).await?;
        let users_by_id: HashMap<&str, &super::target::TargetUser> =
            users.iter().map(|u| (u.id.as_str(), u)).collect();
        let groups_by_id: HashMap<&str, &super::target::TargetGroup> =
            groups.iter().map(|g| (g.id.as_str(), g)).collect();
        let mut drift = 0i64;
        let mut user_of_target: HashMap<String, String> = HashMap::new();
        let mut group_ids: Vec<(String, String)> = Vec::new();
        for o in &pushed {
            match o.kind.as_str() {
                USER => match users_by_id.get(o.target_id.as_str()) {
                    None => {
                        drift += 1;
                        self.store
                            .forget_pushed(&conn, USER, &o.object_id)
                            .await
                            .map_err(store_err)?;
                    }
                    Some(t) => {
                        user_of_target.insert(o.target_id.clone(), o.object_id.clone());
                        let sent: Option<super::target::OutUser> =
                            serde_json::from_str(&o.fingerprint).ok();
                        let differs = sent.is_none_or(|s| {
                            !s.user_name.eq_ignore_ascii_case(&t.user_name)
                                || s.display_name != t.display_name
                                || t.active.is_some_and(|a| a != s.active)
                        });
                        if differs {
                            drift += 1;
                            let mut o = o.clone();
                            o.fingerprint = String::new();
                            self.store
                                .record_pushed(&conn, &o)
                                .await
                                .map_err(store_err)?;
                        }
                    }
                },
                GROUP => match groups_by_id.get(o.target_id.as_str()) {
                    None => {
                        drift += 1;
                        self.store
                            .forget_pushed(&conn, GROUP, &o.object_id)
                            .await
                            .map_err(store_err)?;
                    }
                    Some(t) => {
                        group_ids.push((o.object_id.clone(), o.target_id.clone()));
                        let sent: Option<super::target::OutGroup> =
                            serde_json::from_str(&o.fingerprint).ok();
                        if sent.is_none_or(|s| s.display_name != t.display_name) {
                            drift += 1;
                            let mut o = o.clone();
                            o.fingerprint = String::new();
                            self.store
                                .record_pushed(&conn, &o)
                                .await
                                .map_err(store_err)?;
                        }
                    }
                },
                _ => {}
            }
        }
        let recorded: HashSet<&str> = pushed
            .iter()
            .filter(|o| o.kind == MEMBER)
            .map(|o| o.object_id.as_str())
            .collect();
        for (group, group_target) in &group_ids {
            let members = with_retry(self.retry, || self.target.list_members(group_target)).await?;
            let mut present = HashSet::new();
            for (user_target, membership) in members {
                let Some(user) = user_of_target.get(&user_target) else {
                    continue;
                };
                let key = member_key(group, user);
                present.insert(key.clone());
                // Not recorded: a wanted one is then in place, an unwanted one is removed by
                // the plan; either way the target differed from what was pushed.
                if !recorded.contains(key.as_str()) {
                    drift += 1;
                    let o = PushedObject {
                        kind: MEMBER.into(),
                        object_id: key,
                        target_id: membership,
                        fingerprint: String::new(),
                    };
                    self.store
                        .record_pushed(&conn, &o)
                        .await
                        .map_err(store_err)?;
                }
            }
            for key in recorded
                .iter()
                .filter(|k| k.starts_with(&format!("{group}/")))
            {
                if !present.contains(*key) {
                    drift += 1;
                    self.store
                        .forget_pushed(&conn, MEMBER, key)
                        .await
                        .map_err(store_err)?;
                }
            }
        }
        Ok(drift)
    }
}
