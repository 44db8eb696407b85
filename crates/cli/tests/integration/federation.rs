//! AWS console federation end to end against the moto emulator: `trustplane aws connect`
//! creates the SAML provider and roles in two accounts and registers them; a person signs in
//! once, and the assertion for each role they hold is exchanged at STS (`AssumeRoleWithSAML`,
//! driven by boto3) for credentials of exactly that role, with their UPN as session name.

use std::process::{Command, Stdio};

use serde_json::{json, Value};
use trustplane_aws::emulator::Moto;

use crate::harness::*;

const PASSWORD: &str = "a long and unusual passphrase";
const OTHER_ACCOUNT: &str = "222222222222";

fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws/credentials",
        )
}

/// `trustplane --output json aws connect ...` against the node and the emulator.
fn connect(node: &Node, moto: &Moto, extra: &[&str]) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.args(["--output", "json", "aws", "connect", "--apply"])
        .args(["--endpoint-url", &moto.url])
        .args(extra)
        .env("TRUSTPLANE_URL", &node.base)
        .env("TRUSTPLANE_TOKEN", TOKEN)
        .env("TRUSTPLANE_PROFILE", "/nonexistent/profile.toml")
        .stdin(Stdio::null());
    let out = aws_env(&mut cmd).output().unwrap();
    assert!(
        out.status.success(),
        "aws connect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// STS AssumeRoleWithSAML through boto3: the assumed-role identity STS answers with.
fn assume_with_saml(moto: &Moto, role: &str, provider: &str, assertion: &str) -> Value {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap();
    let script = r#"
import json, sys, boto3
url, role, provider, assertion = sys.argv[1:5]
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
out = sts.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion)
arn = out["AssumedRoleUser"]["Arn"]
print(json.dumps({"arn": arn, "account": arn.split(":")[4],
                  "keyId": out["Credentials"]["AccessKeyId"]}))
"#;
    let mut cmd = Command::new(python);
    cmd.args(["-c", script, &moto.url, role, provider, assertion]);
    let out = aws_env(&mut cmd).output().unwrap();
    assert!(
        out.status.success(),
        "STS failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Follows our redirects with the session until a page answers; (status, body).
async fn follow(node: &Node, session: &str, mut path: String) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..5 {
        let r = client
            .get(node.url(&path))
            .bearer_auth(session)
            .send()
            .await
            .unwrap();
        match r.headers().get("location") {
            Some(next) if r.status().is_redirection() => {
                path = next.to_str().unwrap().to_string();
            }
            _ => return (r.status().as_u16(), r.text().await.unwrap()),
        }
    }
    panic!("too many redirects at {path}");
}

fn form_field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap() + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sign_in_reaches_the_assigned_roles_of_two_aws_accounts_through_sts() {
    let Some(moto) = Moto::start() else { return };
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = db.start().await;
    let (s, ada) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "ada@example.com", "displayName": "Ada Lovelace",
               "passwordProfile": {"password": PASSWORD}}),
    )
    .await;
    assert_eq!(s, 201, "{ada}");

    // Without --apply nothing is created, only shown.
    let (code, plan, _) = cli(Some(&node), &["aws", "connect", "--role", "Admin"]);
    assert_eq!(code, 0);
    assert!(plan.contains("sts:AssumeRoleWithSAML"), "{plan}");

    let first = connect(&node, &moto, &["--role", "Admin", "--role", "Auditor"]);
    let second = connect(
        &node,
        &moto,
        &[
            "--role",
            "ReadOnly=arn:aws:iam::aws:policy/ReadOnlyAccess",
            "--assume-role",
            &format!("arn:aws:iam::{OTHER_ACCOUNT}:role/OrganizationAccountAccessRole"),
        ],
    );
    let roles: Vec<Value> = first
        .as_array()
        .unwrap()
        .iter()
        .chain(second.as_array().unwrap())
        .cloned()
        .collect();
    let arn_of = |name: &str| -> (String, String, String) {
        let r = roles
            .iter()
            .find(|r| {
                r["roleArn"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{name}"))
            })
            .unwrap();
        (
            r["roleArn"].as_str().unwrap().to_string(),
            r["samlProviderArn"].as_str().unwrap().to_string(),
            r["id"].as_str().unwrap().to_string(),
        )
    };
    let (admin, admin_provider, admin_id) = arn_of("Admin");
    let (readonly, readonly_provider, readonly_id) = arn_of("ReadOnly");
    let (auditor, _, _) = arn_of("Auditor");
    assert!(readonly.contains(OTHER_ACCOUNT), "{readonly}");
    assert!(readonly_provider.contains(OTHER_ACCOUNT));
    assert!(!admin.contains(OTHER_ACCOUNT));

    // Connecting again updates what exists and registers nothing twice.
    let again = connect(&node, &moto, &["--role", "Admin"]);
    assert_eq!(again[0]["aws"], "updated");
    assert_eq!(again[0]["id"], admin_id.as_str());

    let (s, app) = post(
        &node,
        "/api/v1/applications",
        json!({"displayName": "AWS", "settings": {"saml": {"template": "awsConsole"}}}),
    )
    .await;
    assert_eq!(s, 201, "{app}");
    for role in [&admin_id, &readonly_id] {
        let (s, a) = post(
            &node,
            "/api/v1/roleAssignments",
            json!({"principalId": ada["id"], "roleDefinitionId": role}),
        )
        .await;
        assert_eq!(s, 201, "{a}");
    }

    // One sign-in.
    let signed_in: Value = http()
        .post(node.url("/api/v1/auth/signIn"))
        .json(&json!({"username": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = signed_in["sessionToken"].as_str().unwrap().to_string();

    for (role, provider, account) in [
        (&admin, &admin_provider, "123456789012"),
        (&readonly, &readonly_provider, OTHER_ACCOUNT),
    ] {
        let (status, page) = follow(
            &node,
            &session,
            format!("/saml/start/urn:amazon:webservices?role={role}"),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let assertion = form_field(&page, "SAMLResponse");
        let me = assume_with_saml(&moto, role, provider, &assertion);
        let name = role.rsplit('/').next().unwrap();
        assert_eq!(
            me["arn"],
            format!("arn:aws:sts::{account}:assumed-role/{name}/ada@example.com")
        );
        assert_eq!(me["account"], account);
        assert!(me["keyId"].as_str().unwrap().starts_with("ASIA"), "{me}");
    }

    // A role that exists in AWS but that nobody assigned her: no assertion at all.
    let (status, page) = follow(
        &node,
        &session,
        format!("/saml/start/urn:amazon:webservices?role={auditor}"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(!page.contains("SAMLResponse"));
}
