//! The SCIM service over the store: what each `/scim/v2` request does for one inbound
//! connection. The server's routes only read the request (path, query, headers, body) and
//! send back a [`Reply`].
//!
//! Ownership, decided as Microsoft Entra's provisioning service expects of a target: a
//! connection sees and changes only the users and groups it created. A `userName` (or group
//! `displayName`) already held by anyone else, an administrator's account included, answers
//! `409 uniqueness`; an existing account is never adopted implicitly (Entra then reports the
//! conflict, and an administrator decides). A provisioned user who has since been given a
//! directory role is refused (`403`) until an administrator takes the role away.

use serde_json::{Map, Value};
use trustplane_model::{from_ms, Actor};
use trustplane_store::{
    GroupChange, LookupField, NewUser, ProvisionedGroup, ProvisionedUser, ProvisioningConnection,
    Store, StoreError, UserPatch,
};

use crate::error::{Result, ScimError};
use crate::list::{list_response, ListQuery, Projection};
use crate::patch::{self, PatchRequest};
use crate::resources::{Group, Member, Meta, User};
use crate::schema::ResourceKind;

/// What to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body, if any.
    pub body: Option<Value>,
    /// The resource's version, for the `ETag` header.
    pub version: Option<String>,
    /// The resource's URI, for the `Location` header of a creation.
    pub location: Option<String>,
    /// The request disabled or deleted a person: the grants of their elevations are to be
    /// taken back now.
    pub ended_access: bool,
}

impl Reply {
    fn resource(status: u16, body: Value) -> Reply {
        let meta = body.get("meta");
        let text = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Reply {
            status,
            version: text("version"),
            location: (status == 201).then(|| text("location")).flatten(),
            body: Some(body),
            ended_access: false,
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            version: None,
            location: None,
            ended_access: false,
        }
    }
}

/// The store's answer as a SCIM error.
fn scim_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound { kind, id } => ScimError::NotFound(format!("{kind} {id}")),
        StoreError::MissingReference { field, id } => ScimError::InvalidValue(format!(
            "{field}: `{id}` is not a user or group of this connection"
        )),
        StoreError::Conflict(m) => ScimError::Uniqueness(m),
        StoreError::Invalid { field, message } => {
            ScimError::InvalidValue(format!("{field}: {message}"))
        }
        other => {
            tracing::warn!(error = %other, "SCIM request failed in the store");
            ScimError::Internal("the service could not complete the request".into())
        }
    }
}

/// The `If-Match` precondition (RFC 7644 §3.14): absent or `*` passes, otherwise one of the
/// listed tags must be the resource's version (weak or strong forms compare alike).
fn check_version(if_match: Option<&str>, version: &str) -> Result<()> {
    let Some(header) = if_match else {
        return Ok(());
    };
    let bare = |t: &str| {
        t.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string()
    };
    let current = bare(version);
    if header
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == current)
    {
        Ok(())
    } else {
        Err(ScimError::InvalidVers(format!(
            "the resource's version is {version}"
        )))
    }
}

/// One request's view of the SCIM service: the connection it authenticated as, who to audit
/// it as, and the service's base URL (ending in `/scim/v2`).
pub struct Service<'a> {
    store: &'a Store,
    connection: &'a ProvisioningConnection,
    actor: Actor,
    base_url: String,
}

impl<'a> Service<'a> {
    /// The service for one connection.
    pub fn new(
        store: &'a Store,
        connection: &'a ProvisioningConnection,
        actor: Actor,
        base_url: &str,
    ) -> Service<'a> {
        Service {
            store,
            connection,
            actor,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// The connection's audit actor for its requests: the connection, with the request's
    /// address and user agent.
    pub fn actor_for(
        connection: &ProvisioningConnection,
        ip_address: Option<String>,
        user_agent: Option<String>,
    ) -> Actor {
        Actor {
            id: connection.id.clone(),
            display_name: Some(format!(
                "provisioning connection {}",
                connection.display_name
            )),
            ip_address,
            user_agent,
        }
    }

    fn id(&self) -> &str {
        &self.connection.id
    }

    /// Counts a refused or failed write against the connection, and passes the error on.
    async fn recorded<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if let Err(store) = self
                .store
                .record_provisioning_failure(self.id(), &e.to_string())
                .await
            {
                tracing::warn!(error = %store, "could not count a failed provisioning request");
            }
        }
        result
    }

    // ---- users ----

    fn user_meta(&self, p: &ProvisionedUser) -> Meta {
        Meta::new(
            ResourceKind::User,
            &self.base_url,
            &p.user.id,
            p.user.created_date_time,
            from_ms(p.updated_at),
        )
    }

    fn user_scim(&self, p: &ProvisionedUser) -> User {
        User::from_model(&p.user, p.external_id.clone(), self.user_meta(p))
    }

    async fn owned_user(&self, id: &str) -> Result<ProvisionedUser> {
        self.store
            .provisioned_user(self.id(), id)
            .await
            .map_err(scim_error)?
            .ok_or_else(|| ScimError::NotFound(format!("User {id}")))
    }

    /// `GET /Users/{id}`.
    pub async fn get_user(&self, id: &str, projection: &Projection) -> Result<Reply> {
        let p = self.owned_user(id).await?;
        let mut reply = Reply::resource(200, self.user_scim(&p).to_json());
        reply.body = reply.body.map(|b| projection.apply(&b));
        Ok(reply)
    }

    /// `GET /Users`: a simple equality on an indexed attribute is looked up; any other
    /// filter runs over the connection's own users.
    pub async fn list_users(&self, query: &ListQuery) -> Result<Value> {
        let found = match query.filter.as_ref().and_then(|f| f.simple_equality()) {
            Some((attr, value)) => {
                let field = match attr {
                    "userName" => LookupField::UserName,
                    "externalId" => LookupField::ExternalId,
                    "displayName" => LookupField::DisplayName,
                    _ => LookupField::Id,
                };
                self.store
                    .find_provisioned_users(self.id(), field, value)
                    .await
            }
            None => self.store.provisioned_users(self.id()).await,
        }
        .map_err(scim_error)?;
        let all: Vec<Value> = found.iter().map(|p| self.user_scim(p).to_json()).collect();
        Ok(query.run(&all))
    }

    /// `POST /Users`.
    pub async fn create_user(&self, body: &Value) -> Result<Reply> {
        let result = self.create_user_inner(body).await;
        self.recorded(result).await
    }

    async fn create_user_inner(&self, body: &Value) -> Result<Reply> {
        let scim = User::from_json(body)?;
        let model = scim.to_new_model(String::new(), time::OffsetDateTime::UNIX_EPOCH);
        let new = NewUser {
            user_principal_name: model.user_principal_name,
            display_name: model.display_name,
            mail: model.mail,
            given_name: model.given_name,
            surname: model.surname,
            account_enabled: model.account_enabled,
            attributes: model.attributes,
            password_hash: None,
            password_must_change: false,
        };
        let created = self
            .store
            .create_provisioned_user(&self.actor, self.id(), scim.external_id_value(), new)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ScimError::Uniqueness(format!(
                    "userName `{}` or externalId is already in use",
                    scim.user_name
                )),
                other => scim_error(other),
            })?;
        Ok(Reply::resource(201, self.user_scim(&created).to_json()))
    }

    /// Refuses a change to a provisioned user who now holds a directory role: roles are the
    /// administrators' to manage, and a provisioning client is not one.
    async fn not_privileged(&self, p: &ProvisionedUser) -> Result<()> {
        let roles = self
            .store
            .effective_roles(&p.user.id)
            .await
            .map_err(scim_error)?;
        if roles.is_empty() {
            Ok(())
        } else {
            Err(ScimError::Forbidden(format!(
                "`{}` holds a directory role; only an administrator can change them",
                p.user.user_principal_name
            )))
        }
    }

    /// [`Self::not_privileged`], except for a change that does nothing but disable someone
    /// whose roles are all cloud roles (PIM's Identity Center or Azure RBAC grants, which
    /// carry a `resource`): that takes access away and never gives it, and the identity source
    /// must be able to stop a leaver who holds such an elevation (their sessions and grants
    /// end with it). Directory roles stay the administrators' alone.
    async fn not_privileged_unless_disabling(
        &self,
        before: &ProvisionedUser,
        scim: &User,
    ) -> Result<()> {
        let mut after = before.user.clone();
        scim.apply_to(&mut after);
        let disables = before.user.account_enabled && !after.account_enabled;
        after.account_enabled = before.user.account_enabled;
        if disables && after == before.user && scim.external_id_value() == before.external_id {
            let roles = self
                .store
                .effective_roles(&before.user.id)
                .await
                .map_err(scim_error)?;
            if roles.iter().all(|r| r.resource.is_some()) {
                return Ok(());
            }
        }
        self.not_privileged(before).await
    }

    /// Writes a whole SCIM user over a stored one (PUT, and PATCH's result).
    async fn write_user(&self, before: &ProvisionedUser, scim: &User) -> Result<Reply> {
        let mut after = before.user.clone();
        scim.apply_to(&mut after);
        // The attributes as a merge: keys gone are removed (null), the rest set.
        let mut attributes: Map<String, Value> = before
            .user
            .attributes
            .keys()
            .filter(|k| !after.attributes.contains_key(*k))
            .map(|k| (k.clone(), Value::Null))
            .collect();
        attributes.extend(after.attributes.clone());
        let patch = UserPatch {
            user_principal_name: Some(after.user_principal_name.clone()),
            display_name: Some(after.display_name.clone()),
            mail: Some(after.mail.clone()),
            given_name: Some(after.given_name.clone()),
            surname: Some(after.surname.clone()),
            account_enabled: Some(after.account_enabled),
            attributes: Some(attributes),
            ..UserPatch::default()
        };
        let updated = self
            .store
            .update_provisioned_user(
                &self.actor,
                self.id(),
                &before.user.id,
                scim.external_id_value(),
                patch,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ScimError::Uniqueness(format!(
                    "userName `{}` or externalId is already in use",
                    scim.user_name
                )),
                other => scim_error(other),
            })?;
        let mut reply = Reply::resource(200, self.user_scim(&updated).to_json());
        reply.ended_access = before.user.account_enabled && !updated.user.account_enabled;
        Ok(reply)
    }

    /// `PUT /Users/{id}`.
    pub async fn replace_user(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Reply> {
        let result = async {
            let before = self.owned_user(id).await?;
            check_version(if_match, &self.user_meta(&before).version)?;
            let scim = User::from_json(body)?;
            self.not_privileged_unless_disabling(&before, &scim).await?;
            self.write_user(&before, &scim).await
        }
        .await;
        self.recorded(result).await
    }

    /// `PATCH /Users/{id}`: all operations or none.
    pub async fn patch_user(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Reply> {
        let result = async {
            let request = PatchRequest::from_json(body)?;
            let before = self.owned_user(id).await?;
            check_version(if_match, &self.user_meta(&before).version)?;
            let current = self.user_scim(&before);
            let patched = patch::patch_user(&current, &request)?;
            self.not_privileged_unless_disabling(&before, &patched)
                .await?;
            self.write_user(&before, &patched).await
        }
        .await;
        self.recorded(result).await
    }

    /// `DELETE /Users/{id}`.
    pub async fn delete_user(&self, id: &str, if_match: Option<&str>) -> Result<Reply> {
        let result = async {
            let before = self.owned_user(id).await?;
            check_version(if_match, &self.user_meta(&before).version)?;
            self.not_privileged(&before).await?;
            self.store
                .delete_provisioned_user(&self.actor, self.id(), &before.user.id)
                .await
                .map_err(scim_error)?;
            let mut reply = Reply::no_content();
            // A disabled person's grants went when they were disabled.
            reply.ended_access = before.user.account_enabled;
            Ok(reply)
        }
        .await;
        self.recorded(result).await
    }

    /// `POST /.search` across Users and Groups (RFC 7644 §3.4.3): each kind's query (its
    /// filter read against that kind's schema; `None` when the filter names attributes that
    /// kind does not have, so none of it matches), then one page over both, users first.
    pub async fn search_all(
        &self,
        users: Option<&ListQuery>,
        groups: Option<&ListQuery>,
        page: &crate::list::Page,
    ) -> Result<Value> {
        let mut all = Vec::new();
        if let Some(q) = users {
            for p in self
                .store
                .provisioned_users(self.id())
                .await
                .map_err(scim_error)?
            {
                let v = self.user_scim(&p).to_json();
                if q.filter.as_ref().is_none_or(|f| f.matches(&v)) {
                    all.push(q.projection.apply(&v));
                }
            }
        }
        if let Some(q) = groups {
            for p in self
                .store
                .provisioned_groups(self.id())
                .await
                .map_err(scim_error)?
            {
                let v = self.group_scim(&p).await?.to_json();
                if q.filter.as_ref().is_none_or(|f| f.matches(&v)) {
                    all.push(q.projection.apply(&v));
                }
            }
        }
        Ok(list_response(page.slice(&all).to_vec(), all.len(), page))
    }

    // ---- groups ----

    fn group_meta(&self, p: &ProvisionedGroup) -> Meta {
        Meta::new(
            ResourceKind::Group,
            &self.base_url,
            &p.group.id,
            p.group.created_date_time,
            from_ms(p.updated_at),
        )
    }

    async fn group_scim(&self, p: &ProvisionedGroup) -> Result<Group> {
        let members = self
            .store
            .group_member_refs(&p.group.id)
            .await
            .map_err(scim_error)?
            .into_iter()
            .map(|m| {
                let kind = if m.kind == "group" {
                    ResourceKind::Group
                } else {
                    ResourceKind::User
                };
                // `value` and `$ref` only: a member reads back exactly as a client wrote it
                // (scim2-tester compares them whole), and `display` would cost a name look-up
                // per member that no provisioning client needs.
                Member {
                    reference: Some(format!("{}{}/{}", self.base_url, kind.endpoint(), m.id)),
                    value: m.id,
                    display: None,
                    kind: None,
                }
            })
            .collect();
        Ok(Group::from_model(
            &p.group,
            p.external_id.clone(),
            members,
            self.group_meta(p),
        ))
    }

    async fn owned_group(&self, id: &str) -> Result<ProvisionedGroup> {
        self.store
            .provisioned_group(self.id(), id)
            .await
            .map_err(scim_error)?
            .ok_or_else(|| ScimError::NotFound(format!("Group {id}")))
    }

    /// `GET /Groups/{id}`.
    pub async fn get_group(&self, id: &str, projection: &Projection) -> Result<Reply> {
        let p = self.owned_group(id).await?;
        let mut reply = Reply::resource(200, self.group_scim(&p).await?.to_json());
        reply.body = reply.body.map(|b| projection.apply(&b));
        Ok(reply)
    }

    /// `GET /Groups`, members included (one query per group listed).
    pub async fn list_groups(&self, query: &ListQuery) -> Result<Value> {
        let found = match query.filter.as_ref().and_then(|f| f.simple_equality()) {
            Some((attr, value)) => {
                let field = match attr {
                    "externalId" => LookupField::ExternalId,
                    "displayName" => LookupField::DisplayName,
                    "id" => LookupField::Id,
                    // `userName` is not a group attribute: nothing matches.
                    _ => return Ok(list_response(Vec::new(), 0, &query.page)),
                };
                self.store
                    .find_provisioned_groups(self.id(), field, value)
                    .await
            }
            None => self.store.provisioned_groups(self.id()).await,
        }
        .map_err(scim_error)?;
        let mut all = Vec::with_capacity(found.len());
        for p in &found {
            all.push(self.group_scim(p).await?.to_json());
        }
        Ok(query.run(&all))
    }

    /// `POST /Groups`.
    pub async fn create_group(&self, body: &Value) -> Result<Reply> {
        let result = async {
            let scim = Group::from_json(body)?;
            let created = self
                .store
                .create_provisioned_group(
                    &self.actor,
                    self.id(),
                    present(&scim.external_id),
                    &scim.display_name,
                    &scim.member_ids(),
                )
                .await
                .map_err(scim_error)?;
            Ok(Reply::resource(
                201,
                self.group_scim(&created).await?.to_json(),
            ))
        }
        .await;
        self.recorded(result).await
    }

    async fn write_group(
        &self,
        before: &ProvisionedGroup,
        current: &Group,
        after: &Group,
    ) -> Result<Reply> {
        let (add, remove) = patch::member_changes(current, after);
        let updated = self
            .store
            .update_provisioned_group(
                &self.actor,
                self.id(),
                &before.group.id,
                GroupChange {
                    display_name: after.display_name.clone(),
                    external_id: present(&after.external_id),
                    add,
                    remove,
                },
            )
            .await
            .map_err(scim_error)?;
        Ok(Reply::resource(
            200,
            self.group_scim(&updated).await?.to_json(),
        ))
    }

    /// `PUT /Groups/{id}`.
    pub async fn replace_group(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Reply> {
        let result = async {
            let before = self.owned_group(id).await?;
            check_version(if_match, &self.group_meta(&before).version)?;
            let scim = Group::from_json(body)?;
            let current = self.group_scim(&before).await?;
            self.write_group(&before, &current, &scim).await
        }
        .await;
        self.recorded(result).await
    }

    /// `PATCH /Groups/{id}`: all operations or none.
    pub async fn patch_group(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Reply> {
        let result = async {
            let request = PatchRequest::from_json(body)?;
            let before = self.owned_group(id).await?;
            check_version(if_match, &self.group_meta(&before).version)?;
            let current = self.group_scim(&before).await?;
            let patched = patch::patch_group(&current, &request)?;
            self.write_group(&before, &current, &patched).await
        }
        .await;
        self.recorded(result).await
    }

    /// `DELETE /Groups/{id}`.
    pub async fn delete_group(&self, id: &str, if_match: Option<&str>) -> Result<Reply> {
        let result = async {
            let before = self.owned_group(id).await?;
            check_version(if_match, &self.group_meta(&before).version)?;
            self.store
                .delete_provisioned_group(&self.actor, self.id(), &before.group.id)
                .await
                .map_err(scim_error)?;
            Ok(Reply::no_content())
        }
        .await;
        self.recorded(result).await
    }
}

fn present(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_weak_and_strong_tags() {
        let v = "W/\"1700\"";
        assert!(check_version(None, v).is_ok());
        assert!(check_version(Some("*"), v).is_ok());
        assert!(check_version(Some("W/\"1700\""), v).is_ok());
        assert!(check_version(Some("\"1700\""), v).is_ok());
        assert!(check_version(Some("W/\"1\", W/\"1700\""), v).is_ok());
        let e = check_version(Some("W/\"1699\""), v).unwrap_err();
        assert_eq!(e.status(), 412);
    }
}
