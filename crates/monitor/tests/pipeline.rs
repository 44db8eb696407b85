//! The detection pipeline without an HTTP server: a store on SQLite in a temporary folder, a
//! clock the tests move, and records handed straight to [`Detection`].
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Value};
use trustplane_detect::ReadLimits;
use trustplane_keyring::Sealer;
use trustplane_model::{
    ActivationRequest, Actor, AssignmentKind, Event, ManualClock, Outcome, RequestState,
    RoleDefinition, RoleResource, Target,
};
use trustplane_monitor::timeline::{
    person_timeline, ExportFormat, Source, Subject, TimelineError, TimelineQuery,
};
use trustplane_monitor::{Detection, IngestError, IngestLimits};
use trustplane_store::{Alert, NewAssignment, NewUser, ResponsePolicy, Store, StoreError};

const T0: i64 = 1_790_000_000_000;
const HOUR_MS: i64 = 60 * 60 * 1000;
/// 32 zero bytes, base64url: a master key for tests.
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct Node {
    store: Store,
    clock: ManualClock,
    detection: Detection,
    _dir: tempfile::TempDir,
}

/// A rule of our own beside the built-in ones, so the tests do not depend on SigmaHQ's.
const STOP_LOGGING_RULE: &str = r#"
title: CloudTrail Logging Stopped
id: 0b6a3c52-8f0e-4d7a-9a61-2f4b1c9d7e10
status: test
author: Trustplane tests
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: cloudtrail.amazonaws.com
        eventName: StopLogging
    condition: selection
level: high
"#;

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("stop_logging.yml"), STOP_LOGGING_RULE).unwrap();
    let clock = ManualClock::new(T0);
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let sealer = Sealer::from_base64(KEY).unwrap();
    let detection =
        Detection::new(store.clone(), sealer, &[rules], IngestLimits::default()).unwrap();
    Node {
        store,
        clock,
        detection,
        _dir: dir,
    }
}

/// The alert among `ids` raised by the rule titled `title`.
async fn titled(store: &Store, ids: &[String], title: &str) -> Alert {
    for id in ids {
        let alert = store.get_alert(id).await.unwrap();
        if alert.rule_title == title {
            return alert;
        }
    }
    panic!("no alert of `{title}` among {ids:?}")
}

async fn person(store: &Store, upn: &str) -> String {
    store
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

/// A CloudTrail `StopLogging` by a federated session named after the person: the test rule
/// matches it.
fn stop_logging_by(session_name: &str) -> Vec<u8> {
    stop_logging_at(session_name, "2026-11-28T10:00:00Z")
}

/// The same, at an event time of its own.
fn stop_logging_at(session_name: &str, event_time: &str) -> Vec<u8> {
    json!({"Records": [{
        "eventVersion": "1.08",
        "eventTime": event_time,
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE:{session_name}"),
            "arn": format!("arn:aws:sts::111122223333:assumed-role/Admin/{session_name}"),
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin", "userName": "Admin"}}
        },
        "requestParameters": {"name": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"},
        "responseElements": null,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    }]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_cloud_record_is_resolved_to_its_person_and_folded_into_one_alert_per_window() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;

    let first = n
        .detection
        .ingest(
            stop_logging_by("ADA@example.com"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert_eq!((first.records, first.resolved, first.malformed), (1, 1, 0));
    // The test rule, and the built-in rule on an address the person never signed in from.
    assert_eq!((first.matches, first.new_alerts.len()), (2, 2), "{first:?}");
    let alert = titled(&n.store, &first.new_alerts, "CloudTrail Logging Stopped").await;
    assert_eq!(alert.level, "high");
    assert_eq!(alert.person_id.as_deref(), Some(ada.as_str()));
    assert_eq!(alert.person_upn.as_deref(), Some("ada@example.com"));
    // The evidence carries what the pipeline learnt about the record.
    assert_eq!(alert.records[0]["trustplane"]["person"], json!(ada));
    assert_eq!(
        alert.records[0]["trustplane"]["ipSeenInSignIns"],
        json!(false)
    );

    // The alert is dated by the event, not by when the log arrived.
    assert_eq!(
        alert.first_seen.to_string(),
        "2026-11-28 10:00:00.0 +00:00:00"
    );

    // Within the hour (of event time) the same rule and person fold into the open alert,
    // which is last seen when the later event happened.
    n.clock.advance_ms(3 * HOUR_MS);
    let again = n
        .detection
        .ingest(
            stop_logging_at("ada@example.com", "2026-11-28T10:30:00Z"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(again.new_alerts.is_empty(), "{again:?}");
    let folded = n.store.get_alert(&alert.id).await.unwrap();
    assert_eq!(folded.hits, 2);
    assert_eq!(
        folded.last_seen.to_string(),
        "2026-11-28 10:30:00.0 +00:00:00"
    );
    assert_eq!(folded.first_seen, alert.first_seen);

    // An event more than the window after the last one opens a new alert, however soon it
    // arrives.
    let later = n
        .detection
        .ingest(
            stop_logging_at("ada@example.com", "2026-11-28T11:31:00Z"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert_eq!(later.new_alerts.len(), 2, "{later:?}");
    assert!(!later.new_alerts.contains(&alert.id));

    // Each resolved record is on the person's timeline.
    let aws = TimelineQuery {
        sources: vec![Source::Aws],
        top: 10,
        ..Default::default()
    };
    let page = person_timeline(&n.store, &ada, &aws).await.unwrap();
    assert_eq!(page.value.len(), 3, "{page:?}");
}

#[tokio::test]
async fn a_record_of_nobody_known_still_raises_an_alert_without_a_person() {
    let n = node().await;
    let report = n
        .detection
        .ingest(stop_logging_by("stranger"), "trail.json", ReadLimits::PUSH)
        .await
        .unwrap();
    assert_eq!(report.resolved, 0);
    let alert = n.store.get_alert(&report.new_alerts[0]).await.unwrap();
    assert_eq!(alert.person_id, None);
    // Actions on a person have nobody to act on; they are recorded as such.
    let outcome = n
        .detection
        .act(&Actor::system(), &alert, "disableUser", None, None)
        .await
        .unwrap();
    assert_eq!(outcome, "no person to act on");
}

#[tokio::test]
async fn an_automatic_policy_disables_the_person_and_records_the_response() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    n.store
        .add_response_policy(
            &Actor::system(),
            ResponsePolicy {
                id: String::new(),
                min_level: "informational".into(),
                rule_id: None,
                action: "disableUser".into(),
                automatic: true,
                webhook_url: None,
            },
            None,
        )
        .await
        .unwrap();
    let report = n
        .detection
        .ingest(
            stop_logging_by("ada@example.com"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(!n.store.get_user(&ada).await.unwrap().account_enabled);
    let alert = titled(&n.store, &report.new_alerts, "CloudTrail Logging Stopped").await;
    assert_eq!(alert.responses.len(), 1, "{:?}", alert.responses);
    let response: &Value = &alert.responses[0];
    assert!(response.to_string().contains("user disabled"), "{response}");
}

#[tokio::test]
async fn an_unknown_action_is_refused() {
    let n = node().await;
    let report = n
        .detection
        .ingest(stop_logging_by("someone"), "trail.json", ReadLimits::PUSH)
        .await
        .unwrap();
    let alert = n.store.get_alert(&report.new_alerts[0]).await.unwrap();
    let e = n
        .detection
        .act(&Actor::system(), &alert, "explode", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Invalid {
                field: "action",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn data_over_a_limit_is_refused_whole_and_leaves_nothing_behind() {
    let n = node().await;
    let tight = ReadLimits {
        max_inflated_bytes: 1024 * 1024,
        max_records: 2,
        ..ReadLimits::PUSH
    };
    let mut three = Vec::new();
    for _ in 0..3 {
        three.extend(
            serde_json::from_slice::<Value>(&stop_logging_by("x")).unwrap()["Records"][0]
                .to_string()
                .into_bytes(),
        );
        three.push(b'\n');
    }
    match n.detection.ingest(three, "many.ndjson", tight).await {
        Err(IngestError::Read(e)) => assert!(e.is_over_limit(), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(n
        .store
        .list_alerts(None, None, 10)
        .await
        .unwrap()
        .is_empty());

    // Unreadable lines are counted, the readable ones processed.
    let mixed = b"{\"eventName\":\"x\"}\nnot json\n".to_vec();
    let report = n
        .detection
        .ingest(mixed, "mixed.ndjson", ReadLimits::PUSH)
        .await
        .unwrap();
    assert_eq!((report.records, report.malformed), (1, 1));
}

#[tokio::test]
async fn own_sign_in_events_are_read_once_and_resolved_to_who_signed_in() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    n.store
        .record_event(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "signIn".into(),
            activity: "signIn.password".into(),
            initiated_by: Actor {
                id: ada.clone(),
                display_name: Some("ada@example.com".into()),
                ip_address: Some("192.0.2.1".into()),
                user_agent: None,
            },
            target: Some(Target {
                kind: "user".into(),
                id: ada.clone(),
                display_name: None,
            }),
            result: Outcome::Failure,
            result_reason: Some("invalid password".into()),
            before: None,
            after: None,
        })
        .await
        .unwrap();
    let first = n.detection.process_own_events().await.unwrap();
    assert_eq!((first.records, first.resolved), (1, 1), "{first:?}");
    // The cursor moved past it: nothing is read twice.
    let second = n.detection.process_own_events().await.unwrap();
    assert_eq!(second.records, 0, "{second:?}");
}

/// An audit entry at the clock's time: `actor` did `activity` to `target`, with `after`.
async fn audit(
    n: &Node,
    category: &str,
    activity: &str,
    actor: &str,
    target: &str,
    after: Option<Value>,
) {
    n.store
        .record_event(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: category.into(),
            activity: activity.into(),
            initiated_by: Actor {
                id: actor.into(),
                display_name: None,
                ip_address: Some("192.0.2.10".into()),
                user_agent: None,
            },
            target: Some(Target {
                kind: "object".into(),
                id: target.into(),
                display_name: None,
            }),
            result: Outcome::Success,
            result_reason: None,
            before: None,
            after,
        })
        .await
        .unwrap();
}

/// The first record named `event` of a Stratus Red Team recording, as if `session` (a role
/// session Trustplane issued) had made it at `at`.
fn stratus_as(session: &str, file: &str, event: &str, at: i64) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/logs/stratus-red-team")
        .join(file);
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut record = records
        .into_iter()
        .find(|r| r["eventName"] == event)
        .unwrap();
    let account = record["recipientAccountId"].as_str().unwrap().to_string();
    record["eventTime"] = json!(rfc3339(at));
    record["userIdentity"] = json!({
        "type": "AssumedRole",
        "principalId": format!("AROAEXAMPLE:{session}"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/Admin/{session}"),
        "accountId": account,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/Admin"), "userName": "Admin"}}
    });
    json!({ "Records": [record] }).to_string().into_bytes()
}

fn rfc3339(ms: i64) -> String {
    trustplane_model::from_ms(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Ada's day: a sign-in, a SAML response, a PIM activation the system started (the request is
/// its target, Ada only its body's principal), two recorded attacks by her AWS role session,
/// and an administrator disabling her. Bob's sign-in in between is not hers.
async fn adas_day(n: &Node) -> (String, String) {
    let ada = person(&n.store, "ada@example.com").await;
    let bob = person(&n.store, "bob@example.com").await;
    audit(n, "signIn", "signIn", &ada, "trustplane", None).await;
    n.clock.advance_ms(60_000);
    audit(n, "signIn", "signIn", &bob, "trustplane", None).await;
    audit(n, "federation", "saml.response", &ada, "aws-console", None).await;
    n.clock.advance_ms(60_000);
    let request = json!({ "principalId": ada, "roleDefinitionId": "aws-admin" });
    audit(
        n,
        "pim",
        "pim.activation.start",
        "system",
        "request-1",
        Some(request),
    )
    .await;
    // Stratus Red Team's recorded attacks, re-attributed to Ada's role session, 3 and 4
    // minutes after her sign-in.
    for (minute, file, event) in [
        (3, "aws.defense-evasion.cloudtrail-stop.json", "StopLogging"),
        (
            4,
            "aws.credential-access.secretsmanager-retrieve-secrets.json",
            "ListSecrets",
        ),
    ] {
        let record = stratus_as("ada@example.com", file, event, T0 + minute * 60_000);
        n.detection
            .ingest(record, "stratus.json", ReadLimits::PUSH)
            .await
            .unwrap();
    }
    n.clock.advance_ms(5 * 60_000);
    audit(n, "directory", "user.disable", "admin-1", &ada, None).await;
    (ada, bob)
}

#[tokio::test]
async fn a_timeline_merges_trustplane_and_cloud_in_time_order_with_only_the_persons_entries() {
    let n = node().await;
    let (ada, _bob) = adas_day(&n).await;
    let all = TimelineQuery {
        top: 100,
        ..Default::default()
    };
    let page = person_timeline(&n.store, &ada, &all).await.unwrap();
    // The alerts the CloudTrail calls raised are about Ada too.
    assert!(
        page.value.iter().any(|e| e.activity == "alert.create"),
        "{page:?}"
    );
    let seen: Vec<(&str, &str)> = page
        .value
        .iter()
        .filter(|e| e.category != "detection")
        .map(|e| (e.source.as_str(), e.activity.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("trustplane", "user.create"),
            ("trustplane", "signIn"),
            ("trustplane", "saml.response"),
            ("trustplane", "pim.activation.start"),
            ("aws", "StopLogging"),
            ("aws", "ListSecrets"),
            ("trustplane", "user.disable"),
        ]
    );
    assert!(page.next.is_none());
    let times: Vec<i64> = page.value.iter().map(|e| e.at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // Filters: by source, by category, by window.
    let cloud_only = TimelineQuery {
        categories: vec!["cloudActivity".into()],
        top: 100,
        ..Default::default()
    };
    let page = person_timeline(&n.store, &ada, &cloud_only).await.unwrap();
    assert_eq!(page.value.len(), 2);
    let pim_only = TimelineQuery {
        categories: vec!["pim".into()],
        top: 100,
        ..Default::default()
    };
    let page = person_timeline(&n.store, &ada, &pim_only).await.unwrap();
    assert_eq!(page.value.len(), 1);
    assert_eq!(page.value[0].activity, "pim.activation.start");
    let window = TimelineQuery::parse(
        Some(&rfc3339(T0 + 2 * 60_000)),
        Some(&rfc3339(T0 + 4 * 60_000)),
        None,
        None,
        None,
        None,
    )
    .unwrap();
    let page = person_timeline(&n.store, &ada, &window).await.unwrap();
    let seen: Vec<&str> = page
        .value
        .iter()
        .filter(|e| e.category != "detection")
        .map(|e| e.activity.as_str())
        .collect();
    assert_eq!(seen, ["pim.activation.start", "StopLogging"]);
}

#[tokio::test]
async fn a_timeline_read_in_pages_gives_every_entry_once() {
    let n = node().await;
    let (ada, _) = adas_day(&n).await;
    let whole = person_timeline(
        &n.store,
        &ada,
        &TimelineQuery {
            top: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for size in [1, 2, 4] {
        let mut q = TimelineQuery {
            top: size,
            ..Default::default()
        };
        let mut paged = Vec::new();
        loop {
            let page = person_timeline(&n.store, &ada, &q).await.unwrap();
            assert!(page.value.len() <= size);
            paged.extend(page.value);
            match page.next {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        let key = |e: &trustplane_monitor::timeline::TimelineEntry| (e.at, e.activity.clone());
        assert_eq!(
            paged.iter().map(key).collect::<Vec<_>>(),
            whole.value.iter().map(key).collect::<Vec<_>>(),
            "page size {size}"
        );
    }
}

#[tokio::test]
async fn bad_timeline_queries_are_refused_with_the_parameter_named() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    fn field<T: std::fmt::Debug>(r: Result<T, TimelineError>) -> &'static str {
        match r {
            Err(TimelineError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }
    let parse = |from, to, source, category, top| {
        TimelineQuery::parse(from, to, source, category, top, None)
    };
    assert_eq!(
        field(parse(Some("yesterday"), None, None, None, None)),
        "from"
    );
    let (t1, t2) = (rfc3339(T0), rfc3339(T0 + 1));
    assert_eq!(field(parse(Some(&t2), Some(&t1), None, None, None)), "to");
    assert_eq!(field(parse(None, None, Some("gcp"), None, None)), "source");
    assert_eq!(
        field(parse(None, None, Some("aws,aws,aws,aws"), None, None)),
        "source"
    );
    assert_eq!(
        field(parse(None, None, None, Some("a' OR 1=1"), None)),
        "category"
    );
    assert_eq!(field(parse(None, None, None, None, Some(0))), "top");
    assert_eq!(field(parse(None, None, None, None, Some(1001))), "top");
    assert_eq!(field(ExportFormat::parse("csv")), "format");
    for cursor in ["", "x", "1.2", "-1..", "1.2.a b", "1.x.abc"] {
        let q = TimelineQuery {
            top: 10,
            cursor: Some(cursor.into()),
            ..Default::default()
        };
        assert_eq!(
            field(person_timeline(&n.store, &ada, &q).await.map(|_| ())),
            "cursor",
            "{cursor:?}"
        );
    }
}

#[tokio::test]
async fn a_timeline_exports_as_ocsf_events_of_the_matching_classes() {
    let n = node().await;
    let (ada, _) = adas_day(&n).await;
    let page = person_timeline(
        &n.store,
        &ada,
        &TimelineQuery {
            top: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let subject = Subject {
        id: ada.clone(),
        upn: "ada@example.com".into(),
    };
    let entries: Vec<_> = page
        .value
        .into_iter()
        .filter(|e| e.category != "detection")
        .collect();
    let lines = ExportFormat::Ocsf.lines(&entries, &subject);
    let events: Vec<Value> = String::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let classes: Vec<(u64, u64)> = events
        .iter()
        .map(|e| {
            (
                e["class_uid"].as_u64().unwrap(),
                e["type_uid"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            (6003, 600301),
            (3002, 300201),
            (3002, 300299),
            (3005, 300501),
            (6003, 600399),
            (6003, 600302),
            (6003, 600303),
        ]
    );
    assert_eq!(events[1]["user"]["name"], "ada@example.com");
    assert_eq!(events[4]["cloud"]["provider"], "AWS");
    assert_eq!(events[4]["cloud"]["account"]["uid"], "143434273843");
    assert_eq!(events[4]["api"]["operation"], "StopLogging");
    assert_eq!(events[3]["privileges"], json!(["aws-admin"]));
    assert!(events.iter().all(|e| e["metadata"]["version"] == "1.3.0"));
    // NDJSON carries the entries as the API shows them, one per line.
    let ndjson = ExportFormat::Ndjson.lines(&entries, &subject);
    assert_eq!(ndjson.iter().filter(|b| **b == b'\n').count(), 7);
}

const ADMIN_ROLE_ARN: &str = "arn:aws:iam::111122223333:role/Admin";

/// An AWS role Trustplane hands out just in time (the role of the test's CloudTrail records),
/// with Ada eligible for it and one activation of hers that ran for the first hour after T0.
async fn admin_role_under_pim(n: &Node, ada: &str) -> (String, String) {
    let role = n
        .store
        .create_role_definition(
            &Actor::system(),
            RoleDefinition {
                id: String::new(),
                display_name: "AWS Admin".into(),
                description: String::new(),
                is_built_in: false,
                is_enabled: true,
                template_id: String::new(),
                role_permissions: Vec::new(),
                resource: Some(RoleResource::AwsSamlRole {
                    account_id: "111122223333".into(),
                    role_arn: ADMIN_ROLE_ARN.into(),
                    saml_provider_arn: "arn:aws:iam::111122223333:saml-provider/Trustplane".into(),
                    max_session_duration: 3600,
                }),
            },
        )
        .await
        .unwrap();
    let eligibility = n
        .store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: ada.into(),
                role_definition_id: role.id.clone(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Eligible,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    let request = ActivationRequest {
        id: "request-ada-1".into(),
        principal_id: ada.into(),
        role_definition_id: role.id.clone(),
        directory_scope_id: "/".into(),
        eligibility_id: eligibility.id,
        state: RequestState::Expired,
        reason: None,
        justification: Some("incident 42".into()),
        ticket_number: None,
        duration_seconds: 3600,
        requested_date_time: trustplane_model::from_ms(T0),
        start_date_time: Some(trustplane_model::from_ms(T0)),
        activated_date_time: Some(trustplane_model::from_ms(T0)),
        end_date_time: Some(trustplane_model::from_ms(T0 + HOUR_MS)),
        decided_by: None,
        mfa: true,
    };
    n.store
        .insert_pim_request(&Actor::system(), &request)
        .await
        .unwrap();
    (role.id, request.id)
}

/// The alerts of Trustplane's privileged-use rules among `ids`.
async fn privileged_alerts(store: &Store, ids: &[String]) -> Vec<Alert> {
    let mut out = Vec::new();
    for id in ids {
        let alert = store.get_alert(id).await.unwrap();
        if alert.rule_author.as_deref() == Some("Trustplane")
            && alert.rule_title.contains("Privileged")
        {
            out.push(alert);
        }
    }
    out
}

#[tokio::test]
async fn a_pim_managed_aws_role_used_outside_every_activation_raises_an_alert_naming_it() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    let _bob = person(&n.store, "bob@example.com").await;
    let (_, request) = admin_role_under_pim(&n, &ada).await;
    let ingest = |session: &'static str, minutes: i64| {
        let detection = &n.detection;
        async move {
            let at = rfc3339(T0 + minutes * 60_000);
            detection
                .ingest(
                    stop_logging_at(session, &at),
                    "trail.json",
                    ReadLimits::PUSH,
                )
                .await
                .unwrap()
        }
    };

    // During her activation: nothing of ours.
    let during = ingest("ada@example.com", 30).await;
    assert!(privileged_alerts(&n.store, &during.new_alerts)
        .await
        .is_empty());

    // Two hours later her AWS session still works; the call is flagged with the activation.
    let after = ingest("ada@example.com", 120).await;
    let found = privileged_alerts(&n.store, &after.new_alerts).await;
    assert_eq!(found.len(), 1, "{after:?}");
    assert_eq!(
        found[0].rule_title,
        "Privileged AWS role used after its activation ended"
    );
    assert_eq!(found[0].level, "high");
    assert_eq!(found[0].person_id.as_deref(), Some(ada.as_str()));
    let evidence = &found[0].records[0]["trustplane"]["privilegedUse"];
    assert_eq!(evidence["activation"]["requestId"], request.as_str());
    assert_eq!(evidence["role"]["roleArn"], ADMIN_ROLE_ARN);

    // Bob never activated it; a session named after nobody was never issued by Trustplane.
    let bob = ingest("bob@example.com", 30).await;
    let found = privileged_alerts(&n.store, &bob.new_alerts).await;
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].rule_title,
        "Privileged AWS role used by a person who never activated it"
    );
    let stranger = ingest("mallory", 30).await;
    let found = privileged_alerts(&n.store, &stranger.new_alerts).await;
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].rule_title,
        "Privileged AWS role used by a session Trustplane did not issue"
    );
    assert_eq!(found[0].person_id, None);
}

#[tokio::test]
async fn standing_access_and_roles_outside_pim_raise_no_privileged_alert() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    // No role under PIM at all: the same call is only matched by the Sigma rules.
    let report = n
        .detection
        .ingest(
            stop_logging_by("ada@example.com"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(privileged_alerts(&n.store, &report.new_alerts)
        .await
        .is_empty());
    // Under PIM, but Ada also holds the role permanently: no activation is needed.
    let (role, _) = admin_role_under_pim(&n, &ada).await;
    n.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: ada.clone(),
                role_definition_id: role,
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    let late = rfc3339(T0 + 5 * HOUR_MS);
    let report = n
        .detection
        .ingest(
            stop_logging_at("ada@example.com", &late),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(privileged_alerts(&n.store, &report.new_alerts)
        .await
        .is_empty());
}

fn console_login(identity_type: &str, account: &str) -> Vec<u8> {
    json!({"Records": [{
        "eventVersion": "1.08",
        "eventTime": "2026-11-28T10:00:00Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userIdentity": {
            "type": identity_type,
            "principalId": "AIDAEXAMPLE",
            "arn": format!("arn:aws:iam::{account}:user/breakglass"),
            "accountId": account,
            "userName": "breakglass"
        },
        "responseElements": {"ConsoleLogin": "Success"},
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": account
    }]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn console_sign_in_by_an_iam_user_in_a_federated_account_is_flagged_as_a_bypass() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    admin_role_under_pim(&n, &ada).await;
    let bypass = |ids: Vec<String>| {
        let store = n.store.clone();
        async move {
            let mut titles = Vec::new();
            for id in ids {
                let a = store.get_alert(&id).await.unwrap();
                if a.rule_id.as_deref() == Some("trustplane-federation-bypass") {
                    titles.push(a.rule_title);
                }
            }
            titles
        }
    };
    let report = n
        .detection
        .ingest(
            console_login("IAMUser", "111122223333"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert_eq!(
        bypass(report.new_alerts).await,
        ["AWS console sign-in that bypasses Trustplane"]
    );
    // An account Trustplane does not federate is none of its business.
    let report = n
        .detection
        .ingest(
            console_login("IAMUser", "999988887777"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(bypass(report.new_alerts).await.is_empty());
}

#[tokio::test]
async fn alerts_about_one_person_or_address_within_a_day_form_one_incident() {
    let n = node().await;
    let ada = person(&n.store, "ada@example.com").await;
    let first = n
        .detection
        .ingest(
            stop_logging_at("ada@example.com", &rfc3339(T0)),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(!first.new_alerts.is_empty());
    // A session named after nobody, from the same address, an hour later: same incident.
    let stranger = n
        .detection
        .ingest(
            stop_logging_at("mallory", &rfc3339(T0 + HOUR_MS)),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(!stranger.new_alerts.is_empty());
    let incidents = n.store.list_incidents(None, None, 10).await.unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let one = n.store.get_incident(&incidents[0].id).await.unwrap();
    let mut expected: Vec<String> = first.new_alerts.clone();
    expected.extend(stranger.new_alerts.clone());
    let mut got = one.alert_ids.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(one.severity, "high");
    assert_eq!(one.persons.len(), 1);
    assert_eq!(one.persons[0]["id"], ada.as_str());
    assert_eq!(one.addresses, ["198.51.100.7"]);
    assert!(
        one.display_name.ends_with("involving ada@example.com"),
        "{}",
        one.display_name
    );
    // Listed by person, by id.
    assert_eq!(
        n.store
            .list_incidents(None, Some(&ada), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Two days later, the same person opens a new incident.
    let later = n
        .detection
        .ingest(
            stop_logging_at("ada@example.com", &rfc3339(T0 + 48 * HOUR_MS)),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(!later.new_alerts.is_empty());
    assert_eq!(
        n.store.list_incidents(None, None, 10).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn resolving_an_incident_resolves_its_alerts_and_a_new_alert_opens_a_new_one() {
    let n = node().await;
    person(&n.store, "ada@example.com").await;
    let report = n
        .detection
        .ingest(
            stop_logging_by("ada@example.com"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    let id = n.store.list_incidents(None, None, 10).await.unwrap()[0]
        .id
        .clone();
    let analyst = Actor {
        id: "analyst-1".into(),
        display_name: Some("analyst@example.com".into()),
        ip_address: None,
        user_agent: None,
    };
    let change = |status: Option<&str>, comment: Option<String>| trustplane_store::IncidentChange {
        status: status.map(str::to_string),
        assigned_to: None,
        comment,
    };
    // Bad input changes nothing.
    for bad in [
        change(Some("closed"), None),
        change(None, Some("   ".into())),
        change(None, Some("x".repeat(4001))),
    ] {
        assert!(matches!(
            n.store.change_incident(&analyst, &id, bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    let with_comment = n
        .store
        .change_incident(&analyst, &id, change(None, Some("looking into it".into())))
        .await
        .unwrap();
    assert_eq!(with_comment.comments[0]["createdBy"], "analyst@example.com");
    assert_eq!(with_comment.status, "active");
    n.store
        .change_incident(&analyst, &id, change(Some("resolved"), None))
        .await
        .unwrap();
    for alert in &report.new_alerts {
        assert_eq!(n.store.get_alert(alert).await.unwrap().status, "resolved");
    }
    // The same activity again is a new alert (the old one is resolved) in a new incident.
    let again = n
        .detection
        .ingest(
            stop_logging_by("ada@example.com"),
            "trail.json",
            ReadLimits::PUSH,
        )
        .await
        .unwrap();
    assert!(!again.new_alerts.is_empty());
    let open = n
        .store
        .list_incidents(Some("active"), None, 10)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].id, id);
    // Every change was audited.
    let audited = n
        .store
        .list_audit(&trustplane_store::AuditQuery {
            activity: Some("incident.update".into()),
            top: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.items.len(), 2);
}
