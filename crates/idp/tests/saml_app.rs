//! The SAML engine without HTTP: a store on SQLite in a temporary folder and a clock the test
//! moves. Who gets which assertion at an AWS console application, and who gets none.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Map, Value};
use tempfile::TempDir;
use trustplane_idp::saml_app::{decide, Decision, Refused, SamlSettings};
use trustplane_model::{
    Actor, AssignmentKind, ManualClock, RoleDefinition, RoleResource, Timestamp, User,
};
use trustplane_store::{NewAssignment, NewUser, Store};

const T0: i64 = 1_790_000_000_000;
const ACCOUNT: &str = "111122223333";
const PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/Trustplane";

struct Fixture {
    store: Store,
    clock: ManualClock,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let clock = ManualClock::new(T0);
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    Fixture {
        store,
        clock,
        _dir: dir,
    }
}

fn settings(saml: Value) -> SamlSettings {
    let mut m = Map::new();
    m.insert("saml".into(), saml);
    SamlSettings::from_app_settings(&m)
        .unwrap()
        .unwrap()
        .complete("urn:amazon:webservices")
        .unwrap()
}

async fn person(store: &Store, upn: &str, mail: Option<&str>) -> User {
    store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: upn.into(),
                mail: mail.map(str::to_string),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

async fn aws_role(store: &Store, name: &str, max_session: u32) -> RoleDefinition {
    store
        .create_role_definition(
            &Actor::system(),
            RoleDefinition {
                id: String::new(),
                display_name: name.into(),
                description: String::new(),
                is_built_in: false,
                is_enabled: true,
                template_id: String::new(),
                role_permissions: Vec::new(),
                resource: Some(RoleResource::AwsSamlRole {
                    account_id: ACCOUNT.into(),
                    role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
                    saml_provider_arn: PROVIDER.into(),
                    max_session_duration: max_session,
                }),
            },
        )
        .await
        .unwrap()
}

async fn grant(store: &Store, user: &User, role: &RoleDefinition, end: Option<Timestamp>) {
    store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: user.id.clone(),
                role_definition_id: role.id.clone(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: None,
                end,
            },
        )
        .await
        .unwrap();
}

fn attribute<'a>(decision: &'a Decision, name: &str) -> &'a [String] {
    let Decision::Issue(a) = decision else {
        panic!("no assertion: {decision:?}");
    };
    a.attributes
        .iter()
        .find(|x| x.name == name)
        .map_or(&[], |x| x.values.as_slice())
}

const ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";

#[tokio::test]
async fn an_aws_console_assertion_carries_the_roles_held_now() {
    let f = fixture().await;
    let ada = person(&f.store, "ada@example.com", None).await;
    let admin = aws_role(&f.store, "Admin", 3600).await;
    let reader = aws_role(&f.store, "Reader", 43_200).await;
    grant(&f.store, &ada, &admin, None).await;
    grant(&f.store, &ada, &reader, None).await;
    let s = settings(json!({"template": "awsConsole", "sessionDuration": 7200}));

    let d = decide(&f.store, &ada, &s, None).await.unwrap();
    let mut roles = attribute(&d, ROLE).to_vec();
    roles.sort();
    assert_eq!(
        roles,
        vec![
            format!("arn:aws:iam::{ACCOUNT}:role/Admin,{PROVIDER}"),
            format!("arn:aws:iam::{ACCOUNT}:role/Reader,{PROVIDER}"),
        ]
    );
    assert_eq!(attribute(&d, SESSION_NAME), ["ada@example.com"]);
    // The shortest role maximum wins over the 7200 s asked for.
    assert_eq!(attribute(&d, DURATION), ["3600"]);
    let Decision::Issue(a) = &d else {
        unreachable!()
    };
    assert_eq!(a.name_id, ada.id);
    assert_eq!(a.aws_time_left_secs, None);

    // A portal tile for one role releases that role only.
    let reader_arn = format!("arn:aws:iam::{ACCOUNT}:role/Reader");
    let d = decide(&f.store, &ada, &s, Some(&reader_arn)).await.unwrap();
    assert_eq!(attribute(&d, ROLE), [format!("{reader_arn},{PROVIDER}")]);
    assert_eq!(attribute(&d, DURATION), ["7200"]);
}

#[tokio::test]
async fn a_time_bound_role_caps_the_session_and_is_dropped_near_its_end() {
    let f = fixture().await;
    let ada = person(&f.store, "ada@example.com", None).await;
    let admin = aws_role(&f.store, "Admin", 43_200).await;
    grant(&f.store, &ada, &admin, Some(T0 + 1_800_000)).await;
    let s = settings(json!({"template": "awsConsole", "sessionDuration": 7200}));

    let d = decide(&f.store, &ada, &s, None).await.unwrap();
    assert_eq!(attribute(&d, DURATION), ["1800"]);
    let Decision::Issue(a) = &d else {
        unreachable!()
    };
    assert_eq!(a.aws_time_left_secs, Some(1800));

    // With less than AWS's shortest session left, the role is not offered at all.
    f.clock.advance_ms(1_000_000);
    let d = decide(&f.store, &ada, &s, None).await.unwrap();
    assert_eq!(d, Decision::Refuse(Refused::NoAwsRole));
}

#[tokio::test]
async fn no_aws_role_means_no_assertion() {
    let f = fixture().await;
    let bob = person(&f.store, "bob@example.com", None).await;
    let s = settings(json!({"template": "awsConsole"}));
    let d = decide(&f.store, &bob, &s, None).await.unwrap();
    assert_eq!(d, Decision::Refuse(Refused::NoAwsRole));
}

#[tokio::test]
async fn a_shared_mail_address_names_no_one() {
    let f = fixture().await;
    let ada = person(&f.store, "ada@example.com", Some("team@example.com")).await;
    let generic = settings(json!({
        "assertionConsumerServices": [{"url": "https://sp.example.com/acs"}],
        "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "nameIdSource": "mail",
    }));
    let d = decide(&f.store, &ada, &generic, None).await.unwrap();
    let Decision::Issue(a) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(a.name_id, "team@example.com");

    person(&f.store, "eve@example.com", Some("TEAM@example.com")).await;
    let d = decide(&f.store, &ada, &generic, None).await.unwrap();
    assert_eq!(d, Decision::Refuse(Refused::MailNotUnique));

    let no_mail = person(&f.store, "carl@example.com", None).await;
    let d = decide(&f.store, &no_mail, &generic, None).await.unwrap();
    assert_eq!(d, Decision::Refuse(Refused::NoNameId));
}
