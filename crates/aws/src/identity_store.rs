//! The IAM Identity Center Identity Store (users, groups, memberships) through the official
//! `aws-sdk-identitystore`, for outbound provisioning.
//!
//! Each call is one API operation; failures come back classified ([`StoreFailure`]) so the
//! provisioning engine knows what to retry (throttling, after the SDK's own retries), what is
//! already done (not found) and what stops a run (credentials, a wrong store id).
//!
//! Permissions: `identitystore:CreateUser`, `UpdateUser`, `DeleteUser`, `DescribeUser`,
//! `GetUserId`, `ListUsers`, `CreateGroup`, `UpdateGroup`, `DeleteGroup`, `GetGroupId`,
//! `ListGroups`, `CreateGroupMembership`, `DeleteGroupMembership`, `ListGroupMemberships`,
//! `ListGroupMembershipsForMember`.

use aws_sdk_identitystore::types::{
    AlternateIdentifier, AttributeOperation, Email, ExternalId, MemberId, Name, UniqueAttribute,
};
use aws_sdk_identitystore::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::Document;

use crate::identity_center::{api_reason, ConnectOptions};
use crate::{client, CollectOptions};

/// The issuer of the external ids Trustplane writes.
pub const EXTERNAL_ID_ISSUER: &str = "trustplane";

/// Most pages read when listing (100 items each: ten million objects).
const MAX_PAGES: usize = 100_000;

/// Why a call failed, classified for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreFailure {
    /// `ThrottlingException` (after the SDK's own retries).
    #[error("{0}")]
    Throttled(String),
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// The service refused this object (`ValidationException`, `ConflictException`, ...).
    #[error("{0}")]
    Rejected(String),
    /// Nothing will work (credentials, access denied, unreachable endpoint).
    #[error("{0}")]
    Unavailable(String),
}

fn failure<E>(operation: &str, e: &SdkError<E, HttpResponse>) -> StoreFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reason = format!("Identity Store {operation}: {}", api_reason(e));
    match e {
        SdkError::ServiceError(s) => match s.err().code() {
            Some("ThrottlingException") => StoreFailure::Throttled(reason),
            Some("ResourceNotFoundException") => StoreFailure::NotFound(reason),
            Some(
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException",
            ) => StoreFailure::Unavailable(reason),
            _ => StoreFailure::Rejected(reason),
        },
        _ => StoreFailure::Unavailable(reason),
    }
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreFailure> {
    r.map_err(|e| StoreFailure::Rejected(format!("cannot build the request: {e}")))
}

/// A user as sent to or read from the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreUser {
    /// `UserId` (empty when sending).
    pub id: String,
    /// `UserName`.
    pub user_name: String,
    /// `DisplayName`.
    pub display_name: String,
    /// `Name.GivenName`.
    pub given_name: String,
    /// `Name.FamilyName`.
    pub family_name: String,
    /// The one work email.
    pub email: Option<String>,
    /// The external id Trustplane issued.
    pub external_id: Option<String>,
}

/// A client for one Identity Store.
#[derive(Debug, Clone)]
pub struct IdentityStore {
    client: Client,
    store_id: String,
}

impl IdentityStore {
    /// A client with the standard credential chain (then `role_arn` assumed, if set) and the
    /// collector's retries (throttling with exponential backoff and jitter).
    pub async fn connect(options: &ConnectOptions, store_id: &str) -> IdentityStore {
        let base = client::base_config(&CollectOptions {
            endpoint_url: options.endpoint_url.clone(),
            home_region: options.region.clone(),
            ..Default::default()
        })
        .await;
        let conf = match &options.role_arn {
            Some(role) => client::assumed(&base, role, "trustplane-provisioning").await,
            None => base,
        };
        IdentityStore {
            client: Client::new(&conf),
            store_id: store_id.to_string(),
        }
    }

    fn unique(path: &str, value: &str) -> Result<AlternateIdentifier, StoreFailure> {
        Ok(AlternateIdentifier::UniqueAttribute(built(
            UniqueAttribute::builder()
                .attribute_path(path)
                .attribute_value(Document::String(value.to_string()))
                .build(),
        )?))
    }

    fn external(id: &str) -> Result<ExternalId, StoreFailure> {
        built(
            ExternalId::builder()
                .issuer(EXTERNAL_ID_ISSUER)
                .id(id)
                .build(),
        )
    }

    /// A user by external id, then by user name.
    pub async fn find_user(
        &self,
        external_id: &str,
        user_name: &str,
    ) -> Result<Option<String>, StoreFailure> {
        for alt in [
            AlternateIdentifier::ExternalId(Self::external(external_id)?),
            Self::unique("userName", user_name)?,
        ] {
            match self
                .client
                .get_user_id()
                .identity_store_id(&self.store_id)
                .alternate_identifier(alt)
                .send()
                .await
            {
                Ok(out) => return Ok(Some(out.user_id().to_string())),
                Err(e) => match failure("GetUserId", &e) {
                    StoreFailure::NotFound(_) => continue,
                    // An emulator without external ids refuses that look-up: try the name.
                    StoreFailure::Rejected(_) => continue,
                    other => return Err(other),
                },
            }
        }
        Ok(None)
    }

    /// CreateUser; the new user's id. (CreateUser takes no external id: a user created here
    /// is matched again by its unique `userName`.)
    pub async fn create_user(&self, u: &StoreUser) -> Result<String, StoreFailure> {
        let mut req = self
            .client
            .create_user()
            .identity_store_id(&self.store_id)
            .user_name(&u.user_name)
            .display_name(&u.display_name)
            .name(
                Name::builder()
                    .given_name(&u.given_name)
                    .family_name(&u.family_name)
                    .build(),
            );
        if let Some(mail) = &u.email {
            req = req.emails(
                Email::builder()
                    .value(mail)
                    .r#type("work")
                    .primary(true)
                    .build(),
            );
        }
        let out = req.send().await.map_err(|e| failure("CreateUser", &e))?;
        Ok(out.user_id().to_string())
    }

    /// DescribeUser.
    pub async fn describe_user(&self, id: &str) -> Result<StoreUser, StoreFailure> {
        let out = self
            .client
            .describe_user()
            .identity_store_id(&self.store_id)
            .user_id(id)
            .send()
            .await
            .map_err(|e| failure("DescribeUser", &e))?;
        Ok(StoreUser {
            id: id.to_string(),
            user_name: out.user_name().unwrap_or_default().to_string(),
            display_name: out.display_name().unwrap_or_default().to_string(),
            given_name: out
                .name()
                .and_then(|n| n.given_name())
                .unwrap_or_default()
                .to_string(),
            family_name: out
                .name()
                .and_then(|n| n.family_name())
                .unwrap_or_default()
                .to_string(),
            email: out
                .emails()
                .first()
                .and_then(|e| e.value())
                .map(str::to_string),
            external_id: out
                .external_ids()
                .iter()
                .find(|x| x.issuer() == EXTERNAL_ID_ISSUER)
                .map(|x| x.id().to_string()),
        })
    }

    /// Brings a user's attributes to `u`: DescribeUser, then UpdateUser with the attributes
    /// that differ (none: no call), so adopting an unchanged user writes nothing.
    pub async fn update_user(&self, id: &str, u: &StoreUser) -> Result<(), StoreFailure> {
        let now = self.describe_user(id).await?;
        let mut ops = Vec::new();
        let mut set = |path: &str, value: Document| -> Result<(), StoreFailure> {
            ops.push(built(
                AttributeOperation::builder()
                    .attribute_path(path)
                    .attribute_value(value)
                    .build(),
            )?);
            Ok(())
        };
        let s = |v: &str| Document::String(v.to_string());
        if now.user_name != u.user_name {
            set("userName", s(&u.user_name))?;
        }
        if now.display_name != u.display_name {
            set("displayName", s(&u.display_name))?;
        }
        if now.given_name != u.given_name {
            set("name.givenName", s(&u.given_name))?;
        }
        if now.family_name != u.family_name {
            set("name.familyName", s(&u.family_name))?;
        }
        if now.email != u.email {
            let emails = match &u.email {
                Some(m) => Document::Array(vec![Document::Object(
                    [
                        ("value".to_string(), s(m)),
                        ("type".to_string(), s("work")),
                        ("primary".to_string(), Document::Bool(true)),
                    ]
                    .into_iter()
                    .collect(),
                )]),
                None => Document::Array(Vec::new()),
            };
            set("emails", emails)?;
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.client
            .update_user()
            .identity_store_id(&self.store_id)
            .user_id(id)
            .set_operations(Some(ops))
            .send()
            .await
            .map_err(|e| failure("UpdateUser", &e))?;
        Ok(())
    }

    /// DeleteUser (its memberships and account assignments go with it).
    pub async fn delete_user(&self, id: &str) -> Result<(), StoreFailure> {
        self.client
            .delete_user()
            .identity_store_id(&self.store_id)
            .user_id(id)
            .send()
            .await
            .map_err(|e| failure("DeleteUser", &e))?;
        Ok(())
    }

    /// A group by external id, then by display name.
    pub async fn find_group(
        &self,
        external_id: &str,
        display_name: &str,
    ) -> Result<Option<String>, StoreFailure> {
        for alt in [
            AlternateIdentifier::ExternalId(Self::external(external_id)?),
            Self::unique("displayName", display_name)?,
        ] {
            match self
                .client
                .get_group_id()
                .identity_store_id(&self.store_id)
                .alternate_identifier(alt)
                .send()
                .await
            {
                Ok(out) => return Ok(Some(out.group_id().to_string())),
                Err(e) => match failure("GetGroupId", &e) {
                    StoreFailure::NotFound(_) | StoreFailure::Rejected(_) => continue,
                    other => return Err(other),
                },
            }
        }
        Ok(None)
    }

    /// CreateGroup; its id. (The API takes no external id for a group: groups are
    /// matched by their unique display name.)
    pub async fn create_group(&self, display_name: &str) -> Result<String, StoreFailure> {
        let out = self
            .client
            .create_group()
            .identity_store_id(&self.store_id)
            .display_name(display_name)
            .send()
            .await
            .map_err(|e| failure("CreateGroup", &e))?;
        Ok(out.group_id().to_string())
    }

    /// UpdateGroup: a new display name.
    pub async fn rename_group(&self, id: &str, display_name: &str) -> Result<(), StoreFailure> {
        let op = built(
            AttributeOperation::builder()
                .attribute_path("displayName")
                .attribute_value(Document::String(display_name.to_string()))
                .build(),
        )?;
        self.client
            .update_group()
            .identity_store_id(&self.store_id)
            .group_id(id)
            .operations(op)
            .send()
            .await
            .map_err(|e| failure("UpdateGroup", &e))?;
        Ok(())
    }

    /// DeleteGroup.
    pub async fn delete_group(&self, id: &str) -> Result<(), StoreFailure> {
        self.client
            .delete_group()
            .identity_store_id(&self.store_id)
            .group_id(id)
            .send()
            .await
            .map_err(|e| failure("DeleteGroup", &e))?;
        Ok(())
    }

    /// The user's memberships: (group id, membership id).
    pub async fn memberships_of(&self, user: &str) -> Result<Vec<(String, String)>, StoreFailure> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_group_memberships_for_member()
                .identity_store_id(&self.store_id)
                .member_id(MemberId::UserId(user.to_string()))
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| failure("ListGroupMembershipsForMember", &e))?;
            for m in page.group_memberships() {
                if let Some(g) = m.group_id() {
                    out.push((g.to_string(), m.membership_id().to_string()));
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// CreateGroupMembership unless the user is a member already; the membership's id.
    /// `new_user`: the user was just created, so the check is skipped.
    pub async fn add_member(
        &self,
        group: &str,
        user: &str,
        new_user: bool,
    ) -> Result<String, StoreFailure> {
        if !new_user {
            if let Some((_, id)) = self
                .memberships_of(user)
                .await?
                .into_iter()
                .find(|(g, _)| g == group)
            {
                return Ok(id);
            }
        }
        let out = self
            .client
            .create_group_membership()
            .identity_store_id(&self.store_id)
            .group_id(group)
            .member_id(MemberId::UserId(user.to_string()))
            .send()
            .await
            .map_err(|e| failure("CreateGroupMembership", &e))?;
        Ok(out.membership_id().to_string())
    }

    /// DeleteGroupMembership.
    pub async fn remove_member(&self, membership: &str) -> Result<(), StoreFailure> {
        self.client
            .delete_group_membership()
            .identity_store_id(&self.store_id)
            .membership_id(membership)
            .send()
            .await
            .map_err(|e| failure("DeleteGroupMembership", &e))?;
        Ok(())
    }

    /// Every user (ListUsers, all pages).
    pub async fn list_users(&self) -> Result<Vec<StoreUser>, StoreFailure> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_users()
                .identity_store_id(&self.store_id)
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| failure("ListUsers", &e))?;
            for u in page.users() {
                out.push(StoreUser {
                    id: u.user_id().to_string(),
                    user_name: u.user_name().unwrap_or_default().to_string(),
                    display_name: u.display_name().unwrap_or_default().to_string(),
                    given_name: u
                        .name()
                        .and_then(|n| n.given_name())
                        .unwrap_or_default()
                        .to_string(),
                    family_name: u
                        .name()
                        .and_then(|n| n.family_name())
                        .unwrap_or_default()
                        .to_string(),
                    email: u
                        .emails()
                        .first()
                        .and_then(|e| e.value())
                        .map(str::to_string),
                    external_id: u
                        .external_ids()
                        .iter()
                        .find(|x| x.issuer() == EXTERNAL_ID_ISSUER)
                        .map(|x| x.id().to_string()),
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every group: (id, display name).
    pub async fn list_groups(&self) -> Result<Vec<(String, String)>, StoreFailure> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_groups()
                .identity_store_id(&self.store_id)
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| failure("ListGroups", &e))?;
            for g in page.groups() {
                out.push((
                    g.group_id().to_string(),
                    g.display_name().unwrap_or_default().to_string(),
                ));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A group's members: (user id, membership id).
    pub async fn list_members(&self, group: &str) -> Result<Vec<(String, String)>, StoreFailure> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_group_memberships()
                .identity_store_id(&self.store_id)
                .group_id(group)
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| failure("ListGroupMemberships", &e))?;
            for m in page.group_memberships() {
                if let Some(MemberId::UserId(u)) = m.member_id() {
                    out.push((u.clone(), m.membership_id().to_string()));
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
