//! The OpenID Connect provider's state: client secrets, authorization codes, grants with their
//! refresh tokens, and revoked access tokens.
//!
//! Secrets, codes and refresh tokens reach the store only as hashes. Single use is enforced by
//! conditional updates, so it holds when several nodes race: a code is redeemed once, and a
//! refresh token is rotated once; a second presentation of either revokes the grant (every
//! token issued from the same authorization) in the same transaction as its audit entry.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{Actor, Event, Outcome, Target, Timestamp};

use crate::auth::lock_user_tx;
use crate::db::{Bind, Store};
use crate::error::{Result, StoreError};

/// A client secret to add; the secret itself is shown once and never stored.
#[derive(Clone)]
pub struct NewClientSecret {
    /// Key id (Graph's `keyId`).
    pub key_id: String,
    /// The application's object id.
    pub application_id: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// The first characters of the secret, to tell secrets apart.
    pub hint: String,
    /// A label.
    pub display_name: Option<String>,
    /// When the secret starts to work.
    pub start_at: Timestamp,
    /// When it stops working, if ever.
    pub end_at: Option<Timestamp>,
}

/// A stored client secret.
#[derive(Clone)]
pub struct ClientSecret {
    /// Key id.
    pub key_id: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// The first characters of the secret.
    pub hint: String,
    /// A label.
    pub display_name: Option<String>,
    /// When it starts to work.
    pub start_at: Timestamp,
    /// When it stops working, if ever.
    pub end_at: Option<Timestamp>,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("key_id", &self.key_id)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// How a person signed in, carried from the authorization to every token of its grant.
#[derive(Debug, Clone, PartialEq)]
pub struct Authentication {
    /// The user's object id.
    pub user_id: String,
    /// The Trustplane session, if the grant came from one.
    pub session_id: Option<String>,
    /// When the person authenticated (ms).
    pub auth_time: Timestamp,
    /// RFC 8176 method references.
    pub amr: Vec<String>,
    /// When a second factor was last proven (ms).
    pub mfa_at: Option<Timestamp>,
    /// The client app type of the sign-in (`browser`, `other`, ...).
    pub client_app: String,
}

/// An authorization code as stored (under its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    /// Hex SHA-256 of the code.
    pub code_hash: String,
    /// The grant its tokens will belong to.
    pub grant_id: String,
    /// The client application's object id.
    pub application_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The `nonce` of the request.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Who signed in, and how.
    pub authentication: Authentication,
    /// When it stops being accepted (ms).
    pub expires_at: Timestamp,
}

/// What presenting a code found.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeUse {
    /// No such code (or it expired and was swept).
    Unknown,
    /// A code issued to another client; it is left unspent.
    OtherClient,
    /// The first presentation: the code is now spent.
    First(AuthCode),
    /// The code was spent before; its grant has been revoked.
    Replayed(AuthCode),
}

/// A grant: one authorization and every token issued from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Grant id.
    pub id: String,
    /// The client application's object id.
    pub application_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The `nonce` of the authorization request.
    pub nonce: Option<String>,
    /// Who signed in, and how.
    pub authentication: Authentication,
    /// When it was made (ms).
    pub created_at: Timestamp,
    /// When the whole family expires (ms).
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// When it expires (ms).
    pub expires_at: Timestamp,
}

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// When it expires (ms).
    pub expires_at: Timestamp,
    /// When it was exchanged for its successor, if it was.
    pub rotated_at: Option<Timestamp>,
}

const GRANT_COLUMNS: &str =
    "g.id AS id, g.application_id AS application_id, g.user_id AS user_id, \
    g.session_id AS session_id, g.scope AS scope, g.nonce AS nonce, g.auth_time AS auth_time, \
    g.amr AS amr, g.mfa_at AS mfa_at, g.client_app AS client_app, g.created_at AS created_at, \
    g.expires_at AS expires_at, g.revoked_at AS revoked_at";

const CODE_COLUMNS: &str =
    "code_hash, grant_id, application_id, user_id, session_id, redirect_uri, \
    scope, nonce, code_challenge, auth_time, amr, mfa_at, client_app, expires_at, used_at";

fn authentication_from_row(r: &AnyRow) -> Result<Authentication> {
    let amr: String = r.try_get("amr")?;
    Ok(Authentication {
        user_id: r.try_get("user_id")?,
        session_id: r.try_get("session_id")?,
        auth_time: r.try_get("auth_time")?,
        amr: serde_json::from_str(&amr)?,
        mfa_at: r.try_get("mfa_at")?,
        client_app: r.try_get("client_app")?,
    })
}

fn grant_from_row(r: &AnyRow) -> Result<Grant> {
    Ok(Grant {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        scope: r.try_get("scope")?,
        nonce: r.try_get("nonce")?,
        authentication: authentication_from_row(r)?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn code_from_row(r: &AnyRow) -> Result<AuthCode> {
    Ok(AuthCode {
        code_hash: r.try_get("code_hash")?,
        grant_id: r.try_get("grant_id")?,
        application_id: r.try_get("application_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        scope: r.try_get("scope")?,
        nonce: r.try_get("nonce")?,
        code_challenge: r.try_get("code_challenge")?,
        authentication: authentication_from_row(r)?,
        expires_at: r.try_get("expires_at")?,
    })
}

fn secret_from_row(r: &AnyRow) -> Result<ClientSecret> {
    Ok(ClientSecret {
        key_id: r.try_get("key_id")?,
        secret_hash: r.try_get("secret_hash")?,
        hint: r.try_get("hint")?,
        display_name: r.try_get("display_name")?,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
    })
}

fn secret_event(
    actor: &Actor,
    activity: &str,
    application_id: &str,
    key_id: &str,
    hint: Option<&str>,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "directory".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: "application".into(),
            id: application_id.into(),
            display_name: None,
        }),
        result: Outcome::Success,
        result_reason: None,
        before: None,
        // The key id and hint only: neither the secret nor its hash enters the audit trail.
        after: Some(json!({ "keyId": key_id, "hint": hint })),
    }
}

impl Store {
    // ---- client secrets ----

    /// Adds a client secret (by hash) to an application.
    pub async fn add_client_secret(&self, actor: &Actor, secret: NewClientSecret) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "INSERT INTO oidc_client_secrets (key_id, application_id, secret_hash, hint, display_name, start_at, end_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Bind::Text(secret.key_id.clone()),
                Bind::Text(secret.application_id.clone()),
                Bind::Text(secret.secret_hash.clone()),
                Bind::Text(secret.hint.clone()),
                Bind::OptText(secret.display_name.clone()),
                Bind::Int(secret.start_at),
                Bind::OptInt(secret.end_at),
            ],
        )
        .await?;
        tx.touch(crate::changes::Topic::Applications).await?;
        tx.audit(secret_event(
            actor,
            "application.addPassword",
            &secret.application_id,
            &secret.key_id,
            Some(&secret.hint),
        ))
        .await?;
        tx.commit().await
    }

    /// Removes a client secret of an application.
    pub async fn remove_client_secret(
        &self,
        actor: &Actor,
        application_id: &str,
        key_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let n = tx
            .execute(
                "DELETE FROM oidc_client_secrets WHERE key_id = $1 AND application_id = $2",
                &[Bind::Text(key_id.into()), Bind::Text(application_id.into())],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "passwordCredential",
                id: key_id.into(),
            });
        }
        tx.touch(crate::changes::Topic::Applications).await?;
        tx.audit(secret_event(
            actor,
            "application.removePassword",
            application_id,
            key_id,
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// The client secrets of an application, oldest first.
    pub async fn client_secrets(&self, application_id: &str) -> Result<Vec<ClientSecret>> {
        let _t = self.timer("oidc.secrets");
        self.fetch_all(
            "SELECT key_id, secret_hash, hint, display_name, start_at, end_at FROM oidc_client_secrets \
             WHERE application_id = $1 ORDER BY start_at, key_id",
            &[Bind::Text(application_id.into())],
        )
        .await?
        .iter()
        .map(secret_from_row)
        .collect()
    }

    // ---- authorization codes ----

    /// Stores a new authorization code with the audit entry of its issue.
    pub async fn issue_code(&self, code: &AuthCode, event: Event) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        // Codes that can no longer be redeemed (nor replayed) go as new ones arrive.
        tx.execute(
            "DELETE FROM oidc_codes WHERE expires_at <= $1",
            &[Bind::Int(now)],
        )
        .await?;
        let a = &code.authentication;
        tx.execute(
            &format!("INSERT INTO oidc_codes ({CODE_COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15)"),
            &[
                Bind::Text(code.code_hash.clone()),
                Bind::Text(code.grant_id.clone()),
                Bind::Text(code.application_id.clone()),
                Bind::Text(a.user_id.clone()),
                Bind::OptText(a.session_id.clone()),
                Bind::Text(code.redirect_uri.clone()),
                Bind::Text(code.scope.clone()),
                Bind::OptText(code.nonce.clone()),
                Bind::OptText(code.code_challenge.clone()),
                Bind::Int(a.auth_time),
                Bind::Text(serde_json::to_string(&a.amr)?),
                Bind::OptInt(a.mfa_at),
                Bind::Text(a.client_app.clone()),
                Bind::Int(code.expires_at),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.audit(event).await?;
        tx.commit().await
    }

    /// Presents a code on behalf of the client application `application_id`. A code issued
    /// to another client is left as it was (`OtherClient`), so a client that learns someone
    /// else's code can neither spend it nor revoke what it issued. Otherwise the first
    /// presentation spends it; a later one revokes the grant its tokens belong to and records
    /// `on_replay`'s audit entry in the same transaction.
    pub async fn use_code(
        &self,
        code_hash: &str,
        application_id: &str,
        on_replay: impl FnOnce(&AuthCode) -> Event + Send,
    ) -> Result<CodeUse> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let Some(row) = tx
            .fetch_optional(
                &format!("SELECT {CODE_COLUMNS} FROM oidc_codes WHERE code_hash = $1"),
                &[Bind::Text(code_hash.into())],
            )
            .await?
        else {
            return Ok(CodeUse::Unknown);
        };
        let code = code_from_row(&row)?;
        if code.application_id != application_id {
            return Ok(CodeUse::OtherClient);
        }
        let spent = tx
            .execute(
                "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
                &[Bind::Int(now), Bind::Text(code_hash.into())],
            )
            .await?;
        if spent == 1 {
            tx.commit().await?;
            return Ok(CodeUse::First(code));
        }
        revoke_grant_tx(&mut tx, &code.grant_id, "authorization code reused").await?;
        tx.audit(on_replay(&code)).await?;
        tx.commit().await?;
        Ok(CodeUse::Replayed(code))
    }

    // ---- grants and refresh tokens ----

    /// Stores a new grant, its first refresh token if any, and the audit entry of what was
    /// issued, in one transaction. Returns `false`, storing nothing, when the user is no
    /// longer enabled or the session the grant comes from has ended meanwhile (signed out,
    /// revoked, a password change): a code issued before cannot outlive them.
    pub async fn start_grant(
        &self,
        grant: &Grant,
        refresh: Option<&NewRefreshToken>,
        event: Event,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let a = &grant.authentication;
        if lock_user_tx(&mut tx, &a.user_id).await? != Some(true) {
            return Ok(false);
        }
        if let Some(session) = &a.session_id {
            let live = tx
                .fetch_optional(
                    "SELECT 1 AS one FROM sessions WHERE id = $1 AND user_id = $2",
                    &[Bind::Text(session.clone()), Bind::Text(a.user_id.clone())],
                )
                .await?;
            if live.is_none() {
                return Ok(false);
            }
        }
        tx.execute(
            "INSERT INTO oidc_grants (id, application_id, user_id, session_id, scope, nonce, auth_time, amr, mfa_at, \
             client_app, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                Bind::Text(grant.id.clone()),
                Bind::Text(grant.application_id.clone()),
                Bind::Text(a.user_id.clone()),
                Bind::OptText(a.session_id.clone()),
                Bind::Text(grant.scope.clone()),
                Bind::OptText(grant.nonce.clone()),
                Bind::Int(a.auth_time),
                Bind::Text(serde_json::to_string(&a.amr)?),
                Bind::OptInt(a.mfa_at),
                Bind::Text(a.client_app.clone()),
                Bind::Int(now),
                Bind::Int(grant.expires_at),
            ],
        )
        .await?;
        if let Some(r) = refresh {
            insert_refresh(&mut tx, &grant.id, r).await?;
        }
        tx.audit(event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A grant by id.
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>> {
        let _t = self.timer("oidc.grant");
        let row = self
            .fetch_optional(
                &format!("SELECT {GRANT_COLUMNS} FROM oidc_grants g WHERE g.id = $1"),
                &[Bind::Text(id.into())],
            )
            .await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    /// A refresh token by hash, with its grant.
    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<(RefreshToken, Grant)>> {
        let _t = self.timer("oidc.refresh");
        let row = self
            .fetch_optional(
                &format!(
                    "SELECT r.token_hash AS token_hash, r.expires_at AS refresh_expires_at, \
                     r.rotated_at AS rotated_at, {GRANT_COLUMNS} \
                     FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id WHERE r.token_hash = $1"
                ),
                &[Bind::Text(token_hash.into())],
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((
            RefreshToken {
                token_hash: r.try_get("token_hash")?,
                expires_at: r.try_get("refresh_expires_at")?,
                rotated_at: r.try_get("rotated_at")?,
            },
            grant_from_row(&r)?,
        )))
    }

    /// Exchanges a refresh token for its successor, with the audit entry of what was issued.
    /// Returns `false`, changing nothing, when the old token was rotated meanwhile (by a
    /// concurrent request) or its grant was revoked: the caller treats that as reuse.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        grant_id: &str,
        new: &NewRefreshToken,
        event: Event,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let rotated = tx
            .execute(
                "UPDATE oidc_refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND grant_id = $3 \
                 AND rotated_at IS NULL \
                 AND EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = $3 AND g.revoked_at IS NULL)",
                &[
                    Bind::Int(now),
                    Bind::Text(old_hash.into()),
                    Bind::Text(grant_id.into()),
                ],
            )
            .await?;
        if rotated != 1 {
            return Ok(false);
        }
        insert_refresh(&mut tx, grant_id, new).await?;
        tx.audit(event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes a grant (every token issued from one authorization) with its audit entry.
    /// Returns whether it was still active.
    pub async fn revoke_grant(&self, grant_id: &str, reason: &str, event: Event) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = revoke_grant_tx(&mut tx, grant_id, reason).await?;
        tx.audit(event).await?;
        tx.commit().await?;
        Ok(changed)
    }

    // ---- access tokens ----

    /// Marks an access token revoked until it would have expired anyway.
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: Timestamp,
        event: Event,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "DELETE FROM oidc_revoked_tokens WHERE expires_at <= $1",
            &[Bind::Int(now)],
        )
        .await?;
        tx.execute(
            "INSERT INTO oidc_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[Bind::Text(jti.into()), Bind::Int(expires_at)],
        )
        .await?;
        tx.audit(event).await?;
        tx.commit().await
    }

    /// Whether an access token was revoked.
    pub async fn access_token_revoked(&self, jti: &str) -> Result<bool> {
        let _t = self.timer("oidc.revoked");
        Ok(self
            .fetch_optional(
                "SELECT jti FROM oidc_revoked_tokens WHERE jti = $1",
                &[Bind::Text(jti.into())],
            )
            .await?
            .is_some())
    }

    /// Appends an event that changes nothing else (a token issued without stored state, a
    /// refusal) to the audit trail.
    pub async fn record_event(&self, event: Event) -> Result<i64> {
        let seqs = self.record_events(vec![event]).await?;
        seqs.first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("an audit append returned nothing".into()))
    }

    /// Appends several such events in one transaction: one durable commit for all of them
    /// (group commit for callers that wait on the same disk flush).
    pub async fn record_events(&self, events: Vec<Event>) -> Result<Vec<i64>> {
        let _t = self.timer("audit.group");
        let mut tx = self.begin_write().await?;
        let seqs = tx.audit_many(events).await?;
        tx.commit().await?;
        Ok(seqs)
    }
}

async fn insert_refresh(
    tx: &mut crate::db::WriteTx,
    grant_id: &str,
    r: &NewRefreshToken,
) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "INSERT INTO oidc_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        &[
            Bind::Text(r.token_hash.clone()),
            Bind::Text(grant_id.into()),
            Bind::Int(now),
            Bind::Int(r.expires_at),
        ],
    )
    .await?;
    Ok(())
}

async fn revoke_grant_tx(
    tx: &mut crate::db::WriteTx,
    grant_id: &str,
    reason: &str,
) -> Result<bool> {
    let now = tx.now;
    let n = tx
        .execute(
            "UPDATE oidc_grants SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
            &[
                Bind::Int(now),
                Bind::Text(reason.into()),
                Bind::Text(grant_id.into()),
            ],
        )
        .await?;
    Ok(n == 1)
}
