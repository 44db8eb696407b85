//! A node with the real AWS collector and S3 reader against the moto emulator, on a clock the
//! tests move: an S3 log source raises an alert naming the person and never reads an object
//! twice; a connected account is scanned by the scheduled job, a fixed resource's finding is
//! resolved by the next scan, and a collection that fails is an ERROR scan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../aws/tests/common/mod.rs"]
mod common;

/// Just-in-time cloud roles (`tests/pim/`).
#[path = "pim/mod.rs"]
mod pim;

/// Outbound provisioning into IAM Identity Center (`tests/provisioning/`).
#[path = "provisioning/mod.rs"]
mod provisioning;

use std::net::SocketAddr;
use std::sync::Arc;

use common::seed::{self, R1, R2, R3};
use common::trail::{self, describe_instances, envelope, gzip, stop_logging};
use common::{test_credentials, Moto, ACCOUNT};
use reqwest::Method;
use serde_json::{json, Value};
use trustplane_authn::SessionPolicy;
use trustplane_detect::ReadLimits;
use trustplane_model::{Actor, AssignmentKind, BuiltinRole, ManualClock};
use trustplane_server::detection::IngestLimits;
use trustplane_server::{app, AppState, NodeSettings};
use trustplane_store::{NewAssignment, NewUser, Store};

const T0: i64 = 1_790_000_000_000;
const TOKEN: &str = "tp_cloud_node_test_token_0123456789abcdefghijklmnop";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const BUCKET: &str = "trail-logs";

struct Node {
    base: String,
    store: Store,
    clock: ManualClock,
    state: AppState,
    dir: tempfile::TempDir,
}

fn settings(dir: &std::path::Path) -> NodeSettings {
    NodeSettings {
        public_url: Some("http://localhost:8080".into()),
        master_key: Some(KEY.into()),
        master_key_file: dir.join("unused.key"),
        trusted_proxies: Vec::new(),
        sessions: SessionPolicy::default(),
        issuer: "Trustplane".into(),
        geoip_database: None,
        detection_rules: vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/sigma/rules/cloud/aws")],
        limits: Default::default(),
        ingest_limits: IngestLimits {
            object: OBJECT_LIMITS,
            ..Default::default()
        },
    }
}

/// Small enough that a test can build an object over them cheaply.
const OBJECT_LIMITS: ReadLimits = ReadLimits {
    max_inflated_bytes: 1024 * 1024,
    max_records: 1000,
    ..ReadLimits::OBJECT
};

/// The state of a node on the database in `dir` (a second call is a restarted node).
async fn state(dir: &std::path::Path, clock: &ManualClock) -> (Store, AppState) {
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let state = AppState::new(store.clone(), &settings(dir), "http://localhost:8080")
        .await
        .unwrap()
        .with_cloud(
            trustplane_cloud::connectors_with(OBJECT_LIMITS),
            trustplane_cloud::grants(),
        );
    (store, state)
}

async fn node() -> Node {
    test_credentials();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (store, state) = state(dir.path(), &clock).await;
    let admin = store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: "root@example.com".into(),
                display_name: "Root".into(),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: admin.id.clone(),
                role_definition_id: BuiltinRole::GlobalAdministrator.id().into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    store
        .create_api_token(
            &Actor::system(),
            &admin.id,
            &trustplane_authn::hash_session_token(TOKEN),
            "test",
            None,
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = app(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Node {
        base: format!("http://127.0.0.1:{port}"),
        store,
        clock,
        state,
        dir,
    }
}

async fn api(n: &Node, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    api_as(n, TOKEN, method, path, body).await
}

/// A call with someone's own token.
async fn api_as(
    n: &Node,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", n.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn person(n: &Node, upn: &str) -> String {
    n.store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: upn.into(),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn audit_activities(n: &Node) -> Vec<String> {
    let (_, a) = api(n, Method::GET, "/api/v1/audit?$top=500", None).await;
    a["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["activity"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_log_source_raises_an_alert_naming_the_person_and_reads_each_object_once() {
    let n = node().await;
    let Some(moto) = Moto::start() else { return };
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        ..Default::default()
    })
    .await;
    trail::create_bucket(&conf, BUCKET).await;
    let ada = person(&n, "ada@example.com").await;
    let prefix = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/");
    let source = json!({
        "bucket": BUCKET, "prefix": prefix, "region": "us-east-1",
        "endpointUrl": moto.url, "pollIntervalSecs": 60,
    });

    // Bad input is refused with a problem naming the field, and adds nothing.
    for (patch, field) in [
        (json!({"bucket": "Bad_Bucket"}), "bucket"),
        (json!({"pollIntervalSecs": 5}), "pollIntervalSecs"),
        (json!({"region": "not a region"}), "region"),
        (json!({"roleArn": "arn:aws:iam::1:user/x"}), "roleArn"),
        (json!({"endpointUrl": "ftp://x"}), "endpointUrl"),
    ] {
        let mut body = source.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, problem) = api(&n, Method::POST, "/api/v1/detect/sources", Some(body)).await;
        assert_eq!(st, 400, "{field}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let mut unknown = source.clone();
    unknown["secretAccessKey"] = json!("x");
    let (st, _) = api(&n, Method::POST, "/api/v1/detect/sources", Some(unknown)).await;
    assert_eq!(st, 400);
    let (_, list) = api(&n, Method::GET, "/api/v1/detect/sources", None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 0);

    let (st, created) = api(&n, Method::POST, "/api/v1/detect/sources", Some(source)).await;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(audit_activities(&n)
        .await
        .contains(&"logSource.create".to_string()));

    // Two objects: a harmless read and a StopLogging by Ada's federated session.
    let keys: Vec<String> = (0..6)
        .map(|i| trail::key(ACCOUNT, "us-east-1", i))
        .collect();
    let at = "2026-11-28T10:00:00Z";
    trail::put(
        &conf,
        BUCKET,
        &keys[0],
        gzip(&envelope(&[describe_instances(
            "ada@example.com",
            ACCOUNT,
            at,
        )])),
    )
    .await;
    trail::put(
        &conf,
        BUCKET,
        &keys[1],
        gzip(&envelope(&[stop_logging("ada@example.com", ACCOUNT, at)])),
    )
    .await;

    let polled = n.state.cloud.poll_due().await.unwrap();
    assert_eq!(polled.len(), 1);
    let report = &polled[0].1;
    assert_eq!(
        (report.objects, report.records, report.malformed),
        (2, 2, 0),
        "{report:?}"
    );
    // SigmaHQ's rule for the StopLogging, and Trustplane's own rules about Ada's activity
    // (an address she never signed in from): every alert names her.
    let (_, alerts) = api(&n, Method::GET, "/api/v1/alerts", None).await;
    let alerts = alerts["value"].as_array().unwrap().clone();
    assert_eq!(report.new_alerts.len(), alerts.len(), "{report:?}");
    assert!(
        alerts
            .iter()
            .all(|a| a["personId"] == ada.as_str() && a["personUpn"] == "ada@example.com"),
        "{alerts:?}"
    );
    let important = |alerts: &[Value]| {
        let found: Vec<Value> = alerts
            .iter()
            .filter(|a| a["ruleTitle"] == "AWS CloudTrail Important Change")
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "{alerts:?}");
        found[0].clone()
    };
    let stop = important(&alerts);
    assert!(stop["ruleAuthor"].as_str().is_some_and(|a| !a.is_empty()));
    assert_eq!(stop["hits"], 1);
    assert_eq!(stop["records"][0]["eventName"], "StopLogging");
    let (_, s) = api(
        &n,
        Method::GET,
        &format!("/api/v1/detect/sources/{id}"),
        None,
    )
    .await;
    assert_eq!(s["lastKey"], keys[1].as_str());
    assert_eq!(
        (s["objectsRead"].as_i64(), s["recordsRead"].as_i64()),
        (Some(2), Some(2))
    );

    // Not due again until the interval has passed on the clock.
    assert!(n.state.cloud.poll_due().await.unwrap().is_empty());

    // A new object and a damaged one after it: the new one is read, the damaged one is tried
    // at three polls, then given up on, counted, and the source moves on.
    trail::put(
        &conf,
        BUCKET,
        &keys[2],
        gzip(&envelope(&[
            stop_logging("ada@example.com", ACCOUNT, at),
            describe_instances("ada@example.com", ACCOUNT, at),
        ])),
    )
    .await;
    trail::put(&conf, BUCKET, &keys[3], vec![0x1f, 0x8b, 8, 0, 9, 9, 9]).await;
    n.clock.advance_ms(61_000);
    let report = n.state.cloud.poll_due().await.unwrap().remove(0).1;
    assert_eq!(
        (report.objects, report.records),
        (1, 2),
        "only the new object: {report:?}"
    );
    assert_eq!(report.retrying.as_deref(), Some(keys[3].as_str()));
    assert!(report.new_alerts.is_empty(), "folded into the open alert");
    let (_, alert) = api(
        &n,
        Method::GET,
        &format!("/api/v1/alerts/{}", stop["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(alert["hits"], 2, "{alert}");
    for attempt in 2..=3 {
        n.clock.advance_ms(61_000);
        let report = n.state.cloud.poll_due().await.unwrap().remove(0).1;
        assert_eq!(report.objects, 0);
        if attempt < 3 {
            assert_eq!(report.retrying.as_deref(), Some(keys[3].as_str()));
        } else {
            assert_eq!(report.given_up, [keys[3].clone()]);
            assert_eq!(report.last_key.as_deref(), Some(keys[3].as_str()));
        }
    }
    let (_, s) = api(
        &n,
        Method::GET,
        &format!("/api/v1/detect/sources/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (
            s["objectsRead"].as_i64(),
            s["objectsFailed"].as_i64(),
            s["recordsRead"].as_i64()
        ),
        (Some(3), Some(1), Some(4)),
        "{s}"
    );
    assert!(s["lastError"].as_str().unwrap().contains(&keys[3]), "{s}");
    assert!(s["failingKey"].is_null());

    // A restarted node (same database, new process state) resumes after the last key: the
    // acknowledged objects are not read again, the new one is.
    trail::put(
        &conf,
        BUCKET,
        &keys[4],
        gzip(&envelope(&[describe_instances(
            "ada@example.com",
            ACCOUNT,
            at,
        )])),
    )
    .await;
    let (_, restarted) = state(n.dir.path(), &n.clock).await;
    n.clock.advance_ms(61_000);
    let report = restarted.cloud.poll_due().await.unwrap().remove(0).1;
    assert_eq!((report.objects, report.records), (1, 1), "{report:?}");
    assert_eq!(report.last_key.as_deref(), Some(keys[4].as_str()));

    // A decompression bomb (4 MiB of records in a few KiB, over the 1 MiB cap): skipped at
    // once rather than retried, as it would be refused again; the skip is counted on the
    // source and audited, and the poller goes on.
    let record = envelope(&[stop_logging("ada@example.com", ACCOUNT, at)]);
    let bomb = gzip(&record.repeat(4 * 1024 * 1024 / record.len()));
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    trail::put(&conf, BUCKET, &keys[5], bomb).await;
    n.clock.advance_ms(61_000);
    let report = restarted.cloud.poll_due().await.unwrap().remove(0).1;
    assert_eq!(report.objects, 0, "{report:?}");
    assert_eq!(report.given_up, [keys[5].clone()], "{report:?}");
    assert_eq!(report.retrying, None);
    assert_eq!(report.last_key.as_deref(), Some(keys[5].as_str()));
    let (_, s) = api(
        &n,
        Method::GET,
        &format!("/api/v1/detect/sources/{id}"),
        None,
    )
    .await;
    assert_eq!(s["objectsFailed"].as_i64(), Some(2), "{s}");
    let error = s["lastError"].as_str().unwrap();
    // Parsed as it inflates, it meets the records cap (1000) before the 1 MiB one.
    assert!(
        error.contains(&keys[5])
            && (error.contains("larger than 1048576 bytes")
                || error.contains("more than 1000 records")),
        "{s}"
    );
    let (_, skipped) = api(
        &n,
        Method::GET,
        "/api/v1/audit?activity=logSource.objectSkipped",
        None,
    )
    .await;
    let skipped = skipped["value"].as_array().unwrap().clone();
    assert_eq!(
        skipped.len(),
        2,
        "the damaged object and the bomb: {skipped:?}"
    );
    assert_eq!(skipped[1]["after"]["key"], keys[5].as_str());

    // Polled on demand through the API: nothing new, and the request is audited.
    let (st, r) = api(
        &n,
        Method::POST,
        &format!("/api/v1/detect/sources/{id}/poll"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["objects"], 0);
    assert!(audit_activities(&n)
        .await
        .contains(&"logSource.poll".to_string()));
    let (_, after) = api(&n, Method::GET, "/api/v1/alerts", None).await;
    let after = after["value"].as_array().unwrap().clone();
    assert_eq!(after.len(), alerts.len(), "no new alert");
    assert_eq!(important(&after)["hits"], 2, "nothing was read twice");

    let (st, _) = api(
        &n,
        Method::DELETE,
        &format!("/api/v1/detect/sources/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = api(
        &n,
        Method::POST,
        &format!("/api/v1/detect/sources/{id}/poll"),
        None,
    )
    .await;
    assert_eq!(st, 404);
}

fn finding_ids(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_account_is_scanned_on_schedule_and_a_fixed_resource_is_resolved() {
    let n = node().await;
    let Some(moto) = Moto::start() else { return };
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        ..Default::default()
    })
    .await;
    let seeded = seed::seed(&conf).await;

    let (st, _) = api(
        &n,
        Method::PUT,
        "/api/v1/posture/schedule",
        Some(json!({"intervalSecs": 10})),
    )
    .await;
    assert_eq!(st, 400);
    let (st, s) = api(
        &n,
        Method::PUT,
        "/api/v1/posture/schedule",
        Some(json!({"intervalSecs": 3600})),
    )
    .await;
    assert_eq!(st, 200, "{s}");
    let (_, s) = api(&n, Method::GET, "/api/v1/posture/schedule", None).await;
    assert_eq!(s["intervalSecs"], 3600);

    let aws = json!({
        "provider": "aws", "accountId": ACCOUNT, "displayName": "emulated",
        "regions": [R1, R2, R3], "endpointUrl": moto.url,
    });
    for (body, field) in [
        (json!({"provider": "gcp", "accountId": ACCOUNT}), "provider"),
        (json!({"provider": "aws", "accountId": "12"}), "accountId"),
        (
            json!({"provider": "aws", "accountId": ACCOUNT, "roleArn": "arn:aws:iam::999999999999:role/x"}),
            "roleArn",
        ),
        (
            json!({"provider": "aws", "accountId": ACCOUNT, "clientSecret": "x"}),
            "clientSecret",
        ),
        (
            json!({"provider": "azure", "subscriptionId": "00000000-0000-0000-0000-000000000001", "tenantId": "00000000-0000-0000-0000-000000000002", "clientId": "00000000-0000-0000-0000-000000000003"}),
            "clientSecret",
        ),
        (
            json!({"provider": "azure", "subscriptionId": "nope", "tenantId": "00000000-0000-0000-0000-000000000002", "clientId": "00000000-0000-0000-0000-000000000003", "clientSecret": "s"}),
            "subscriptionId",
        ),
    ] {
        let (st, problem) = api(&n, Method::POST, "/api/v1/posture/accounts", Some(body)).await;
        assert_eq!(st, 400, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (st, account) = api(
        &n,
        Method::POST,
        "/api/v1/posture/accounts",
        Some(aws.clone()),
    )
    .await;
    assert_eq!(st, 201, "{account}");
    let aws_id = account["id"].as_str().unwrap().to_string();
    let (st, _) = api(&n, Method::POST, "/api/v1/posture/accounts", Some(aws)).await;
    assert_eq!(st, 409, "connected once");
    // An Azure subscription whose token service is down: its scans are ERROR.
    let down = format!("http://127.0.0.1:{}", common::free_port());
    let secret = "azure-client-secret-value-42";
    let (st, azure) = api(&n, Method::POST, "/api/v1/posture/accounts", Some(json!({
        "provider": "azure", "subscriptionId": "00000000-0000-0000-0000-0000000000AA",
        "tenantId": "00000000-0000-0000-0000-000000000002", "clientId": "00000000-0000-0000-0000-000000000003",
        "clientSecret": secret, "loginEndpoint": down, "armEndpoint": down, "graphEndpoint": down,
    }))).await;
    assert_eq!(st, 201, "{azure}");
    assert_eq!(azure["hasSecret"], true);
    assert_eq!(azure["account"], "00000000-0000-0000-0000-0000000000aa");
    let azure_id = azure["id"].as_str().unwrap().to_string();
    let (_, listed) = api(&n, Method::GET, "/api/v1/posture/accounts", None).await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 2);
    let (_, audit) = api(&n, Method::GET, "/api/v1/audit?$top=500", None).await;
    for text in [listed.to_string(), audit.to_string()] {
        assert!(
            !text.contains(secret),
            "the client secret is never returned"
        );
    }
    // Sealed at rest.
    let (_, sealed) = n.store.cloud_account_with_secret(&azure_id).await.unwrap();
    assert!(!sealed.unwrap().contains(secret));

    // The job scans both (never scanned: due).
    let scans = n.state.cloud.scan_due().await.unwrap();
    assert_eq!(scans.len(), 2);
    let (_, a) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/accounts/{aws_id}/scans"),
        None,
    )
    .await;
    let first = &a["value"][0];
    assert_eq!(first["status"], "PARTIAL", "{a}");
    assert!(
        first["error"].as_str().unwrap().contains("securityhub"),
        "{a}"
    );
    assert!(first["summary"]["new"].as_u64().unwrap() > 100, "{a}");
    let (_, z) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/accounts/{azure_id}/scans"),
        None,
    )
    .await;
    assert_eq!(z["value"][0]["status"], "ERROR", "{z}");
    assert!(z["value"][0]["summary"].is_null());
    assert!(!z["value"][0]["error"].as_str().unwrap().is_empty());
    let (_, zacc) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/accounts/{azure_id}"),
        None,
    )
    .await;
    assert_eq!(zacc["lastStatus"], "ERROR");
    let (_, none) = api(
        &n,
        Method::GET,
        "/api/v1/posture/findings?account=00000000-0000-0000-0000-0000000000aa",
        None,
    )
    .await;
    assert!(
        none["value"].as_array().unwrap().is_empty(),
        "a failed collection records no finding"
    );

    let check = "ec2_securitygroup_admin_ports_open_ipv4";
    let (_, open) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/findings?status=FAIL&check={check}&account={ACCOUNT}"),
        None,
    )
    .await;
    let open_ids = finding_ids(&open);
    assert!(
        open_ids.iter().any(|i| i.contains(&seeded.sg_ssh_open)),
        "{open_ids:?}"
    );
    let first_seen = open["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["resource"]["id"]
                .as_str()
                .unwrap()
                .contains(&seeded.sg_ssh_open)
        })
        .unwrap()["firstSeen"]
        .clone();

    // Not due before the interval.
    n.clock.advance_ms(3_000_000);
    assert!(n.state.cloud.scan_due().await.unwrap().is_empty());

    // Close SSH to the world, move past the interval: the next scheduled scan resolves it.
    aws_sdk_ec2::Client::new(
        &conf
            .to_builder()
            .region(aws_config::Region::new(R1))
            .build(),
    )
    .revoke_security_group_ingress()
    .group_id(&seeded.sg_ssh_open)
    .ip_permissions(seed::ingress("tcp", 22, Some("0.0.0.0/0"), None))
    .send()
    .await
    .unwrap();
    n.clock.advance_ms(700_000);
    let scans = n.state.cloud.scan_due().await.unwrap();
    assert_eq!(scans.len(), 2);
    let (_, now) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/findings?check={check}&account={ACCOUNT}"),
        None,
    )
    .await;
    let fixed = now["value"].as_array().unwrap().iter().find(|f| {
        f["resource"]["id"]
            .as_str()
            .unwrap()
            .contains(&seeded.sg_ssh_open)
    });
    let fixed = fixed.unwrap_or_else(|| panic!("no finding: {now}"));
    assert_eq!(fixed["state"], "PASS", "{fixed}");
    assert!(fixed["resolvedAt"].is_string(), "{fixed}");
    assert_eq!(fixed["firstSeen"], first_seen);
    let (_, still) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/findings?status=FAIL&check={check}&account={ACCOUNT}"),
        None,
    )
    .await;
    assert_eq!(
        finding_ids(&still).len(),
        open_ids.len() - 1,
        "only the fixed group changed"
    );
    let (_, a) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/accounts/{aws_id}/scans"),
        None,
    )
    .await;
    assert_eq!(a["value"].as_array().unwrap().len(), 2);
    assert!(
        a["value"][0]["summary"]["resolved"].as_u64().unwrap() >= 1,
        "{a}"
    );
    let activities = audit_activities(&n).await;
    for want in [
        "cloudAccount.create",
        "scanSchedule.update",
        "cloudAccount.scan",
        "scan.complete",
    ] {
        assert!(activities.contains(&want.to_string()), "{want} audited");
    }

    // Disconnected: gone from the API, its findings stay.
    let (st, _) = api(
        &n,
        Method::DELETE,
        &format!("/api/v1/posture/accounts/{azure_id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = api(
        &n,
        Method::GET,
        &format!("/api/v1/posture/accounts/{azure_id}"),
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = api(
        &n,
        Method::POST,
        &format!("/api/v1/posture/accounts/{azure_id}/scan"),
        None,
    )
    .await;
    assert_eq!(st, 404);
}
