//! `trustplane-provisioning`'s outbound [`Target`] over the Identity Store API
//! (`trustplane_aws::identity_store`).
//!
//! The Identity Store keeps no `active` flag, so a disabled user is deleted there (their
//! memberships and Identity Center account assignments go with them) and created again if
//! they are enabled later; the directory user's `awsIdentityCenterUserId` follows.

use trustplane_aws::identity_center::ConnectOptions;
use trustplane_aws::identity_store::{IdentityStore, StoreFailure, StoreUser};
use trustplane_provisioning::outbound::{
    BoxFuture, IdentityStoreConnector, OutGroup, OutUser, OutboundSettings, Target, TargetError,
    TargetGroup, TargetUser,
};

/// Connects `awsIdentityStore` connections through the AWS SDK.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityStores;

impl IdentityStoreConnector for IdentityStores {
    fn connect<'a>(
        &'a self,
        settings: &'a OutboundSettings,
    ) -> BoxFuture<'a, Result<Box<dyn Target>, String>> {
        Box::pin(async move {
            let store_id = settings
                .identity_store_id
                .clone()
                .ok_or("the connection has no identityStoreId")?;
            let options = ConnectOptions {
                endpoint_url: settings.endpoint.clone(),
                region: settings
                    .region
                    .clone()
                    .ok_or("the connection has no region")?,
                role_arn: settings.role_arn.clone(),
            };
            let store = IdentityStore::connect(&options, &store_id).await;
            Ok(Box::new(Transport(store)) as Box<dyn Target>)
        })
    }
}

struct Transport(IdentityStore);

fn err(f: StoreFailure) -> TargetError {
    match f {
        StoreFailure::Throttled(m) => TargetError::Throttled(m),
        StoreFailure::NotFound(m) => TargetError::NotFound(m),
        StoreFailure::Rejected(m) => TargetError::Rejected(m),
        StoreFailure::Unavailable(m) => TargetError::Unavailable(m),
    }
}

fn store_user(u: &OutUser) -> StoreUser {
    StoreUser {
        id: String::new(),
        user_name: u.user_name.clone(),
        display_name: u.display_name.clone(),
        given_name: u.given_name.clone(),
        family_name: u.family_name.clone(),
        email: u.email.clone(),
        external_id: Some(u.external_id.clone()),
    }
}

impl Target for Transport {
    fn keeps_active(&self) -> bool {
        false
    }

    fn find_user<'a>(
        &'a self,
        u: &'a OutUser,
    ) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        Box::pin(async move {
            self.0
                .find_user(&u.external_id, &u.user_name)
                .await
                .map_err(err)
        })
    }

    fn create_user<'a>(&'a self, u: &'a OutUser) -> BoxFuture<'a, Result<String, TargetError>> {
        Box::pin(async move { self.0.create_user(&store_user(u)).await.map_err(err) })
    }

    fn update_user<'a>(
        &'a self,
        id: &'a str,
        u: &'a OutUser,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move { self.0.update_user(id, &store_user(u)).await.map_err(err) })
    }

    fn delete_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move { self.0.delete_user(id).await.map_err(err) })
    }

    fn find_group<'a>(
        &'a self,
        g: &'a OutGroup,
    ) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        Box::pin(async move {
            self.0
                .find_group(&g.external_id, &g.display_name)
                .await
                .map_err(err)
        })
    }

    fn create_group<'a>(&'a self, g: &'a OutGroup) -> BoxFuture<'a, Result<String, TargetError>> {
        Box::pin(async move { self.0.create_group(&g.display_name).await.map_err(err) })
    }

    fn update_group<'a>(
        &'a self,
        id: &'a str,
        g: &'a OutGroup,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move { self.0.rename_group(id, &g.display_name).await.map_err(err) })
    }

    fn delete_group<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move { self.0.delete_group(id).await.map_err(err) })
    }

    fn add_member<'a>(
        &'a self,
        group: &'a str,
        user: &'a str,
        new_user: bool,
    ) -> BoxFuture<'a, Result<String, TargetError>> {
        Box::pin(async move { self.0.add_member(group, user, new_user).await.map_err(err) })
    }

    fn remove_member<'a>(
        &'a self,
        _group: &'a str,
        _user: &'a str,
        membership: &'a str,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move { self.0.remove_member(membership).await.map_err(err) })
    }

    fn list_users(&self) -> BoxFuture<'_, Result<Vec<TargetUser>, TargetError>> {
        Box::pin(async move {
            Ok(self
                .0
                .list_users()
                .await
                .map_err(err)?
                .into_iter()
                .map(|u| TargetUser {
                    id: u.id,
                    external_id: u.external_id,
                    user_name: u.user_name,
                    display_name: u.display_name,
                    active: None,
                })
                .collect())
        })
    }

    fn list_groups(&self) -> BoxFuture<'_, Result<Vec<TargetGroup>, TargetError>> {
        Box::pin(async move {
            Ok(self
                .0
                .list_groups()
                .await
                .map_err(err)?
                .into_iter()
                .map(|(id, display_name)| TargetGroup { id, display_name })
                .collect())
        })
    }

    fn list_members<'a>(
        &'a self,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, TargetError>> {
        Box::pin(async move { self.0.list_members(group).await.map_err(err) })
    }
}
