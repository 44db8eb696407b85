//! Discovery over the shipped attack captures (Stratus Red Team, invictus-ir), a Squid and a
//! CEF log written for these tests, and a saved inventory. Expectations are derived from the
//! fixtures here, independently of the engine's readers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use trustplane_discovery::{
    AppKind, Catalog, DiscoveredApp, Discoverer, DiscoveryError, DiscoveryOptions, DiscoveryReport,
    ReviewState,
};
use trustplane_posture::{Inventory, Provider, ResourceDoc};

fn logs(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/logs")
        .join(sub)
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn discover(inputs: &[PathBuf], options: DiscoveryOptions) -> DiscoveryReport {
    let mut d = Discoverer::new(Catalog::builtin().unwrap(), options);
    d.read_logs(inputs, None).unwrap();
    d.finish()
}

fn app<'a>(r: &'a DiscoveryReport, id: &str) -> &'a DiscoveredApp {
    r.apps
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no app {id}"))
}

/// Every record of a folder of CloudTrail files, read with serde_json alone.
fn raw_records(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        match v {
            Value::Array(a) => out.extend(a),
            Value::Object(mut o) => match o.remove("Records") {
                Some(Value::Array(a)) => out.extend(a),
                _ => out.push(Value::Object(o)),
            },
            _ => panic!("{}", f.display()),
        }
    }
    out
}

#[derive(Default, Debug, PartialEq)]
struct Expected {
    events: u64,
    users: BTreeSet<String>,
    first: Option<String>,
    last: Option<String>,
}

/// (account, eventSource) -> what the records show.
fn expected_services(records: &[Value]) -> BTreeMap<String, Expected> {
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for r in records {
        let Some(source) = r["eventSource"].as_str() else {
            continue;
        };
        let account = r["recipientAccountId"]
            .as_str()
            .or(r["userIdentity"]["accountId"].as_str())
            .unwrap_or("unknown");
        let e = out
            .entry(format!("aws-service:{account}:{source}"))
            .or_default();
        e.events += 1;
        let ui = &r["userIdentity"];
        if let Some(u) = ["arn", "principalId", "invokedBy", "type"]
            .iter()
            .find_map(|k| ui[*k].as_str().filter(|s| !s.is_empty()))
        {
            e.users.insert(u.to_string());
        }
        // CloudTrail times are all `YYYY-MM-DDTHH:MM:SSZ`: text order is time order.
        if let Some(t) = r["eventTime"].as_str() {
            let t = t.to_string();
            if e.first.as_ref().is_none_or(|f| t < *f) {
                e.first = Some(t.clone());
            }
            if e.last.as_ref().is_none_or(|l| t > *l) {
                e.last = Some(t);
            }
        }
    }
    out
}

fn check_services(dir: &str) {
    let records = raw_records(&logs(dir));
    assert!(!records.is_empty());
    let expected = expected_services(&records);
    let report = discover(&[logs(dir)], DiscoveryOptions::default());
    let got: BTreeMap<String, Expected> = report
        .apps
        .iter()
        .filter(|a| a.kind == AppKind::AwsService)
        .map(|a| {
            (
                a.id.clone(),
                Expected {
                    events: a.events,
                    users: a.users.iter().cloned().collect(),
                    first: a.first_seen.clone(),
                    last: a.last_seen.clone(),
                },
            )
        })
        .collect();
    assert_eq!(got, expected, "{dir}");
    assert_eq!(report.unparsed.count, 0, "{:?}", report.unparsed);
    let read: u64 = report.sources.iter().map(|s| s.read).sum();
    assert_eq!(read, records.len() as u64);
}

#[test]
fn stratus_red_team_services_and_users() {
    check_services("stratus-red-team");
}

#[test]
fn invictus_ir_services_and_users() {
    check_services("invictus-ir-aws");
    // Something specific the capture is known for: the IAM user `benjamin` using S3.
    let report = discover(&[logs("invictus-ir-aws")], DiscoveryOptions::default());
    let s3 = app(&report, "aws-service:123837392027:s3.amazonaws.com");
    assert!(s3
        .users
        .contains(&"arn:aws:iam::123837392027:user/benjamin".to_string()));
}

#[test]
fn squid_log_shows_apps_with_their_users() {
    let report = discover(&[data("squid-access.log")], DiscoveryOptions::default());
    let dropbox = app(&report, "web:dropbox");
    assert_eq!(dropbox.users, vec!["ada", "bob"]);
    assert_eq!(dropbox.events, 3);
    assert_eq!(dropbox.bytes, 52100 + 1048576 + 3000);
    assert_eq!(dropbox.first_seen.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(dropbox.last_seen.as_deref(), Some("2023-11-14T22:19:20Z"));
    assert_eq!(app(&report, "web:slack").users, vec!["ada"]);
    assert_eq!(app(&report, "web:chatgpt").users, vec!["carol"]);
    // No authenticated user: the client address stands in; the proxy refused it.
    let mega = app(&report, "web:mega");
    assert_eq!(
        (mega.users.clone(), mega.blocked),
        (vec!["10.0.0.8".into()], 1)
    );
    // Two bad lines counted with their line numbers and text; the run went on after them.
    assert_eq!(report.unparsed.count, 2);
    let lines: Vec<Option<u64>> = report.unparsed.examples.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![Some(6), Some(9)]);
    assert_eq!(
        report.unparsed.examples[0].text.as_deref(),
        Some("this line is not a squid line")
    );
    assert_eq!(report.uncatalogued_hosts, 1);
    assert_eq!(report.top_uncatalogued[0].host, "intranet.corp.example");
    assert_eq!(report.sources[0].format, "squid");
    assert_eq!((report.sources[0].read, report.sources[0].unparsed), (9, 2));
}

#[test]
fn cef_firewall_log() {
    let report = discover(&[data("firewall.cef")], DiscoveryOptions::default());
    assert_eq!(app(&report, "web:box").users, vec!["ada"]);
    let gpt = app(&report, "web:chatgpt");
    assert_eq!(
        (gpt.users.clone(), gpt.bytes),
        (vec!["carol".into()], 1_000_000)
    );
    assert_eq!(app(&report, "web:wetransfer").blocked, 1);
    assert_eq!(report.unparsed.count, 1);
    assert_eq!(report.sources[0].format, "cef");
}

#[test]
fn unknown_format_is_refused_with_the_known_ones() {
    let mut d = Discoverer::new(Catalog::builtin().unwrap(), DiscoveryOptions::default());
    let err = d
        .read_logs(&[data("squid-access.log"), data("unknown.csv")], None)
        .unwrap_err();
    assert!(matches!(err, DiscoveryError::UnknownFormat { .. }));
    let text = err.to_string();
    assert!(text.contains("unknown.csv") && text.contains("squid") && text.contains("cef"));
    // Refused before anything was read.
    assert!(d.finish().apps.is_empty());
}

#[test]
fn administrators_extend_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.json");
    std::fs::write(
        &file,
        r#"{"apps":[{"id":"intranet","name":"Intranet","category":"Internal","domains":["corp.example"],"risk":"low","sso":["saml"],"mfa":true}]}"#,
    )
    .unwrap();
    let mut catalog = Catalog::builtin().unwrap();
    catalog.extend_from_file(&file).unwrap();
    let mut d = Discoverer::new(catalog, DiscoveryOptions::default());
    d.read_logs(&[data("squid-access.log")], None).unwrap();
    let r = d.finish();
    assert_eq!(app(&r, "web:intranet").users, vec!["ada"]);
    assert_eq!(r.uncatalogued_hosts, 0);
}

#[test]
fn scores_are_the_sum_of_visible_factors_and_reviews_count() {
    let mut options = DiscoveryOptions::default();
    options
        .reviews
        .insert("web:slack".into(), ReviewState::Sanctioned);
    options
        .reviews
        .insert("web:chatgpt".into(), ReviewState::Unsanctioned);
    options.sso_through_trustplane.insert("slack".into());
    let r = discover(&[data("squid-access.log")], options);
    for a in &r.apps {
        let sum: u32 = a.risk.factors.iter().map(|f| f.points).sum();
        assert_eq!(a.risk.score, sum.min(100), "{}", a.id);
        assert!(a.risk.factors.iter().all(|f| !f.detail.is_empty()));
    }
    let slack = app(&r, "web:slack");
    assert_eq!(slack.review, Some(ReviewState::Sanctioned));
    assert_eq!(slack.risk.score, 0, "{:?}", slack.risk);
    let gpt = app(&r, "web:chatgpt");
    let names: Vec<&str> = gpt.risk.factors.iter().map(|f| f.factor.as_str()).collect();
    assert_eq!(names, vec!["review", "catalogueRisk", "sso"]);
    // Highest risk first.
    assert!(r
        .apps
        .windows(2)
        .all(|w| w[0].risk.score >= w[1].risk.score));
}

const ACCT: &str = "111122223333";

fn doc(t: &str, id: &str, name: &str, raw: Value) -> ResourceDoc {
    ResourceDoc::new(Provider::Aws, ACCT, "global", t, id, name, raw)
}

fn trust(statement: Value) -> Value {
    // As IAM returns it: URL-encoded JSON text.
    let text = json!({"Version": "2012-10-17", "Statement": [statement]}).to_string();
    Value::String(
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    )
}

#[test]
fn inventory_access_paths() {
    let okta = format!("arn:aws:iam::{ACCT}:saml-provider/Okta");
    let ours = format!("arn:aws:iam::{ACCT}:saml-provider/Trustplane");
    let gh = format!("arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com");
    let inv = Inventory::from_docs([
        doc(
            "aws.iam.saml_provider",
            &okta,
            "Okta",
            json!({"Arn": okta,
            "SAMLMetadataDocument": "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"http://www.okta.com/exk1\"/>"}),
        ),
        doc(
            "aws.iam.saml_provider",
            &ours,
            "Trustplane",
            json!({"Arn": ours,
            "SAMLMetadataDocument": "<EntityDescriptor entityID=\"https://sso.example.com/saml/metadata\"/>"}),
        ),
        doc(
            "aws.iam.oidc_provider",
            &gh,
            "token.actions.githubusercontent.com",
            json!({"Arn": gh, "Url": "token.actions.githubusercontent.com", "ClientIDList": ["sts.amazonaws.com"]}),
        ),
        doc(
            "aws.iam.role",
            &format!("arn:aws:iam::{ACCT}:role/OktaAdmin"),
            "OktaAdmin",
            json!({
            "AssumeRolePolicyDocument": trust(json!({"Effect": "Allow", "Principal": {"Federated": okta}, "Action": "sts:AssumeRoleWithSAML"}))}),
        ),
        doc(
            "aws.iam.role",
            &format!("arn:aws:iam::{ACCT}:role/Deploy"),
            "Deploy",
            json!({
            "AssumeRolePolicyDocument": trust(json!({"Effect": "Allow", "Principal": {"Federated": gh}, "Action": "sts:AssumeRoleWithWebIdentity"}))}),
        ),
        doc(
            "aws.iam.role",
            &format!("arn:aws:iam::{ACCT}:role/Vendor"),
            "Vendor",
            json!({
            "AssumeRolePolicyDocument": trust(json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root", format!("arn:aws:iam::{ACCT}:root")]}, "Action": "sts:AssumeRole"}))}),
        ),
        doc(
            "aws.iam.role",
            &format!("arn:aws:iam::{ACCT}:role/Local"),
            "Local",
            json!({
            "AssumeRolePolicyDocument": {"Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}}),
        ),
        doc(
            "aws.iam.user",
            &format!("arn:aws:iam::{ACCT}:user/alice"),
            "alice",
            json!({
            "LoginProfile": {"CreateDate": "2024-01-01T00:00:00Z"}, "PasswordLastUsed": "2024-05-01T10:00:00Z",
            "AccessKeys": [{"AccessKeyId": "AKIAALICE", "Status": "Active", "CreateDate": "2024-01-01T00:00:00Z"}], "MFADevices": []}),
        ),
        doc(
            "aws.iam.user",
            &format!("arn:aws:iam::{ACCT}:user/bot"),
            "bot",
            json!({
            "LoginProfile": null, "AccessKeys": [{"AccessKeyId": "AKIAOLD", "Status": "Inactive"}], "MFADevices": []}),
        ),
        doc(
            "aws.iam.credential_report_row",
            &format!("arn:aws:iam::{ACCT}:user/alice"),
            "alice",
            json!({
            "access_key_1_last_used_date": "2024-06-01T00:00:00Z", "password_last_used": "N/A"}),
        ),
    ]);
    let options = DiscoveryOptions {
        trustplane_issuers: vec!["https://sso.example.com".into()],
        now: 1_735_689_600, // 2025-01-01
        ..DiscoveryOptions::default()
    };
    let mut d = Discoverer::new(Catalog::builtin().unwrap(), options);
    d.add_inventory(&inv);
    let r = d.finish();
    let okta_app = app(&r, &format!("idp:{okta}"));
    assert!(okta_app.bypasses_trustplane);
    assert_eq!(okta_app.details["owner"], "other");
    assert_eq!(okta_app.details["vendor"], "Okta");
    assert_eq!(okta_app.details["trustingRoles"], json!(["OktaAdmin"]));
    assert!(okta_app.remediation.as_deref().unwrap().contains(&format!(
        "aws iam delete-saml-provider --saml-provider-arn {okta}"
    )));
    let ours_app = app(&r, &format!("idp:{ours}"));
    assert_eq!(ours_app.details["owner"], "trustplane");
    assert!(!ours_app.bypasses_trustplane && ours_app.remediation.is_none());
    let gh_app = app(&r, &format!("idp:{gh}"));
    assert_eq!(gh_app.details["owner"], "githubActions");
    assert_eq!(gh_app.details["anySubject"], true);
    assert!(gh_app
        .risk
        .factors
        .iter()
        .any(|f| f.factor == "trustCondition"));
    let vendor = app(
        &r,
        &format!("cross-account:arn:aws:iam::{ACCT}:role/Vendor"),
    );
    assert_eq!(vendor.details["externalAccounts"], json!(["444455556666"]));
    assert_eq!(vendor.details["externalIdRequired"], false);
    assert!(!r
        .apps
        .iter()
        .any(|a| a.name == "Local" || a.name == "OktaAdmin"));
    let alice = app(&r, &format!("iam-user:arn:aws:iam::{ACCT}:user/alice"));
    assert_eq!(alice.details["consolePassword"], true);
    assert_eq!(alice.details["activeAccessKeys"], json!(["AKIAALICE"]));
    assert_eq!(alice.last_seen.as_deref(), Some("2024-06-01T00:00:00Z"));
    assert_eq!(alice.first_seen.as_deref(), Some("2024-05-01T10:00:00Z"));
    let factors: Vec<(&str, u32)> = alice
        .risk
        .factors
        .iter()
        .map(|f| (f.factor.as_str(), f.points))
        .collect();
    assert_eq!(
        factors,
        vec![
            ("review", 20),
            ("sso", 25),
            ("mfa", 20),
            ("credentials", 15),
            ("credentials", 10)
        ]
    );
    assert!(alice
        .remediation
        .as_deref()
        .unwrap()
        .contains("aws iam delete-login-profile --user-name alice"));
    // A user with only an inactive key and no password is no door.
    assert!(!r.apps.iter().any(|a| a.name == "bot"));
}

#[test]
fn credential_report_rows_stand_in_for_older_inventories() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../posture/tests/fixtures/aws");
    let inv = Inventory::load_dir(&dir).unwrap();
    // The fixture's user documents carry no LoginProfile/AccessKeys: the report says.
    let expected: BTreeSet<String> = inv
        .of_type("aws.iam.credential_report_row")
        .filter(|d| {
            [
                "password_enabled",
                "access_key_1_active",
                "access_key_2_active",
            ]
            .iter()
            .any(|k| d.raw[*k] == "true")
        })
        .map(|d| format!("iam-user:{}", d.id))
        .collect();
    assert!(!expected.is_empty());
    let mut d = Discoverer::new(Catalog::builtin().unwrap(), DiscoveryOptions::default());
    d.add_inventory(&inv);
    let r = d.finish();
    let got: BTreeSet<String> = r
        .apps
        .iter()
        .filter(|a| a.kind == AppKind::IamUser)
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(got, expected);
    assert!(r.apps.iter().all(|a| a.bypasses_trustplane));
}

#[test]
fn federated_sign_ins_azure_activity_guests_and_service_principals() {
    let mut d = Discoverer::new(Catalog::builtin().unwrap(), DiscoveryOptions::default());
    let okta = format!("arn:aws:iam::{ACCT}:saml-provider/Okta");
    for (user, t) in [
        ("ada@corp", "2024-01-01T10:00:00Z"),
        ("bob@corp", "2024-01-02T10:00:00Z"),
    ] {
        assert!(d.add_cloud_record(&json!({
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithSAML", "eventTime": t,
            "recipientAccountId": ACCT,
            "userIdentity": {"type": "SAMLUser", "principalId": format!("x:{user}"), "userName": user, "identityProvider": okta}
        })));
    }
    assert!(d.add_cloud_record(&json!({
        "operationName": {"value": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"},
        "caller": "ada@corp.example", "time": "2024-02-01T00:00:00Z",
        "resourceId": "/subscriptions/SUB-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
    })));
    assert!(!d.add_cloud_record(&json!({"category": "SignInLogs"})));
    let tenant = "tenant-1";
    let azure = |t: &str, id: &str, raw: Value| {
        ResourceDoc::new(Provider::Azure, tenant, "global", t, id, id, raw)
    };
    d.add_inventory(&Inventory::from_docs([
        azure("azure.entra.user", "u1", json!({"userType": "Guest", "userPrincipalName": "eve_partner.com#EXT#@corp.onmicrosoft.com"})),
        azure("azure.entra.user", "u2", json!({"userType": "Member", "userPrincipalName": "ada@corp.example"})),
        azure("azure.entra.service_principal", "sp1", json!({"appId": "app-1", "displayName": "Vendor CRM", "appOwnerOrganizationId": "other-tenant",
            "oauth2PermissionGrants": [{"scope": "User.Read Mail.Read"}]})),
    ]));
    let r = d.finish();
    let idp = app(&r, &format!("idp:{okta}"));
    assert_eq!(idp.users, vec!["ada@corp", "bob@corp"]);
    assert_eq!(
        (idp.events, idp.last_seen.as_deref()),
        (2, Some("2024-01-02T10:00:00Z"))
    );
    let rp = app(&r, "azure-rp:sub-1:microsoft.compute");
    assert_eq!(
        (rp.kind, rp.users.clone()),
        (
            AppKind::AzureResourceProvider,
            vec!["ada@corp.example".to_string()]
        )
    );
    let guest = app(&r, "azure-guest:tenant-1:u1");
    assert_eq!(guest.kind, AppKind::Guest);
    assert!(!r.apps.iter().any(|a| a.id == "azure-guest:tenant-1:u2"));
    let sp = app(&r, "azure-sp:tenant-1:app-1");
    assert_eq!(sp.details["thirdParty"], true);
    assert!(sp.details["oauth2PermissionGrants"].is_array());
}
