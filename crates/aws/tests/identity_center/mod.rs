//! IAM Identity Center account assignments against the moto emulator: granted, listed,
//! granted again, removed, removed again; grants made outside are listed across pages; an
//! assumed role reaches its own account's instance; a permission set the instance does not
//! have is a readable error.
//!
//! Moto has one Identity Center instance per account and region from the start (no
//! CreateInstance), answers every assignment request SUCCEEDED at once, and checks neither
//! the instance nor the permission set of CreateAccountAssignment or ListAccountAssignments;
//! DeleteAccountAssignment and DescribePermissionSet do answer ResourceNotFoundException.

use std::time::Duration;

use aws_sdk_ssoadmin::types::{PrincipalType as SdkPrincipalType, TargetType};
use aws_sdk_ssoadmin::Client;
use trustplane_aws::identity_center::{
    AccountAssignment, ConnectOptions, IdentityCenter, PrincipalType,
};
use trustplane_aws::{AwsError, CollectOptions};

use crate::common::{test_credentials, Moto};

/// The account the access is granted to.
const TARGET: &str = "111111111111";

/// A moto server with its instance and one permission set, and a plain SDK client to look
/// behind the module's back.
struct Fixture {
    moto: Moto,
    sdk: Client,
    instance: String,
    permission_set: String,
}

impl Fixture {
    async fn start() -> Option<Fixture> {
        test_credentials();
        let moto = Moto::start()?;
        let conf = trustplane_aws::sdk_config(&CollectOptions {
            endpoint_url: Some(moto.url.clone()),
            ..Default::default()
        })
        .await;
        let sdk = Client::new(&conf);
        let instances = sdk.list_instances().send().await.unwrap();
        let instance = instances.instances()[0].instance_arn().unwrap().to_string();
        let permission_set = create_permission_set(&sdk, &instance, "AdministratorAccess").await;
        Some(Fixture {
            moto,
            sdk,
            instance,
            permission_set,
        })
    }

    async fn center(&self, role_arn: Option<&str>) -> IdentityCenter {
        IdentityCenter::connect(&ConnectOptions {
            endpoint_url: Some(self.moto.url.clone()),
            region: "us-east-1".into(),
            role_arn: role_arn.map(str::to_string),
        })
        .await
        .with_polling(Duration::from_millis(10), 50)
    }

    fn grant(&self, principal_type: PrincipalType, principal_id: &str) -> AccountAssignment {
        AccountAssignment {
            instance_arn: self.instance.clone(),
            permission_set_arn: self.permission_set.clone(),
            account_id: TARGET.into(),
            principal_type,
            principal_id: principal_id.into(),
        }
    }

    /// (principal type, principal id) of every assignment of the permission set on
    /// [`TARGET`], as the SDK lists them (one page is enough for these tests).
    async fn listed(&self) -> Vec<(String, String)> {
        let out = self
            .sdk
            .list_account_assignments()
            .instance_arn(&self.instance)
            .account_id(TARGET)
            .permission_set_arn(&self.permission_set)
            .send()
            .await
            .unwrap();
        let mut listed: Vec<(String, String)> = out
            .account_assignments()
            .iter()
            .map(|a| {
                (
                    a.principal_type().unwrap().as_str().to_string(),
                    a.principal_id().unwrap().to_string(),
                )
            })
            .collect();
        listed.sort();
        listed
    }

    /// An assignment made directly through the SDK, as an administrator would in the
    /// console.
    async fn grant_outside(
        &self,
        permission_set: &str,
        account: &str,
        principal_type: SdkPrincipalType,
        principal_id: &str,
    ) {
        self.sdk
            .create_account_assignment()
            .instance_arn(&self.instance)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(permission_set)
            .principal_type(principal_type)
            .principal_id(principal_id)
            .send()
            .await
            .unwrap();
    }
}

async fn create_permission_set(sdk: &Client, instance: &str, name: &str) -> String {
    sdk.create_permission_set()
        .instance_arn(instance)
        .name(name)
        .session_duration("PT1H")
        .send()
        .await
        .unwrap()
        .permission_set()
        .unwrap()
        .permission_set_arn()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_is_listed_once_however_often_and_unassign_removes_it_once() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let center = fx.center(None).await;
    let alice = fx.grant(PrincipalType::User, "u-alice");

    center.assign(&alice).await.unwrap();
    let expected = vec![("USER".to_string(), "u-alice".to_string())];
    assert_eq!(fx.listed().await, expected);

    // A retry (after a crash, or a second request for the same access) is granted, and
    // makes no second assignment.
    center.assign(&alice).await.unwrap();
    assert_eq!(fx.listed().await, expected);
    assert_eq!(
        center
            .assignments(&fx.instance, TARGET, &fx.permission_set)
            .await
            .unwrap(),
        vec![alice.clone()]
    );

    center.unassign(&alice).await.unwrap();
    assert_eq!(fx.listed().await, Vec::<(String, String)>::new());
    // Removing what is gone is done, not an error.
    center.unassign(&alice).await.unwrap();
    assert!(center
        .assignments(&fx.instance, TARGET, &fx.permission_set)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_lists_grants_made_outside_across_pages() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let center = fx.center(None).await;
    // More than moto's page of 100.
    let users: Vec<String> = (0..105).map(|n| format!("u-{n:03}")).collect();
    for user in &users {
        fx.grant_outside(&fx.permission_set, TARGET, SdkPrincipalType::User, user)
            .await;
    }
    fx.grant_outside(
        &fx.permission_set,
        TARGET,
        SdkPrincipalType::Group,
        "g-oncall",
    )
    .await;
    // Not this permission set on this account: not listed.
    let other_set = create_permission_set(&fx.sdk, &fx.instance, "ReadOnly").await;
    fx.grant_outside(&other_set, TARGET, SdkPrincipalType::User, "u-other-set")
        .await;
    fx.grant_outside(
        &fx.permission_set,
        "222222222222",
        SdkPrincipalType::User,
        "u-other-account",
    )
    .await;

    let first_page = fx
        .sdk
        .list_account_assignments()
        .instance_arn(&fx.instance)
        .account_id(TARGET)
        .permission_set_arn(&fx.permission_set)
        .send()
        .await
        .unwrap();
    assert!(first_page.next_token().is_some(), "one page holds them all");

    let listed = center
        .assignments(&fx.instance, TARGET, &fx.permission_set)
        .await
        .unwrap();
    let mut expected: Vec<AccountAssignment> = users
        .iter()
        .map(|u| fx.grant(PrincipalType::User, u))
        .collect();
    expected.push(fx.grant(PrincipalType::Group, "g-oncall"));
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_role_works_in_its_own_account() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    // Moto keeps one Identity Center per account: calls made with the role's credentials go
    // to account 222222222222, whose assignments the caller's own account does not see.
    let center = fx
        .center(Some("arn:aws:iam::222222222222:role/trustplane-jit"))
        .await;
    let bob = fx.grant(PrincipalType::User, "u-bob");
    center.assign(&bob).await.unwrap();
    assert_eq!(
        center
            .assignments(&fx.instance, TARGET, &fx.permission_set)
            .await
            .unwrap(),
        vec![bob.clone()]
    );
    assert!(fx.listed().await.is_empty());
    center.unassign(&bob).await.unwrap();
    assert!(center
        .assignments(&fx.instance, TARGET, &fx.permission_set)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unassign_of_a_permission_set_the_instance_lacks_is_a_readable_error() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let center = fx.center(None).await;
    let missing = AccountAssignment {
        permission_set_arn: format!("{}/ps-0000000000000000", fx.instance),
        ..fx.grant(PrincipalType::User, "u-alice")
    };
    let err = center.unassign(&missing).await.unwrap_err();
    match &err {
        AwsError::IdentityCenter { operation, reason } => {
            assert_eq!(*operation, "DescribePermissionSet");
            assert_eq!(
                reason,
                "ResourceNotFoundException: Could not find PermissionSet with id ps-0000000000000000"
            );
        }
        other => panic!("expected an Identity Center error, got {other:?}"),
    }
    let text = err.to_string();
    assert_eq!(
        text,
        "AWS IAM Identity Center DescribePermissionSet failed: \
         ResourceNotFoundException: Could not find PermissionSet with id ps-0000000000000000"
    );
    assert!(!text.contains('\n') && !text.contains("testing"), "{text}");
}
