//! Admin API tokens (stored as SHA-256 hashes) and the one-time bootstrap of an empty store.

use sqlx::Row;
use trustplane_model::{Actor, BuiltinRole, Timestamp, User};

use crate::db::{Bind, Store};
use crate::directory::{assign_builtin_tx, insert_user_tx, NewUser};
use crate::error::Result;

/// The user an API token belongs to.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    /// The user.
    pub user: User,
    /// When the token stops working, if ever.
    pub expires_at: Option<Timestamp>,
}

/// What is known of an API token: never the token, nor its full hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenInfo {
    /// A short id (the first 16 hex digits of the token's hash), enough to name it.
    pub id: String,
    /// The user it acts as.
    pub user_id: String,
    /// Their principal name.
    pub user_principal_name: String,
    /// What it is for.
    pub description: String,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: time::OffsetDateTime,
    /// When it stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiration_date_time: Option<time::OffsetDateTime>,
}

/// Characters of the hash that make a token's id.
const TOKEN_ID_LEN: usize = 16;

impl Store {
    /// API tokens, of one user or of everyone, oldest first.
    pub async fn list_api_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiTokenInfo>> {
        let _t = self.timer("tokens.list");
        let (sql, binds) = match user_id {
            Some(id) => (
                "SELECT t.token_hash, t.user_id, u.upn, t.description, t.created_at, t.expires_at \
                 FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 \
                 ORDER BY t.created_at, t.token_hash",
                vec![Bind::Text(id.into())],
            ),
            None => (
                "SELECT t.token_hash, t.user_id, u.upn, t.description, t.created_at, t.expires_at \
                 FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 ORDER BY t.created_at, t.token_hash",
                vec![],
            ),
        };
        self.fetch_all(sql, &binds)
            .await?
            .iter()
            .map(|r| {
                let hash: String = r.try_get("token_hash")?;
                Ok(ApiTokenInfo {
                    id: hash.chars().take(TOKEN_ID_LEN).collect(),
                    user_id: r.try_get("user_id")?,
                    user_principal_name: r.try_get("upn")?,
                    description: r.try_get("description")?,
                    created_date_time: trustplane_model::from_ms(r.try_get("created_at")?),
                    expiration_date_time: r
                        .try_get::<Option<i64>, _>("expires_at")?
                        .map(trustplane_model::from_ms),
                })
            })
            .collect()
    }

    /// Revokes the token with this id; audited. The token stops working at once.
    pub async fn revoke_api_token(&self, actor: &Actor, id: &str) -> Result<ApiTokenInfo> {
        let id = id.to_ascii_lowercase();
        if id.len() != TOKEN_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(crate::StoreError::invalid(
                "id",
                "a token id is 16 hexadecimal digits, as `admin tokens list` shows",
            ));
        }
        let token = self
            .list_api_tokens(None)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| crate::StoreError::NotFound {
                kind: "apiToken",
                id: id.clone(),
            })?;
        let user = self.get_user(&token.user_id).await?;
        let mut tx = self.begin_write().await?;
        // The id is a prefix of the hash; hex digits need no escaping in LIKE.
        tx.execute(
            "DELETE FROM api_tokens WHERE token_hash LIKE $1",
            &[Bind::Text(format!("{id}%"))],
        )
        .await?;
        let mut event = token_event(actor, &user, &token.description);
        event.activity = "apiToken.revoke".into();
        tx.audit(event).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Stores a new API token for a user. `token_hash` is the hex SHA-256 of the token; the
    /// token itself is never stored. Tokens carry 256 random bits, so a fast hash suffices.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        user_id: &str,
        token_hash: &str,
        description: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<()> {
        let user = self.get_user(user_id).await?;
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO api_tokens (token_hash, user_id, description, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                Bind::Text(token_hash.into()),
                Bind::Text(user.id.clone()),
                Bind::Text(description.into()),
                Bind::Int(now),
                Bind::OptInt(expires_at),
            ],
        )
        .await?;
        let mut event = token_event(actor, &user, description);
        if actor.id != user.id {
            // A token for someone else lets its holder act as them: recorded apart, so that
            // it stands out in the trail.
            event.activity = "apiToken.createForAnotherUser".into();
            event.result_reason = Some(format!(
                "issued by {} for another user ({}): {description}",
                actor.display_name.as_deref().unwrap_or(&actor.id),
                user.user_principal_name
            ));
        }
        tx.audit(event).await?;
        tx.commit().await
    }

    /// Finds the owner of a token by its hash, if the token exists and has not expired.
    pub async fn find_token_owner(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
        let _t = self.timer("tokens.find");
        let Some(row) = self
            .fetch_optional(
                "SELECT user_id, expires_at FROM api_tokens WHERE token_hash = $1",
                &[Bind::Text(token_hash.into())],
            )
            .await?
        else {
            return Ok(None);
        };
        let expires_at: Option<i64> = row.try_get("expires_at")?;
        if expires_at.is_some_and(|e| e <= self.clock.now_ms()) {
            return Ok(None);
        }
        let user_id: String = row.try_get("user_id")?;
        let user = self.get_user(&user_id).await?;
        Ok(Some(TokenOwner { user, expires_at }))
    }

    /// On a store that has never been bootstrapped, creates the first administrator (a Global
    /// Administrator) and their API token, once. Returns the user, or `None` if the store was
    /// bootstrapped before (by this node or another).
    pub async fn bootstrap(&self, admin: NewUser, token_hash: &str) -> Result<Option<User>> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        // The marker row makes bootstrap happen once, even if nodes start together: the
        // second insert conflicts and that node backs off.
        let inserted = tx
            .execute(
                "INSERT INTO settings (name, value) VALUES ('bootstrapped', $1) ON CONFLICT (name) DO NOTHING",
                &[Bind::Text(now.to_string())],
            )
            .await?;
        if inserted == 0 {
            return Ok(None);
        }
        let system = Actor::system();
        let user = insert_user_tx(&mut tx, &system, admin).await?;
        assign_builtin_tx(&mut tx, &system, &user, BuiltinRole::GlobalAdministrator).await?;
        tx.execute(
            "INSERT INTO api_tokens (token_hash, user_id, description, created_at, expires_at) VALUES ($1, $2, 'bootstrap', $3, NULL)",
            &[Bind::Text(token_hash.into()), Bind::Text(user.id.clone()), Bind::Int(now)],
        )
        .await?;
        tx.audit(token_event(&system, &user, "bootstrap")).await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}

impl Store {
    /// A stored setting.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = self
            .fetch_optional(
                "SELECT value FROM settings WHERE name = $1",
                &[Bind::Text(name.into())],
            )
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("value")).transpose()?)
    }

    /// Stores a setting, replacing any earlier value.
    pub async fn put_setting(&self, name: &str, value: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[Bind::Text(name.into()), Bind::Text(value.into())],
        )
        .await?;
        tx.commit().await
    }

    /// Stores a setting unless it exists; returns the value now stored.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[Bind::Text(name.into()), Bind::Text(value.into())],
        )
        .await?;
        tx.commit().await?;
        Ok(self
            .setting(name)
            .await?
            .unwrap_or_else(|| value.to_string()))
    }
}

fn token_event(actor: &Actor, user: &User, description: &str) -> trustplane_model::Event {
    trustplane_model::Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "authentication".into(),
        activity: "apiToken.create".into(),
        initiated_by: actor.clone(),
        target: Some(trustplane_model::Target {
            kind: "user".into(),
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
        }),
        result: trustplane_model::Outcome::Success,
        result_reason: Some(description.into()),
        before: None,
        after: None,
    }
}
