//! Authentication state: methods, sessions, pending sign-in steps, account throttling, and
//! the sign-in log (audit entries of category `signIn`).
//!
//! Single-use rules (a TOTP step, a recovery code, a pending step) are enforced by
//! conditional updates, so they hold even when several nodes race.

use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{
    from_ms, new_id, Actor, AuthMethodInfo, Event, Outcome, SessionInfo, Target, Timestamp,
};

use crate::db::{Backend, Bind, Store, WriteTx};
use crate::error::{Result, StoreError};
use crate::protection::LastAdminGuard;

/// A stored method, with its secret (sealed by the caller where it is a key).
#[derive(Clone)]
pub struct StoredMethod {
    /// Method id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `totp`, `passkey`, `recoveryCode` or `temporaryAccessPass`.
    pub kind: String,
    /// Label.
    pub label: String,
    /// Sealed secret or hash.
    pub secret: String,
    /// Passkey credential id.
    pub lookup_key: Option<String>,
    /// TOTP: last accepted step.
    pub last_step: Option<i64>,
    /// Recovery code: when spent.
    pub used_at: Option<Timestamp>,
    /// Registered.
    pub created_at: Timestamp,
    /// Last used.
    pub last_used_at: Option<Timestamp>,
}

impl StoredMethod {
    /// Whether it can prove a second factor now: a registered app or passkey, or a recovery
    /// code not yet spent. A temporary access pass is a way in, not a second factor.
    pub fn is_second_factor(&self) -> bool {
        match self.kind.as_str() {
            TEMPORARY_ACCESS_PASS => false,
            "recoveryCode" => self.used_at.is_none(),
            _ => true,
        }
    }
}

impl std::fmt::Debug for StoredMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredMethod")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl StoredMethod {
    /// The method as the API shows it.
    pub fn info(&self) -> AuthMethodInfo {
        AuthMethodInfo {
            id: self.id.clone(),
            kind: self.kind.clone(),
            display_name: self.label.clone(),
            created_date_time: from_ms(self.created_at),
            last_used_date_time: self.last_used_at.map(from_ms),
            used: self.used_at.is_some(),
        }
    }
}

/// A session to create. The token itself never reaches the store.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id (not secret; shown in lists and logs).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Method references.
    pub amr: Vec<String>,
    /// Whether a second factor was proven now.
    pub mfa: bool,
    /// Source address.
    pub ip_address: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Client app type.
    pub client_app: String,
    /// A limit on what the session may do (`mfaRegistration`).
    pub restriction: Option<String>,
}

/// A stored session.
#[derive(Debug, Clone)]
pub struct Session {
    /// What the API shows.
    pub info: SessionInfo,
    /// Created, ms.
    pub created_at: Timestamp,
    /// Last seen, ms.
    pub last_seen_at: Timestamp,
    /// Second factor proven, ms.
    pub mfa_at: Option<Timestamp>,
    /// `mfaRegistration` when the session may only register a second factor.
    pub restriction: Option<String>,
}

/// What the password step needs to know about an account, read in one query.
#[derive(Clone)]
pub struct SignInFacts {
    /// The user.
    pub user: trustplane_model::User,
    /// The stored password hash.
    pub password_hash: Option<String>,
    /// Whether the password must be changed.
    pub password_must_change: bool,
    /// Consecutive failures.
    pub failures: i64,
    /// When the last failure happened.
    pub last_failure_at: Timestamp,
    /// How many usable second factors the user has.
    pub second_factors: i64,
    /// The directory connection the user was imported from, and their anchor in it: where
    /// pass-through authentication checks the password.
    pub source: Option<(String, String)>,
}

impl std::fmt::Debug for SignInFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInFacts")
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

const METHOD_COLUMNS: &str =
    "id, user_id, kind, label, secret, lookup_key, last_step, used_at, created_at, last_used_at";
const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_seen_at, mfa_at, amr, ip_address, user_agent, client_app, restriction";

fn method_from_row(r: &AnyRow) -> Result<StoredMethod> {
    Ok(StoredMethod {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        kind: r.try_get("kind")?,
        label: r.try_get("label")?,
        secret: r.try_get("secret")?,
        lookup_key: r.try_get("lookup_key")?,
        last_step: r.try_get("last_step")?,
        used_at: r.try_get("used_at")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

fn session_from_row(r: &AnyRow) -> Result<Session> {
    let amr: String = r.try_get("amr")?;
    let created_at: i64 = r.try_get("created_at")?;
    let last_seen_at: i64 = r.try_get("last_seen_at")?;
    let mfa_at: Option<i64> = r.try_get("mfa_at")?;
    Ok(Session {
        info: SessionInfo {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            created_date_time: from_ms(created_at),
            last_seen_date_time: from_ms(last_seen_at),
            mfa_date_time: mfa_at.map(from_ms),
            amr: serde_json::from_str(&amr)?,
            ip_address: r.try_get("ip_address")?,
            user_agent: r.try_get("user_agent")?,
            client_app: r.try_get("client_app")?,
        },
        created_at,
        last_seen_at,
        mfa_at,
        restriction: r.try_get("restriction")?,
    })
}

fn auth_event(actor: &Actor, activity: &str, user_id: &str, detail: Option<String>) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "authentication".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: "user".into(),
            id: user_id.into(),
            display_name: None,
        }),
        result: Outcome::Success,
        result_reason: detail,
        before: None,
        after: None,
    }
}

/// The kind of a temporary access pass: a way in, not a second factor.
pub const TEMPORARY_ACCESS_PASS: &str = "temporaryAccessPass";

impl Store {
    /// The facts the password step needs, by id or user principal name, in one query.
    pub async fn sign_in_facts(&self, username: &str) -> Result<Option<SignInFacts>> {
        let _t = self.timer("auth.facts");
        let row = self
            .fetch_optional(
                "SELECT u.id AS id, u.upn AS upn, u.display_name AS display_name, u.mail AS mail, \
                 u.given_name AS given_name, u.surname AS surname, u.account_enabled AS account_enabled, \
                 u.attributes AS attributes, u.created_at AS created_at, u.password_hash AS password_hash, \
                 u.password_must_change AS password_must_change, \
                 COALESCE(t.failures, 0) AS failures, COALESCE(t.last_failure_at, 0) AS last_failure_at, \
                 (SELECT COUNT(*) FROM auth_methods m WHERE m.user_id = u.id \
                    AND m.kind <> 'temporaryAccessPass' \
                    AND (m.kind <> 'recoveryCode' OR m.used_at IS NULL)) AS factors, \
                 s.connection_id AS source_connection, s.anchor AS source_anchor \
                 FROM users u LEFT JOIN account_throttle t ON t.user_id = u.id \
                 LEFT JOIN directory_sources s ON s.object_id = u.id AND s.object_type = 'user' \
                 WHERE u.id = $1 OR u.upn_key = $2",
                &[Bind::Text(username.into()), Bind::Text(username.to_lowercase())],
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SignInFacts {
            user: crate::directory::user_from_row(&r)?,
            password_hash: r.try_get("password_hash")?,
            password_must_change: r.try_get::<i64, _>("password_must_change")? != 0,
            failures: r.try_get("failures")?,
            last_failure_at: r.try_get("last_failure_at")?,
            second_factors: r.try_get("factors")?,
            source: match (
                r.try_get::<Option<String>, _>("source_connection")?,
                r.try_get::<Option<String>, _>("source_anchor")?,
            ) {
                (Some(connection), Some(anchor)) => Some((connection, anchor)),
                _ => None,
            },
        }))
    }

    // ---- methods ----

    /// Registers a method for a user.
    pub async fn add_auth_method(
        &self,
        actor: &Actor,
        user_id: &str,
        kind: &str,
        label: &str,
        secret: &str,
        lookup_key: Option<&str>,
    ) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let id = new_id();
        let now = tx.now;
        tx.execute(
            "INSERT INTO auth_methods (id, user_id, kind, label, secret, lookup_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Bind::Text(id.clone()),
                Bind::Text(user_id.into()),
                Bind::Text(kind.into()),
                Bind::Text(label.into()),
                Bind::Text(secret.into()),
                Bind::OptText(lookup_key.map(str::to_string)),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.audit(auth_event(
            actor,
            "authMethod.add",
            user_id,
            Some(format!("{kind}: {label}")),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces all of a user's recovery codes with new ones (given as hashes).
    pub async fn replace_recovery_codes(
        &self,
        actor: &Actor,
        user_id: &str,
        hashes: &[String],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "DELETE FROM auth_methods WHERE user_id = $1 AND kind = 'recoveryCode'",
            &[Bind::Text(user_id.into())],
        )
        .await?;
        for (i, hash) in hashes.iter().enumerate() {
            tx.execute(
                "INSERT INTO auth_methods (id, user_id, kind, label, secret, created_at) \
                 VALUES ($1, $2, 'recoveryCode', $3, $4, $5)",
                &[
                    Bind::Text(new_id()),
                    Bind::Text(user_id.into()),
                    Bind::Text(format!("recovery code {}", i + 1)),
                    Bind::Text(hash.clone()),
                    Bind::Int(now),
                ],
            )
            .await?;
        }
        tx.audit(auth_event(
            actor,
            "authMethod.recoveryCodesRegenerated",
            user_id,
            Some(format!("{} codes", hashes.len())),
        ))
        .await?;
        tx.commit().await
    }

    /// Gives a user a temporary access pass (its sealed record), replacing any they had: a
    /// person holds at most one.
    pub async fn replace_temporary_access_pass(
        &self,
        actor: &Actor,
        user_id: &str,
        record: &str,
        label: &str,
    ) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "DELETE FROM auth_methods WHERE user_id = $1 AND kind = $2",
            &[
                Bind::Text(user_id.into()),
                Bind::Text(TEMPORARY_ACCESS_PASS.into()),
            ],
        )
        .await?;
        let id = new_id();
        tx.execute(
            "INSERT INTO auth_methods (id, user_id, kind, label, secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Bind::Text(id.clone()),
                Bind::Text(user_id.into()),
                Bind::Text(TEMPORARY_ACCESS_PASS.into()),
                Bind::Text(label.into()),
                Bind::Text(record.into()),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.audit(auth_event(
            actor,
            "authMethod.temporaryAccessPass.create",
            user_id,
            Some(label.to_string()),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Spends a single-use temporary access pass; false if it was spent (or removed) before,
    /// here or on another node.
    pub async fn spend_temporary_access_pass(&self, method_id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = tx
            .execute(
                "DELETE FROM auth_methods WHERE id = $1 AND kind = $2",
                &[
                    Bind::Text(method_id.into()),
                    Bind::Text(TEMPORARY_ACCESS_PASS.into()),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Records that a method was used now.
    pub async fn touch_auth_method(&self, method_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE auth_methods SET last_used_at = $1 WHERE id = $2",
            &[Bind::Int(now), Bind::Text(method_id.into())],
        )
        .await?;
        tx.commit().await
    }

    /// A user's methods, optionally of one kind.
    pub async fn list_auth_methods(
        &self,
        user_id: &str,
        kind: Option<&str>,
    ) -> Result<Vec<StoredMethod>> {
        let _t = self.timer("auth.methods");
        let rows = match kind {
            Some(k) => {
                self.fetch_all(
                    &format!("SELECT {METHOD_COLUMNS} FROM auth_methods WHERE user_id = $1 AND kind = $2 ORDER BY created_at, id"),
                    &[Bind::Text(user_id.into()), Bind::Text(k.into())],
                )
                .await?
            }
            None => {
                self.fetch_all(
                    &format!("SELECT {METHOD_COLUMNS} FROM auth_methods WHERE user_id = $1 ORDER BY created_at, id"),
                    &[Bind::Text(user_id.into())],
                )
                .await?
            }
        };
        rows.iter().map(method_from_row).collect()
    }

    /// The passkey with this credential id.
    pub async fn find_passkey(&self, credential_id: &str) -> Result<Option<StoredMethod>> {
        let row = self
            .fetch_optional(
                &format!("SELECT {METHOD_COLUMNS} FROM auth_methods WHERE kind = 'passkey' AND lookup_key = $1"),
                &[Bind::Text(credential_id.into())],
            )
            .await?;
        row.as_ref().map(method_from_row).transpose()
    }

    /// Removes a method of a user.
    pub async fn delete_auth_method(
        &self,
        actor: &Actor,
        user_id: &str,
        method_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = tx
            .fetch_optional(
                "SELECT kind, label FROM auth_methods WHERE id = $1 AND user_id = $2",
                &[Bind::Text(method_id.into()), Bind::Text(user_id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "authenticationMethod",
                id: method_id.into(),
            })?;
        let kind: String = row.try_get("kind")?;
        let label: String = row.try_get("label")?;
        // A passkey may be the last way in of the last Global Administrator.
        let guard = match kind.as_str() {
            "passkey" => Some(LastAdminGuard::take(&mut tx).await?),
            _ => None,
        };
        tx.execute(
            "DELETE FROM auth_methods WHERE id = $1",
            &[Bind::Text(method_id.into())],
        )
        .await?;
        if let Some(guard) = guard {
            guard.check(&mut tx).await?;
        }
        tx.audit(auth_event(
            actor,
            "authMethod.remove",
            user_id,
            Some(format!("{kind}: {label}")),
        ))
        .await?;
        tx.commit().await
    }

    /// Accepts TOTP time step `step` for a method unless it (or a later one) was used before.
    pub async fn accept_totp_step(&self, method_id: &str, step: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let n = tx
            .execute(
                "UPDATE auth_methods SET last_step = $1, last_used_at = $2 \
                 WHERE id = $3 AND kind = 'totp' AND (last_step IS NULL OR last_step < $1)",
                &[
                    Bind::Int(step),
                    Bind::Int(now),
                    Bind::Text(method_id.into()),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Spends a recovery code; false if it was spent before.
    pub async fn spend_recovery_code(&self, method_id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let n = tx
            .execute(
                "UPDATE auth_methods SET used_at = $1, last_used_at = $1 \
                 WHERE id = $2 AND kind = 'recoveryCode' AND used_at IS NULL",
                &[Bind::Int(now), Bind::Text(method_id.into())],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Stores a passkey's updated state (its signature counter) after a sign-in.
    pub async fn update_passkey(&self, method_id: &str, secret: Option<&str>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE auth_methods SET secret = COALESCE($1, secret), last_used_at = $2 WHERE id = $3",
            &[Bind::OptText(secret.map(str::to_string)), Bind::Int(now), Bind::Text(method_id.into())],
        )
        .await?;
        tx.commit().await
    }

    // ---- sessions ----

    /// Creates a session with its sign-in log entry and clears the user's failure count, in
    /// one transaction.
    pub async fn create_session(&self, new: NewSession, sign_in: Event) -> Result<Session> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let id = new.id.clone();
        let new_ip = new.ip_address.clone();
        tx.execute(
            &format!(
                "INSERT INTO sessions (token_hash, {SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                Bind::Text(new.token_hash),
                Bind::Text(id.clone()),
                Bind::Text(new.user_id.clone()),
                Bind::Int(now),
                Bind::OptInt(new.mfa.then_some(now)),
                Bind::Text(serde_json::to_string(&new.amr)?),
                Bind::OptText(new.ip_address),
                Bind::OptText(new.user_agent),
                Bind::Text(new.client_app),
                Bind::OptText(new.restriction),
            ],
        )
        .await?;
        let row = tx
            .fetch_optional(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"),
                &[Bind::Text(id)],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("session vanished".into()))?;
        let session = session_from_row(&row)?;
        tx.execute(
            "DELETE FROM account_throttle WHERE user_id = $1",
            &[Bind::Text(new.user_id.clone())],
        )
        .await?;
        if let Some(ip) = &new_ip {
            // Where a person signs in from is what tells a familiar cloud API caller from a
            // stranger (detection reads it).
            tx.execute(
                "INSERT INTO person_ips (person_id, ip, first_seen) VALUES ($1, $2, $3) ON CONFLICT (person_id, ip) DO NOTHING",
                &[Bind::Text(new.user_id.clone()), Bind::Text(ip.clone()), Bind::Int(now)],
            )
            .await?;
        }
        tx.audit(sign_in).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The session with this token hash, if any (expiry is the caller's policy).
    pub async fn find_session(&self, token_hash: &str) -> Result<Option<Session>> {
        let _t = self.timer("sessions.find");
        let row = self
            .fetch_optional(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"),
                &[Bind::Text(token_hash.into())],
            )
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Records use of a session now.
    pub async fn touch_session(&self, session_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE sessions SET last_seen_at = $1 WHERE id = $2",
            &[Bind::Int(now), Bind::Text(session_id.into())],
        )
        .await?;
        tx.commit().await
    }

    /// Records a second factor proven now in a session (step-up), adding method references.
    pub async fn mark_session_mfa(&self, session_id: &str, amr: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE sessions SET mfa_at = $1, last_seen_at = $1, amr = $2, restriction = NULL WHERE id = $3",
            &[
                Bind::Int(now),
                Bind::Text(serde_json::to_string(amr)?),
                Bind::Text(session_id.into()),
            ],
        )
        .await?;
        tx.commit().await
    }

    /// A user's sessions, newest first.
    pub async fn list_sessions(&self, user_id: &str) -> Result<Vec<Session>> {
        self.fetch_all(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id"),
            &[Bind::Text(user_id.into())],
        )
        .await?
        .iter()
        .map(session_from_row)
        .collect()
    }

    /// Ends one session of a user, with the OIDC grants issued from it.
    pub async fn revoke_session(
        &self,
        actor: &Actor,
        user_id: &str,
        session_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let ended = end_sign_ins_tx(
            &mut tx,
            user_id,
            Ending::Session(session_id),
            "session revoked",
        )
        .await?;
        if ended.sessions == 0 {
            return Err(StoreError::NotFound {
                kind: "session",
                id: session_id.into(),
            });
        }
        tx.audit(auth_event(
            actor,
            "session.revoke",
            user_id,
            Some(format!("{session_id}; {}", ended.describe())),
        ))
        .await?;
        tx.commit().await
    }

    /// Ends every session of a user and every OIDC grant (refresh-token family, and the
    /// access tokens issued from it) (Graph's `revokeSignInSessions`); returns how many
    /// sessions there were.
    pub async fn revoke_all_sessions(&self, actor: &Actor, user_id: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let ended = end_sign_ins_tx(
            &mut tx,
            user_id,
            Ending::All { keep: None },
            "sign-in sessions revoked",
        )
        .await?;
        tx.audit(auth_event(
            actor,
            "session.revokeAll",
            user_id,
            Some(ended.describe()),
        ))
        .await?;
        tx.commit().await?;
        Ok(ended.sessions)
    }

    /// Signs out: ends the session of a token, with the OIDC grants issued from it.
    pub async fn sign_out(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = tx
            .fetch_optional(
                "SELECT id, user_id FROM sessions WHERE token_hash = $1",
                &[Bind::Text(token_hash.into())],
            )
            .await?;
        if let Some(r) = row {
            let id: String = r.try_get("id")?;
            let user_id: String = r.try_get("user_id")?;
            end_sign_ins_tx(&mut tx, &user_id, Ending::Session(&id), "signed out").await?;
        }
        tx.commit().await
    }

    /// Drops a session that expired. Its OIDC grants live on: a refresh token is meant to
    /// outlast the browser session it came from (sign-out and revocation end both).
    pub async fn end_expired_session(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM sessions WHERE token_hash = $1",
            &[Bind::Text(token_hash.into())],
        )
        .await?;
        tx.commit().await
    }

    // ---- pending steps ----

    /// Stores state for the next step of a flow, under the hash of a random handle.
    pub async fn put_pending(
        &self,
        id_hash: &str,
        kind: &str,
        user_id: Option<&str>,
        data: &str,
        ttl_ms: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        // Expired rows are swept as new ones arrive, so the table stays small.
        tx.execute(
            "DELETE FROM pending_steps WHERE expires_at <= $1",
            &[Bind::Int(now)],
        )
        .await?;
        tx.execute(
            "INSERT INTO pending_steps (id_hash, kind, user_id, data, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                Bind::Text(id_hash.into()),
                Bind::Text(kind.into()),
                Bind::OptText(user_id.map(str::to_string)),
                Bind::Text(data.into()),
                Bind::Int(now.saturating_add(ttl_ms)),
            ],
        )
        .await?;
        tx.commit().await
    }

    /// Takes (reads and deletes) pending state; None if absent, of another kind, or expired.
    pub async fn take_pending(
        &self,
        id_hash: &str,
        kind: &str,
    ) -> Result<Option<(Option<String>, String)>> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let row = tx
            .fetch_optional(
                "SELECT user_id, data, expires_at FROM pending_steps WHERE id_hash = $1 AND kind = $2",
                &[Bind::Text(id_hash.into()), Bind::Text(kind.into())],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let deleted = tx
            .execute(
                "DELETE FROM pending_steps WHERE id_hash = $1",
                &[Bind::Text(id_hash.into())],
            )
            .await?;
        tx.commit().await?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if deleted != 1 || expires_at <= now {
            return Ok(None);
        }
        Ok(Some((row.try_get("user_id")?, row.try_get("data")?)))
    }

    /// Reads pending state without taking it.
    pub async fn peek_pending(
        &self,
        id_hash: &str,
        kind: &str,
    ) -> Result<Option<(Option<String>, String)>> {
        let now = self.clock.now_ms();
        let row = self
            .fetch_optional(
                "SELECT user_id, data, expires_at FROM pending_steps WHERE id_hash = $1 AND kind = $2",
                &[Bind::Text(id_hash.into()), Bind::Text(kind.into())],
            )
            .await?;
        match row {
            Some(r) if r.try_get::<i64, _>("expires_at")? > now => {
                Ok(Some((r.try_get("user_id")?, r.try_get("data")?)))
            }
            _ => Ok(None),
        }
    }

    // ---- throttling ----

    /// Consecutive failures of an account and the time of the last one.
    pub async fn account_failures(&self, user_id: &str) -> Result<(i64, Timestamp)> {
        let row = self
            .fetch_optional(
                "SELECT failures, last_failure_at FROM account_throttle WHERE user_id = $1",
                &[Bind::Text(user_id.into())],
            )
            .await?;
        match row {
            Some(r) => Ok((r.try_get("failures")?, r.try_get("last_failure_at")?)),
            None => Ok((0, 0)),
        }
    }

    /// Counts one more failure.
    pub async fn record_account_failure(&self, user_id: &str) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO account_throttle (user_id, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET failures = account_throttle.failures + 1, last_failure_at = $2",
            &[Bind::Text(user_id.into()), Bind::Int(now)],
        )
        .await?;
        let row = tx
            .fetch_optional(
                "SELECT failures FROM account_throttle WHERE user_id = $1",
                &[Bind::Text(user_id.into())],
            )
            .await?;
        tx.commit().await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>("failures"))
            .transpose()?
            .unwrap_or(1))
    }

    /// Clears the failure count (after a success, or by an administrator).
    pub async fn reset_account_failures(&self, user_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM account_throttle WHERE user_id = $1",
            &[Bind::Text(user_id.into())],
        )
        .await?;
        tx.commit().await
    }

    // ---- sign-in log ----

    /// Appends a sign-in attempt to the sign-in log (the audit chain, category `signIn`).
    pub async fn record_sign_in(&self, event: Event) -> Result<i64> {
        self.record_event(event).await
    }
}

/// Which sign-ins of a user end together.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ending<'a> {
    /// Every session but `keep`, and every OIDC grant of the user.
    All {
        /// The session that lives on (where the person changed their own password).
        keep: Option<&'a str>,
    },
    /// One session and the grants issued from it.
    Session(&'a str),
}

/// What ending sign-ins ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ended {
    /// Sessions deleted.
    pub sessions: u64,
    /// OIDC grants revoked.
    pub grants: u64,
}

impl Ended {
    /// For the audit entry.
    pub(crate) fn describe(&self) -> String {
        format!(
            "sessions ended: {}; OIDC grants revoked: {}",
            self.sessions, self.grants
        )
    }
}

/// Locks a user's row for the rest of `tx` and says whether the user exists and is enabled.
/// Ending sign-ins and starting a grant both take this lock first, so on PostgreSQL a code
/// redeemed while the sessions end cannot leave a grant behind (SQLite writes are serial).
pub(crate) async fn lock_user_tx(tx: &mut WriteTx, user_id: &str) -> Result<Option<bool>> {
    let sql = match tx.backend {
        Backend::Postgres => "SELECT account_enabled FROM users WHERE id = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT account_enabled FROM users WHERE id = $1",
    };
    let row = tx
        .fetch_optional(sql, &[Bind::Text(user_id.into())])
        .await?;
    row.map(|r| r.try_get::<i64, _>("account_enabled").map(|v| v != 0))
        .transpose()
        .map_err(Into::into)
}

/// Ends sign-ins in `tx`: the sessions, and the OIDC grants they led to (with all of them, the
/// codes not yet redeemed; a code of one ended session fails at redemption: see `start_grant`).
/// A revoked grant takes
/// its refresh tokens and the access tokens that name it (userinfo and introspection look the
/// grant up), so nothing issued before keeps working. The one way to end a session on purpose.
pub(crate) async fn end_sign_ins_tx(
    tx: &mut WriteTx,
    user_id: &str,
    ending: Ending<'_>,
    reason: &str,
) -> Result<Ended> {
    lock_user_tx(tx, user_id).await?;
    let now = tx.now;
    let user = Bind::Text(user_id.into());
    let revoke = Bind::Text(reason.into());
    let ended = match ending {
        Ending::All { keep } => {
            let sessions = match keep {
                Some(k) => {
                    tx.execute(
                        "DELETE FROM sessions WHERE user_id = $1 AND id <> $2",
                        &[user.clone(), Bind::Text(k.into())],
                    )
                    .await?
                }
                None => {
                    tx.execute(
                        "DELETE FROM sessions WHERE user_id = $1",
                        std::slice::from_ref(&user),
                    )
                    .await?
                }
            };
            let grants = tx
                .execute(
                    "UPDATE oidc_grants SET revoked_at = $1, revoked_reason = $2 \
                     WHERE user_id = $3 AND revoked_at IS NULL",
                    &[Bind::Int(now), revoke, user.clone()],
                )
                .await?;
            // Codes not yet redeemed would start grants of their own, even from a kept session.
            tx.execute(
                "DELETE FROM oidc_codes WHERE user_id = $1 AND used_at IS NULL",
                &[user],
            )
            .await?;
            Ended { sessions, grants }
        }
        Ending::Session(id) => {
            let session = Bind::Text(id.into());
            let sessions = tx
                .execute(
                    "DELETE FROM sessions WHERE id = $1 AND user_id = $2",
                    &[session.clone(), user.clone()],
                )
                .await?;
            let grants = tx
                .execute(
                    "UPDATE oidc_grants SET revoked_at = $1, revoked_reason = $2 \
                     WHERE session_id = $3 AND user_id = $4 AND revoked_at IS NULL",
                    &[Bind::Int(now), revoke, session, user],
                )
                .await?;
            Ended { sessions, grants }
        }
    };
    Ok(ended)
}
