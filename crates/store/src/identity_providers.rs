//! Upstream identity providers people sign in through, the domains home-realm discovery sends
//! to each, and the links between an upstream identity (provider, immutable subject) and a
//! Trustplane user.
//!
//! The client secret arrives sealed by the caller and is never part of what the listing
//! functions return. Validation of the settings is the engine's; this module records.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use trustplane_model::{from_ms, new_id, Actor, Event, Outcome, Target, User};

use crate::db::{Bind, Store};
use crate::directory::{conflict_as, insert_user_tx, NewUser};
use crate::error::{Result, StoreError};

/// Audit category of identity provider changes and links.
pub const IDENTITY_PROVIDERS_CATEGORY: &str = "identityProviders";

/// An upstream identity provider, without its client secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProvider {
    /// Trustplane's id for it.
    pub id: String,
    /// `oidc`.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// A readable name, unique without regard to case.
    pub display_name: String,
    /// The issuer identifier (exactly as the ID tokens' `iss`).
    pub issuer: String,
    /// The client id Trustplane has at the provider.
    pub client_id: String,
    /// The sign-in domains whose people are sent there (lower case).
    pub domains: Vec<String>,
    /// Scopes, claim mapping, `linkBy`, `trustMfa`, `jitProvisioning`; no secret.
    pub settings: Value,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

/// A provider to create.
#[derive(Debug, Clone)]
pub struct NewIdentityProvider {
    /// `oidc`.
    pub provider_type: String,
    /// A readable name.
    pub display_name: String,
    /// The issuer identifier.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// Sign-in domains (already normalised by the caller).
    pub domains: Vec<String>,
    /// Settings without the secret.
    pub settings: Value,
    /// The client secret, sealed by the caller.
    pub sealed_client_secret: String,
}

const PROVIDER_COLUMNS: &str =
    "id, provider_type, display_name, issuer, client_id, settings, created_at";

fn provider_from_row(row: &AnyRow, domains: Vec<String>) -> Result<IdentityProvider> {
    let settings: String = row.try_get("settings")?;
    Ok(IdentityProvider {
        id: row.try_get("id")?,
        provider_type: row.try_get("provider_type")?,
        display_name: row.try_get("display_name")?,
        issuer: row.try_get("issuer")?,
        client_id: row.try_get("client_id")?,
        domains,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(format!("identity provider settings: {e}")))?,
        created_date_time: from_ms(row.try_get("created_at")?),
    })
}

fn event(
    actor: &Actor,
    activity: &str,
    target: Target,
    before: Option<Value>,
    after: Option<Value>,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: OffsetDateTime::UNIX_EPOCH,
        category: IDENTITY_PROVIDERS_CATEGORY.into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(target),
        result: Outcome::Success,
        result_reason: None,
        before,
        after,
    }
}

fn provider_target(p: &IdentityProvider) -> Target {
    Target {
        kind: "identityProvider".into(),
        id: p.id.clone(),
        display_name: Some(p.display_name.clone()),
    }
}

impl Store {
    /// Creates a provider and claims its domains; a domain another provider has is a conflict.
    pub async fn create_identity_provider(
        &self,
        actor: &Actor,
        new: NewIdentityProvider,
    ) -> Result<IdentityProvider> {
        let mut tx = self.begin_write().await?;
        let provider = IdentityProvider {
            id: new_id(),
            provider_type: new.provider_type,
            display_name: new.display_name,
            issuer: new.issuer,
            client_id: new.client_id,
            domains: new.domains,
            settings: new.settings,
            created_date_time: from_ms(tx.now),
        };
        tx.execute(
            "INSERT INTO identity_providers (id, provider_type, display_name, name_key, issuer, \
             client_id, settings, sealed_client_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Bind::Text(provider.id.clone()),
                Bind::Text(provider.provider_type.clone()),
                Bind::Text(provider.display_name.clone()),
                Bind::Text(provider.display_name.to_lowercase()),
                Bind::Text(provider.issuer.clone()),
                Bind::Text(provider.client_id.clone()),
                Bind::Text(provider.settings.to_string()),
                Bind::Text(new.sealed_client_secret),
                Bind::Int(tx.now),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "an identity provider with this displayName exists"))?;
        for domain in &provider.domains {
            tx.execute(
                "INSERT INTO identity_provider_domains (domain, provider_id) VALUES ($1, $2)",
                &[Bind::Text(domain.clone()), Bind::Text(provider.id.clone())],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "the domain `{domain}` already belongs to another identity provider"
                )),
                other => other,
            })?;
        }
        tx.audit(event(
            actor,
            "identityProvider.create",
            provider_target(&provider),
            None,
            serde_json::to_value(&provider).ok(),
        ))
        .await?;
        tx.commit().await?;
        Ok(provider)
    }

    async fn provider_domains(&self, provider_id: &str) -> Result<Vec<String>> {
        self.fetch_all(
            "SELECT domain FROM identity_provider_domains WHERE provider_id = $1 ORDER BY domain",
            &[Bind::Text(provider_id.into())],
        )
        .await?
        .iter()
        .map(|r| Ok(r.try_get("domain")?))
        .collect()
    }

    /// Lists the providers.
    pub async fn list_identity_providers(&self) -> Result<Vec<IdentityProvider>> {
        let sql =
            format!("SELECT {PROVIDER_COLUMNS} FROM identity_providers ORDER BY created_at, id");
        let rows = self.fetch_all(&sql, &[]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            out.push(provider_from_row(row, self.provider_domains(&id).await?)?);
        }
        Ok(out)
    }

    /// One provider, by id or display name.
    pub async fn get_identity_provider(&self, id_or_name: &str) -> Result<IdentityProvider> {
        Ok(self.identity_provider_with_secret(id_or_name).await?.0)
    }

    /// One provider with its sealed client secret, for a sign-in.
    pub async fn identity_provider_with_secret(
        &self,
        id_or_name: &str,
    ) -> Result<(IdentityProvider, String)> {
        let sql = format!(
            "SELECT {PROVIDER_COLUMNS}, sealed_client_secret FROM identity_providers \
             WHERE id = $1 OR name_key = $2"
        );
        let row = self
            .fetch_optional(
                &sql,
                &[
                    Bind::Text(id_or_name.into()),
                    Bind::Text(id_or_name.to_lowercase()),
                ],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "identityProvider",
                id: id_or_name.into(),
            })?;
        let id: String = row.try_get("id")?;
        Ok((
            provider_from_row(&row, self.provider_domains(&id).await?)?,
            row.try_get("sealed_client_secret")?,
        ))
    }

    /// The provider home-realm discovery sends `domain` to, if any.
    pub async fn identity_provider_for_domain(
        &self,
        domain: &str,
    ) -> Result<Option<IdentityProvider>> {
        let row = self
            .fetch_optional(
                "SELECT provider_id FROM identity_provider_domains WHERE domain = $1",
                &[Bind::Text(domain.to_lowercase())],
            )
            .await?;
        match row {
            Some(r) => {
                let id: String = r.try_get("provider_id")?;
                Ok(Some(self.get_identity_provider(&id).await?))
            }
            None => Ok(None),
        }
    }

    /// Deletes a provider, its domains and its links. Users it created stay, as local users.
    pub async fn delete_identity_provider(&self, actor: &Actor, id_or_name: &str) -> Result<()> {
        let provider = self.get_identity_provider(id_or_name).await?;
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM external_identities WHERE provider_id = $1",
            "DELETE FROM identity_provider_domains WHERE provider_id = $1",
            "DELETE FROM identity_providers WHERE id = $1",
        ] {
            tx.execute(sql, &[Bind::Text(provider.id.clone())]).await?;
        }
        tx.audit(event(
            actor,
            "identityProvider.delete",
            provider_target(&provider),
            serde_json::to_value(&provider).ok(),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// The user an upstream identity is linked to, if any.
    pub async fn external_identity_user(
        &self,
        provider_id: &str,
        subject: &str,
    ) -> Result<Option<String>> {
        let row = self
            .fetch_optional(
                "SELECT user_id FROM external_identities WHERE provider_id = $1 AND subject = $2",
                &[Bind::Text(provider_id.into()), Bind::Text(subject.into())],
            )
            .await?;
        row.map(|r| Ok(r.try_get("user_id")?)).transpose()
    }

    /// Links an upstream identity to an existing user. An identity links to one user only; a
    /// user may have one identity per provider.
    pub async fn link_external_identity(
        &self,
        actor: &Actor,
        provider_id: &str,
        subject: &str,
        user: &User,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let existing = tx
            .fetch_optional(
                "SELECT subject FROM external_identities WHERE provider_id = $1 AND user_id = $2",
                &[Bind::Text(provider_id.into()), Bind::Text(user.id.clone())],
            )
            .await?;
        if existing.is_some() {
            return Err(StoreError::Conflict(
                "the user is linked to another identity at this provider".into(),
            ));
        }
        link_tx(&mut tx, actor, provider_id, subject, user).await?;
        tx.commit().await
    }

    /// Creates a user for an upstream identity and links them, in one transaction (just-in-time
    /// provisioning). The user gets no roles.
    pub async fn create_external_user(
        &self,
        actor: &Actor,
        provider_id: &str,
        subject: &str,
        new: NewUser,
    ) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let user = insert_user_tx(&mut tx, actor, new).await?;
        link_tx(&mut tx, actor, provider_id, subject, &user).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Users imported from a directory with this anchor (an `objectGUID` or `entryUUID`).
    pub async fn users_by_source_anchor(&self, anchor: &str) -> Result<Vec<String>> {
        self.fetch_all(
            "SELECT object_id FROM directory_sources WHERE object_type = 'user' AND anchor = $1",
            &[Bind::Text(anchor.to_lowercase())],
        )
        .await?
        .iter()
        .map(|r| Ok(r.try_get("object_id")?))
        .collect()
    }
}

async fn link_tx(
    tx: &mut crate::db::WriteTx,
    actor: &Actor,
    provider_id: &str,
    subject: &str,
    user: &User,
) -> Result<()> {
    tx.execute(
        "INSERT INTO external_identities (provider_id, subject, user_id, created_at) \
         VALUES ($1, $2, $3, $4)",
        &[
            Bind::Text(provider_id.into()),
            Bind::Text(subject.into()),
            Bind::Text(user.id.clone()),
            Bind::Int(tx.now),
        ],
    )
    .await
    .map_err(|e| conflict_as(e, "this upstream identity is already linked"))?;
    tx.audit(event(
        actor,
        "externalIdentity.link",
        Target {
            kind: "user".into(),
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
        },
        None,
        Some(serde_json::json!({ "providerId": provider_id, "subject": subject })),
    ))
    .await?;
    Ok(())
}
