//! The detection pipeline without an HTTP server: a store on SQLite in a temporary folder, a
//! clock the tests move, and records handed straight to [`Detection`].
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Value};
use trustplane_detect::ReadLimits;
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, Event, ManualClock, Outcome, Target};
use trustplane_monitor::{Detection, IngestError, IngestLimits};
use trustplane_store::{Alert, NewUser, ResponsePolicy, Store, StoreError};

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
    assert_eq!(n.store.person_timeline(&ada, 10).await.unwrap().len(), 3);
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
