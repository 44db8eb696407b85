//! Directory connections in the store: create (validated, password sealed), test, and run a
//! sync (read, plan under the safety rules, apply in one transaction, or record why not).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use trustplane_keyring::Sealer;
use trustplane_model::Actor;
use trustplane_store::{
    DirectoryConnection, DirectorySyncChanges, NewDirectoryConnection, SourcedGroup,
    SourcedMembership, SourcedUser, Store, StoreError,
};

use crate::passthrough::Verdict;
use crate::plan::{Conflict, Holder, Member, Plan};
use crate::read::{ConnectionInfo, ReadError, ReadMode};
use crate::settings::{ConnectionSettings, DirectoryType, SettingsError};
use crate::{plan, CurrentState, ObjectIssue, PlanRefused, SafetyPolicy, SourceGroup, SourceUser};

/// Longest connection name.
pub const MAX_DISPLAY_NAME_LEN: usize = 256;

/// A connection to create, as the API receives it.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConnection {
    /// `activeDirectory` or `ldap`.
    #[serde(rename = "type")]
    pub directory_type: DirectoryType,
    /// A readable name, unique.
    pub display_name: String,
    /// `ldaps://host[:port]` or `ldap://host[:port]`.
    pub url: String,
    /// The DN to bind as.
    pub bind_dn: String,
    /// The bind password (sealed at rest, never returned).
    pub bind_password: String,
    /// Where users and groups are searched.
    pub base_dn: String,
    /// PEM of the CA that signed the directory's certificate.
    #[serde(default)]
    pub ca_certificate: Option<String>,
    /// Extra filter for users.
    #[serde(default)]
    pub user_filter: Option<String>,
    /// Extra filter for groups.
    #[serde(default)]
    pub group_filter: Option<String>,
    /// For `ldap://`: StartTLS (default true); plain only on loopback.
    #[serde(default = "yes")]
    pub start_tls: bool,
    /// Check imported users' passwords with a bind to the directory at sign-in.
    #[serde(default)]
    pub pass_through_authentication: bool,
}

/// Whether a stored connection checks its people's passwords at sign-in.
pub fn pass_through_enabled(conn: &DirectoryConnection) -> bool {
    conn.settings
        .get("passThroughAuthentication")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn yes() -> bool {
    true
}

/// Why an operation on a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A setting is refused; `field` names it.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sealed bind password could not be opened (another master key?).
    #[error("the bind password cannot be opened: {0}")]
    Secret(String),
    /// Reading the directory failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// How a run is asked for.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncRequest {
    /// Full reconciliation even where an incremental run is possible.
    #[serde(default)]
    pub full: bool,
    /// The administrator confirms removals over the share.
    #[serde(default)]
    pub confirm: bool,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// `succeeded`, `failed` or `needsConfirmation`.
    pub result: &'static str,
    /// Why it failed or stopped.
    pub error: Option<String>,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// Counts (read, created, updated, disabled, deleted, ...).
    pub counts: Value,
    /// Objects not imported because their name is held elsewhere.
    pub conflicts: Vec<Conflict>,
    /// Entries skipped.
    pub issues: Vec<ObjectIssue>,
}

/// Directory connections over a node's store and master key.
#[derive(Clone)]
pub struct DirectorySync {
    store: Store,
    sealer: Sealer,
}

fn seal_context(name: &str) -> String {
    format!("directoryConnection:{}", name.to_lowercase())
}

impl DirectorySync {
    /// Over a store and the master key bind passwords are sealed with.
    pub fn new(store: Store, sealer: Sealer) -> Self {
        DirectorySync { store, sealer }
    }

    /// Validates and stores a connection; its password is sealed.
    pub async fn create(
        &self,
        actor: &Actor,
        new: NewConnection,
    ) -> Result<DirectoryConnection, ServiceError> {
        let name = new.display_name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_LEN {
            return Err(SettingsError::new("displayName", "must be 1 to 256 characters").into());
        }
        let mut settings = ConnectionSettings::new(
            new.directory_type,
            new.url.clone(),
            new.bind_dn.clone(),
            new.bind_password.clone(),
            new.base_dn.clone(),
        );
        settings.ca_certificate = new.ca_certificate.clone();
        settings.user_filter = new.user_filter.clone();
        settings.group_filter = new.group_filter.clone();
        settings.start_tls = new.start_tls;
        settings.validate()?;
        let sealed = self
            .sealer
            .seal(&seal_context(&name), new.bind_password.as_bytes())
            .map_err(|e| ServiceError::Secret(e.to_string()))?;
        let stored = json!({
            "url": new.url,
            "bindDn": new.bind_dn,
            "baseDn": new.base_dn,
            "caCertificate": new.ca_certificate,
            "userFilter": new.user_filter,
            "groupFilter": new.group_filter,
            "startTls": new.start_tls,
            "passThroughAuthentication": new.pass_through_authentication,
        });
        Ok(self
            .store
            .create_directory_connection(
                actor,
                NewDirectoryConnection {
                    directory_type: new.directory_type.as_str().into(),
                    display_name: name,
                    settings: stored,
                    sealed_bind_password: sealed,
                },
            )
            .await?)
    }

    /// The connection's settings with its password opened, for one run.
    async fn settings(
        &self,
        id_or_name: &str,
    ) -> Result<(DirectoryConnection, ConnectionSettings), ServiceError> {
        let (conn, sealed) = self
            .store
            .directory_connection_with_secret(id_or_name)
            .await?;
        let password = self
            .sealer
            .open(&seal_context(&conn.display_name), &sealed)
            .map_err(|e| ServiceError::Secret(e.to_string()))?;
        let password =
            String::from_utf8(password).map_err(|_| ServiceError::Secret("not UTF-8".into()))?;
        let text = |k: &str| {
            conn.settings
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let directory_type = match conn.directory_type.as_str() {
            "activeDirectory" => DirectoryType::ActiveDirectory,
            _ => DirectoryType::Ldap,
        };
        let mut settings = ConnectionSettings::new(
            directory_type,
            text("url").unwrap_or_default(),
            text("bindDn").unwrap_or_default(),
            password,
            text("baseDn").unwrap_or_default(),
        );
        settings.ca_certificate = text("caCertificate");
        settings.user_filter = text("userFilter");
        settings.group_filter = text("groupFilter");
        settings.start_tls = conn
            .settings
            .get("startTls")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok((conn, settings))
    }

    /// Connects and binds with a stored connection's settings.
    pub async fn test(&self, id_or_name: &str) -> Result<ConnectionInfo, ServiceError> {
        let (_, settings) = self.settings(id_or_name).await?;
        Ok(crate::read::test_connection(&settings).await?)
    }

    /// Checks a person's password by a bind to the directory they were imported from
    /// (pass-through authentication). `Ok(None)`: the connection does not check passwords.
    /// `Err`: no answer could be had, and the sign-in must fail closed.
    pub async fn check_password(
        &self,
        connection_id: &str,
        anchor: &str,
        password: &str,
    ) -> Result<Option<Verdict>, ServiceError> {
        let (conn, settings) = self.settings(connection_id).await?;
        if !pass_through_enabled(&conn) {
            return Ok(None);
        }
        Ok(Some(
            crate::passthrough::verify_password(&settings, anchor, password).await?,
        ))
    }

    /// Runs one sync: a failed read or a refused plan changes nothing and is recorded as such.
    pub async fn sync(
        &self,
        actor: &Actor,
        id_or_name: &str,
        request: SyncRequest,
    ) -> Result<SyncReport, ServiceError> {
        let (conn, settings) = self.settings(id_or_name).await?;
        let mode = match (
            settings.directory_type,
            conn.status.high_water_usn,
            request.full,
        ) {
            (DirectoryType::ActiveDirectory, Some(usn), false) if usn >= 0 => {
                ReadMode::Incremental {
                    since_usn: usn as u64,
                }
            }
            _ => ReadMode::Full,
        };
        let mode_name = match mode {
            ReadMode::Full => "full",
            ReadMode::Incremental { .. } => "incremental",
        };
        let read = match crate::read::read_directory(&settings, mode).await {
            Ok(read) => read,
            Err(e) => {
                let error = e.to_string();
                self.store
                    .record_directory_sync_stopped(actor, &conn.id, "failed", &error, None)
                    .await?;
                return Ok(SyncReport {
                    result: "failed",
                    error: Some(error),
                    mode: mode_name,
                    counts: json!({}),
                    conflicts: vec![],
                    issues: vec![],
                });
            }
        };
        let snapshot = self.store.directory_source_snapshot(&conn.id).await?;
        let current = current_state(&conn.id, &snapshot)?;
        let policy = SafetyPolicy {
            confirmed: request.confirm,
            ..SafetyPolicy::default()
        };
        let planned = match plan(&current, &read, policy) {
            Ok(p) => p,
            Err(refused) => {
                let result = match refused {
                    PlanRefused::NeedsConfirmation { .. } => "needsConfirmation",
                    PlanRefused::EmptyRead { .. } => "failed",
                };
                let error = refused.to_string();
                let counts = serde_json::to_value(&refused).unwrap_or_default();
                self.store
                    .record_directory_sync_stopped(
                        actor,
                        &conn.id,
                        result,
                        &error,
                        Some(counts.clone()),
                    )
                    .await?;
                return Ok(SyncReport {
                    result,
                    error: Some(error),
                    mode: mode_name,
                    counts,
                    conflicts: vec![],
                    issues: read.issues,
                });
            }
        };
        let counts = counts(&read, &planned);
        let changes = changes(&planned, counts.clone());
        self.store
            .apply_directory_sync(actor, &conn.id, changes)
            .await?;
        Ok(SyncReport {
            result: "succeeded",
            error: None,
            mode: mode_name,
            counts,
            conflicts: planned.conflicts,
            issues: planned.issues,
        })
    }
}

fn counts(read: &crate::DirectoryRead, p: &Plan) -> Value {
    json!({
        "usersRead": read.users.len(),
        "groupsRead": read.groups.len(),
        "usersCreated": p.create_users.len(),
        "usersUpdated": p.update_users.len(),
        "usersDisabled": p.disable_users.len(),
        "usersDeleted": p.delete_users.len(),
        "groupsCreated": p.create_groups.len(),
        "groupsUpdated": p.update_groups.len(),
        "groupsDeleted": p.delete_groups.len(),
        "membershipsAdded": p.add_members.len(),
        "membershipsRemoved": p.remove_members.len(),
        "conflicts": p.conflicts.len(),
        "skipped": p.issues.len(),
    })
}

/// What the store holds for a connection, in the planner's terms.
fn current_state(
    connection_id: &str,
    snapshot: &trustplane_store::SourceSnapshot,
) -> Result<CurrentState, ServiceError> {
    let mut state = CurrentState::default();
    let mut anchors: HashMap<&str, (&str, &str)> = HashMap::new();
    for o in &snapshot.objects {
        anchors.insert(&o.object_id, (&o.object_type, &o.anchor));
        let corrupt = |e: serde_json::Error| {
            StoreError::Corrupt(format!("source record of {}: {e}", o.object_id))
        };
        match o.object_type.as_str() {
            "user" => state
                .users
                .push(serde_json::from_value::<SourceUser>(o.record.clone()).map_err(corrupt)?),
            _ => state
                .groups
                .push(serde_json::from_value::<SourceGroup>(o.record.clone()).map_err(corrupt)?),
        }
    }
    let mut memberships: BTreeMap<String, BTreeSet<Member>> = BTreeMap::new();
    for (group_id, member_id, _) in &snapshot.memberships {
        let (Some((_, group_anchor)), Some((member_type, member_anchor))) = (
            anchors.get(group_id.as_str()),
            anchors.get(member_id.as_str()),
        ) else {
            continue; // members added in Trustplane are not the source's to remove
        };
        let member = if *member_type == "group" {
            Member::Group(member_anchor.to_string())
        } else {
            Member::User(member_anchor.to_string())
        };
        memberships
            .entry(group_anchor.to_string())
            .or_default()
            .insert(member);
    }
    state.memberships = memberships;
    for n in &snapshot.names {
        let holder = match &n.connection_id {
            Some(c) if c == connection_id => continue,
            Some(c) => Holder::OtherSource {
                connection_id: c.clone(),
                id: n.object_id.clone(),
            },
            None => Holder::Local {
                id: n.object_id.clone(),
            },
        };
        let map = if n.object_type == "user" {
            &mut state.upn_holders
        } else {
            &mut state.group_name_holders
        };
        map.insert(n.key.clone(), holder);
    }
    Ok(state)
}

fn record<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn sourced_user(u: &SourceUser, manager: Option<String>) -> SourcedUser {
    let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
    let mut attributes = Map::new();
    attributes.insert("department".into(), opt(&u.department));
    attributes.insert("sAMAccountName".into(), opt(&u.sam_account_name));
    SourcedUser {
        anchor: u.anchor.clone(),
        dn: u.dn.clone(),
        record: record(u),
        user_principal_name: u.user_principal_name.clone(),
        display_name: u.display_name.clone(),
        given_name: u.given_name.clone(),
        surname: u.surname.clone(),
        mail: u.mail.clone(),
        account_enabled: u.enabled,
        attributes,
        manager_anchor: manager,
    }
}

fn sourced_group(g: &SourceGroup) -> SourcedGroup {
    SourcedGroup {
        anchor: g.anchor.clone(),
        dn: g.dn.clone(),
        record: record(g),
        display_name: g.display_name.clone(),
        description: g.description.clone(),
    }
}

fn membership(m: &crate::plan::Membership) -> SourcedMembership {
    let (member_anchor, member_is_group) = match &m.member {
        Member::User(a) => (a.clone(), false),
        Member::Group(a) => (a.clone(), true),
    };
    SourcedMembership {
        group_anchor: m.group.clone(),
        member_anchor,
        member_is_group,
    }
}

/// A plan in the store's terms.
fn changes(p: &Plan, counts: Value) -> DirectorySyncChanges {
    let manager = |anchor: &str| p.managers.get(anchor).cloned().flatten();
    DirectorySyncChanges {
        upsert_users: p
            .create_users
            .iter()
            .chain(p.update_users.iter().map(|u| &u.user))
            .chain(p.disable_users.iter().map(|u| &u.user))
            .map(|u| sourced_user(u, manager(&u.anchor)))
            .collect(),
        delete_users: p.delete_users.iter().map(|r| r.anchor.clone()).collect(),
        upsert_groups: p
            .create_groups
            .iter()
            .chain(p.update_groups.iter().map(|g| &g.group))
            .map(sourced_group)
            .collect(),
        delete_groups: p.delete_groups.iter().map(|r| r.anchor.clone()).collect(),
        add_members: p.add_members.iter().map(membership).collect(),
        remove_members: p.remove_members.iter().map(membership).collect(),
        high_water_usn: p.high_water_usn.and_then(|u| i64::try_from(u).ok()),
        full: p.full,
        counts,
    }
}
