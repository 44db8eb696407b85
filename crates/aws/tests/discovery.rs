//! Discovery over an account seeded in the moto emulator: the collector reads the IAM
//! identity providers (with SAML metadata and OIDC URLs), roles and users; discovery names the
//! doors that bypass Trustplane.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

#[allow(unused_imports)]
mod common;

use common::{test_credentials, Moto, ACCOUNT};
use serde_json::json;
use trustplane_aws::{collect, CollectOptions};
use trustplane_discovery::{AppKind, Catalog, Discoverer, DiscoveryOptions};
use trustplane_posture::Inventory;

const OKTA_METADATA: &str = r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1abc"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://corp.okta.com/app/sso/saml"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;
const OURS_METADATA: &str = r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sso.example.com/saml/metadata"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sso.example.com/saml/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_account_shows_providers_trusts_and_users() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let options = CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        regions: vec!["us-east-1".into()],
        ..Default::default()
    };
    let conf = trustplane_aws::sdk_config(&options).await;
    let iam = aws_sdk_iam::Client::new(&conf);
    for (name, metadata) in [("Okta", OKTA_METADATA), ("Trustplane", OURS_METADATA)] {
        iam.create_saml_provider()
            .name(name)
            .saml_metadata_document(metadata)
            .send()
            .await
            .unwrap();
    }
    let gh = iam
        .create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("6938fd4d98bab03faadb97b34396831e3780aea1")
        .send()
        .await
        .unwrap();
    let gh_arn = gh.open_id_connect_provider_arn().unwrap().to_string();
    let okta_arn = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Okta");
    let trusts = [
        (
            "breakglass",
            json!({"Effect": "Allow", "Principal": {"Federated": okta_arn}, "Action": "sts:AssumeRoleWithSAML"}),
        ),
        (
            "deploy",
            json!({"Effect": "Allow", "Principal": {"Federated": gh_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:corp/app:*"}}}),
        ),
        (
            "vendor-audit",
            json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"sts:ExternalId": "x-123"}}}),
        ),
    ];
    for (role, statement) in &trusts {
        iam.create_role()
            .role_name(*role)
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
            )
            .send()
            .await
            .unwrap();
    }
    iam.create_user().user_name("alice").send().await.unwrap();
    iam.create_login_profile()
        .user_name("alice")
        .password("Corr3ct-Horse-Battery")
        .send()
        .await
        .unwrap();
    iam.create_user().user_name("ci-bot").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("ci-bot")
        .send()
        .await
        .unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_string();
    iam.create_user().user_name("nobody").send().await.unwrap();

    let docs = collect(&options).await.unwrap();
    let inv = Inventory::from_docs(docs);
    let mut d = Discoverer::new(
        Catalog::builtin().unwrap(),
        DiscoveryOptions {
            trustplane_issuers: vec!["https://sso.example.com".into()],
            ..DiscoveryOptions::default()
        },
    );
    d.add_inventory(&inv);
    let report = d.finish();
    let by_id = |id: &str| {
        report
            .apps
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:#?}", report.apps))
    };

    // The SAML provider that is not Trustplane's bypasses it, with the roles it opens.
    let okta = by_id(&format!("idp:{okta_arn}"));
    assert_eq!(okta.kind, AppKind::IdentityProvider);
    assert!(okta.bypasses_trustplane);
    assert_eq!(okta.details["owner"], "other");
    assert_eq!(okta.details["entityId"], "http://www.okta.com/exk1abc");
    assert_eq!(okta.details["trustingRoles"], json!(["breakglass"]));
    assert!(okta
        .remediation
        .as_deref()
        .unwrap()
        .contains("delete-saml-provider"));
    let ours = by_id(&format!(
        "idp:arn:aws:iam::{ACCOUNT}:saml-provider/Trustplane"
    ));
    assert_eq!(ours.details["owner"], "trustplane");
    assert!(!ours.bypasses_trustplane);

    let github = by_id(&format!("idp:{gh_arn}"));
    assert_eq!(github.details["owner"], "githubActions");
    assert_eq!(github.details["trustingRoles"], json!(["deploy"]));
    assert_eq!(github.details["subjects"], json!(["repo:corp/app:*"]));
    assert_eq!(github.details["anySubject"], false);

    let vendor = by_id(&format!(
        "cross-account:arn:aws:iam::{ACCOUNT}:role/vendor-audit"
    ));
    assert_eq!(vendor.details["externalAccounts"], json!(["444455556666"]));
    assert_eq!(vendor.details["externalIdRequired"], true);

    let alice = by_id(&format!("iam-user:arn:aws:iam::{ACCOUNT}:user/alice"));
    assert_eq!(alice.details["consolePassword"], true);
    assert_eq!(alice.details["mfa"], false);
    let bot = by_id(&format!("iam-user:arn:aws:iam::{ACCOUNT}:user/ci-bot"));
    assert_eq!(bot.details["consolePassword"], false);
    assert_eq!(bot.details["activeAccessKeys"], json!([key_id]));
    assert!(bot.bypasses_trustplane);
    // No password, no key: no door.
    assert!(!report.apps.iter().any(|a| a.name == "nobody"));
    // The roles that only trust the providers are not cross-account paths.
    assert_eq!(
        report
            .apps
            .iter()
            .filter(|a| a.kind == AppKind::CrossAccountRole)
            .count(),
        1
    );
}
