//! Each detector on its pattern and on a control case, with the real GeoLite2 database and, for
//! the service, a real SQLite store on a clock the tests move.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;
use trustplane_access::MaxMindCountryLookup;
use trustplane_model::{Actor, Event, ManualClock, Outcome, Target};
use trustplane_risk::*;
use trustplane_store::{NewUser, Store};

const T0: i64 = 1_790_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

/// London, a second London network, Kansas (GeoLite2's US centre), Amsterdam.
const LONDON: &str = "81.2.69.142";
const LONDON_OTHER: &str = "212.58.244.1";
const US: &str = "8.8.8.8";
const AMSTERDAM: &str = "193.0.6.139";

fn geolite2() -> MaxMindCountryLookup {
    let path = match std::env::var_os("TRUSTPLANE_TEST_MMDB") {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let python = std::env::var("TRUSTPLANE_TEST_PYTHON")
                .expect("TRUSTPLANE_TEST_PYTHON (scripts/test.sh sets it)");
            let out = std::process::Command::new(python)
                .args([
                    "-c",
                    "import _maxminddb_geolite2, os; print(os.path.dirname(_maxminddb_geolite2.__file__))",
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "maxminddb-geolite2 is not installed");
            std::path::Path::new(String::from_utf8(out.stdout).unwrap().trim())
                .join("GeoLite2-City.mmdb")
        }
    };
    MaxMindCountryLookup::open(&path).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ok(at: i64, from: &str) -> Attempt {
    Attempt {
        at_ms: at,
        user_id: Some("ada".into()),
        account: "ada@example.com".into(),
        ip: Some(ip(from)),
        user_agent: Some(FIREFOX.into()),
        success: true,
    }
}

fn failed(at: i64, account: &str, from: &str) -> Attempt {
    Attempt {
        at_ms: at,
        user_id: (account == "ada@example.com").then(|| "ada".to_string()),
        account: account.into(),
        ip: Some(ip(from)),
        user_agent: Some("python-requests/2.31".into()),
        success: false,
    }
}

fn facts(at: i64, from: &str, ua: &str) -> SignInFacts {
    SignInFacts {
        at_ms: at,
        user_id: "ada".into(),
        ip: Some(ip(from)),
        user_agent: Some(ua.into()),
    }
}

fn kinds(a: &Assessment) -> Vec<DetectionKind> {
    a.detections.iter().map(|d| d.kind).collect()
}

/// A person who signed in from London, on one browser, every day for a week.
fn familiar_week() -> Vec<Attempt> {
    (1..=7).map(|d| ok(T0 - d * DAY, LONDON)).collect()
}

#[test]
fn two_countries_30_minutes_apart_is_unlikely_travel() {
    let geo = geolite2();
    let mut person = familiar_week();
    person.push(ok(T0 - 30 * MINUTE, LONDON));
    let history = History {
        person,
        ..Default::default()
    };
    let a = assess(
        &facts(T0, US, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    let travel = a
        .detections
        .iter()
        .find(|d| d.kind == DetectionKind::UnlikelyTravel)
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(travel.level, RiskLevel::High);
    assert!(
        travel.reason.contains("US") && travel.reason.contains("GB"),
        "{}",
        travel.reason
    );
    assert_eq!(travel.detail["minutesApart"], 30);
    assert_eq!(a.level, RiskLevel::High);
    assert_eq!(a.country.as_deref(), Some("US"));
}

#[test]
fn the_same_country_30_minutes_apart_is_not_travel() {
    let geo = geolite2();
    let mut person = familiar_week();
    person.push(ok(T0 - 30 * MINUTE, LONDON));
    let history = History {
        person,
        ..Default::default()
    };
    let a = assess(
        &facts(T0, LONDON_OTHER, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(!kinds(&a).contains(&DetectionKind::UnlikelyTravel), "{a:?}");
    // A flight's time apart is not unlikely either: London, then the US ten hours later.
    let history = History {
        person: vec![ok(T0 - 10 * HOUR, LONDON)],
        ..Default::default()
    };
    let a = assess(
        &facts(T0, US, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(!kinds(&a).contains(&DetectionKind::UnlikelyTravel), "{a:?}");
    // Nor are neighbours within the databases' accuracy: London then Amsterdam in an hour.
    let history = History {
        person: vec![ok(T0 - HOUR, LONDON)],
        ..Default::default()
    };
    let a = assess(
        &facts(T0, AMSTERDAM, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(!kinds(&a).contains(&DetectionKind::UnlikelyTravel), "{a:?}");
    // A failed attempt from far away is no sign-in to travel from.
    let history = History {
        person: vec![failed(T0 - 10 * MINUTE, "ada@example.com", LONDON)],
        ..Default::default()
    };
    let a = assess(
        &facts(T0, US, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(!kinds(&a).contains(&DetectionKind::UnlikelyTravel), "{a:?}");
}

#[test]
fn unfamiliar_country_network_and_agent_after_learning() {
    let geo = geolite2();
    let history = History {
        person: familiar_week(),
        ..Default::default()
    };
    // All three new: high.
    let a = assess(
        &facts(T0, AMSTERDAM, "curl/8.5.0"),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    let d = a
        .detections
        .iter()
        .find(|d| d.kind == DetectionKind::UnfamiliarFeatures)
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(d.level, RiskLevel::High, "{}", d.reason);
    assert!(d.reason.contains("country NL"), "{}", d.reason);
    // Country and network new, same browser: medium.
    let a = assess(
        &facts(T0, AMSTERDAM, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert_eq!(a.level, RiskLevel::Medium, "{a:?}");
    // A new network in the same country: low.
    let a = assess(
        &facts(T0, LONDON_OTHER, FIREFOX),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert_eq!(a.level, RiskLevel::Low, "{a:?}");
    // Control: the familiar place, and a newer version of the same browser: nothing.
    let newer = FIREFOX.replace("120.0", "121.0");
    let a = assess(
        &facts(T0, LONDON, &newer),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
    assert_eq!(a.level, RiskLevel::None);
}

#[test]
fn nothing_is_unfamiliar_while_learning_or_outside_the_window() {
    let geo = geolite2();
    // Two sign-ins are not enough to know a person.
    let history = History {
        person: vec![ok(T0 - DAY, LONDON), ok(T0 - 2 * DAY, LONDON)],
        ..Default::default()
    };
    let a = assess(
        &facts(T0, AMSTERDAM, "curl/8.5.0"),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
    // Sign-ins older than the learning window do not count.
    let history = History {
        person: (1..=5).map(|d| ok(T0 - (40 + d) * DAY, LONDON)).collect(),
        ..Default::default()
    };
    let a = assess(
        &facts(T0, AMSTERDAM, "curl/8.5.0"),
        &history,
        Some(&geo),
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
}

#[test]
fn a_spray_over_50_accounts_from_one_network_is_high() {
    // Fifty accounts failing from addresses of one /24 within the hour.
    let network_failures: Vec<Attempt> = (0..50)
        .map(|i| {
            failed(
                T0 - (i + 1) * MINUTE,
                &format!("user{i}@example.com"),
                &format!("198.51.100.{}", i % 4 + 1),
            )
        })
        .collect();
    let history = History {
        network_failures,
        ..Default::default()
    };
    let a = assess(
        &facts(T0, "198.51.100.77", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    let d = a
        .detections
        .iter()
        .find(|d| d.kind == DetectionKind::PasswordSpray)
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(d.level, RiskLevel::High);
    assert_eq!(d.detail["accounts"], 50);
    assert_eq!(d.detail["network"], "198.51.100.0/24");
    // From another network the same spray says nothing about this sign-in.
    let a = assess(
        &facts(T0, "198.51.101.7", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert!(!kinds(&a).contains(&DetectionKind::PasswordSpray), "{a:?}");
    // Twelve accounts: medium.
    let history = History {
        network_failures: (0..12)
            .map(|i| failed(T0 - MINUTE, &format!("u{i}@example.com"), "198.51.100.1"))
            .collect(),
        ..Default::default()
    };
    let a = assess(
        &facts(T0, "198.51.100.1", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert_eq!(a.level, RiskLevel::Medium, "{a:?}");
}

#[test]
fn three_failures_or_an_old_spray_are_no_spray() {
    // Three failures of three accounts: people mistype.
    let history = History {
        network_failures: (0..3)
            .map(|i| failed(T0 - MINUTE, &format!("u{i}@example.com"), "198.51.100.1"))
            .collect(),
        ..Default::default()
    };
    let a = assess(
        &facts(T0, "198.51.100.1", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
    // Many failures of one account are not a spray (they are brute force, below).
    let history = History {
        network_failures: (0..50)
            .map(|_| failed(T0 - MINUTE, "bob@example.com", "198.51.100.1"))
            .collect(),
        ..Default::default()
    };
    let a = assess(
        &facts(T0, "198.51.100.1", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert!(!kinds(&a).contains(&DetectionKind::PasswordSpray), "{a:?}");
    // A spray two hours ago is outside the window.
    let history = History {
        network_failures: (0..50)
            .map(|i| failed(T0 - 2 * HOUR, &format!("u{i}@example.com"), "198.51.100.1"))
            .collect(),
        ..Default::default()
    };
    let a = assess(
        &facts(T0, "198.51.100.1", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
}

#[test]
fn many_failures_of_one_account_are_brute_force() {
    let mut person = familiar_week();
    person
        .extend((0..20).map(|i| failed(T0 - (i + 1) * MINUTE, "ada@example.com", "198.51.100.9")));
    let history = History {
        person,
        ..Default::default()
    };
    let a = assess(
        &facts(T0, LONDON, FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    let d = a
        .detections
        .iter()
        .find(|d| d.kind == DetectionKind::BruteForce)
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(d.level, RiskLevel::High);
    assert_eq!(d.detail["failures"], 20);
    // Control: two typos this morning.
    let mut person = familiar_week();
    person.extend((0..2).map(|i| failed(T0 - (i + 1) * MINUTE, "ada@example.com", LONDON)));
    let history = History {
        person,
        ..Default::default()
    };
    let a = assess(
        &facts(T0, LONDON, FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
}

#[test]
fn an_address_named_by_an_open_alert_is_high() {
    let history = History {
        flagged: vec![FlaggedAddress {
            ip: ip("198.51.100.66"),
            alert_id: "a1".into(),
            title: "AWS console login without MFA".into(),
        }],
        ..Default::default()
    };
    let a = assess(
        &facts(T0, "198.51.100.66", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert_eq!(kinds(&a), vec![DetectionKind::MaliciousIpAddress]);
    assert_eq!(a.level, RiskLevel::High);
    assert_eq!(a.detections[0].detail["alertIds"], json!(["a1"]));
    // Its neighbour is not named.
    let a = assess(
        &facts(T0, "198.51.100.67", FIREFOX),
        &history,
        None,
        &Settings::default(),
    );
    assert!(a.detections.is_empty(), "{a:?}");
}

#[test]
fn without_an_address_or_a_database_nothing_is_located() {
    let history = History {
        person: vec![ok(T0 - 30 * MINUTE, LONDON)],
        ..Default::default()
    };
    let mut f = facts(T0, US, FIREFOX);
    let a = assess(&f, &history, None, &Settings::default());
    assert!(a.detections.is_empty() && a.country.is_none(), "{a:?}");
    f.ip = None;
    let a = assess(&f, &history, Some(&geolite2()), &Settings::default());
    assert!(a.detections.is_empty(), "{a:?}");
}

// ---- the service over a real store ----

struct Env {
    store: Store,
    clock: ManualClock,
    risk: RiskService,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let risk = RiskService::new(
        store.clone(),
        Some(Arc::new(geolite2())),
        Settings::default(),
    );
    Env {
        store,
        clock,
        risk,
        _dir: dir,
    }
}

async fn person(e: &Env, upn: &str) -> trustplane_model::User {
    e.store
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
}

/// A sign-in log entry, as the sign-in flow writes it.
async fn log_sign_in(
    e: &Env,
    user: Option<&trustplane_model::User>,
    account: &str,
    from: &str,
    success: bool,
) {
    let event = Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "signIn".into(),
        activity: "signIn".into(),
        initiated_by: Actor {
            id: user
                .map(|u| u.id.clone())
                .unwrap_or_else(|| "unknown".into()),
            display_name: Some(account.into()),
            ip_address: Some(from.into()),
            user_agent: Some(FIREFOX.into()),
        },
        target: Some(Target {
            kind: "application".into(),
            id: "trustplane".into(),
            display_name: None,
        }),
        result: if success {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        result_reason: None,
        before: None,
        after: Some(json!({"userPrincipalName": account})),
    };
    e.store.record_sign_in(event).await.unwrap();
}

#[tokio::test]
async fn the_service_reads_the_sign_in_log_and_stores_detections() {
    let e = env().await;
    let ada = person(&e, "ada@example.com").await;
    for _ in 0..5 {
        log_sign_in(&e, Some(&ada), "ada@example.com", LONDON, true).await;
        e.clock.advance_ms(DAY);
    }
    // Normal: London again, a day later.
    let a = e
        .risk
        .assess_sign_in(&ada, Some(ip(LONDON)), Some(FIREFOX))
        .await
        .unwrap();
    assert!(a.detections.is_empty(), "{a:?}");
    log_sign_in(&e, Some(&ada), "ada@example.com", LONDON, true).await;
    // Thirty minutes later from the US.
    e.clock.advance_ms(30 * MINUTE);
    let a = e
        .risk
        .assess_sign_in(&ada, Some(ip(US)), Some(FIREFOX))
        .await
        .unwrap();
    assert_eq!(a.level, RiskLevel::High, "{a:?}");
    assert!(kinds(&a).contains(&DetectionKind::UnlikelyTravel));
    let ids = e.risk.record(&ada, Some(ip(US)), &a).await.unwrap();
    assert_eq!(ids.len(), a.detections.len());
    let stored = e
        .risk
        .detections(Some("ADA@example.com"), 10)
        .await
        .unwrap();
    assert!(stored.iter().any(|d| d.risk_event_type == "unlikelyTravel"
        && d.risk_level == "high"
        && d.risk_state == "atRisk"
        && d.ip_address.as_deref() == Some(US)
        && d.country.as_deref() == Some("US")));
    // The open detections make the user risky.
    let risk = e.risk.user_risk(&ada.id).await.unwrap();
    assert_eq!(
        (risk.level, risk.state.as_str()),
        (RiskLevel::High, "atRisk")
    );
}

#[tokio::test]
async fn a_spray_recorded_in_the_log_is_seen_by_the_next_sign_in() {
    let e = env().await;
    let ada = person(&e, "ada@example.com").await;
    for i in 0..50 {
        log_sign_in(
            &e,
            None,
            &format!("user{i}@example.com"),
            "198.51.100.1",
            false,
        )
        .await;
        e.clock.advance_ms(1000);
    }
    let a = e
        .risk
        .assess_sign_in(&ada, Some(ip("198.51.100.2")), Some(FIREFOX))
        .await
        .unwrap();
    assert_eq!(kinds(&a), vec![DetectionKind::PasswordSpray]);
    assert_eq!(a.level, RiskLevel::High);
    // An hour and more later the spray is over.
    e.clock.advance_ms(HOUR + MINUTE);
    let a = e
        .risk
        .assess_sign_in(&ada, Some(ip("198.51.100.2")), Some(FIREFOX))
        .await
        .unwrap();
    assert!(a.detections.is_empty(), "{a:?}");
}

#[tokio::test]
async fn confirm_compromised_and_dismiss_change_user_risk_and_are_audited() {
    let e = env().await;
    let ada = person(&e, "ada@example.com").await;
    let bob = person(&e, "bob@example.com").await;
    assert_eq!(
        e.risk.user_risk(&ada.id).await.unwrap().level,
        RiskLevel::None
    );
    // An unknown name refuses the whole request, and changes nothing.
    let err = e
        .risk
        .confirm_compromised(
            &Actor::system(),
            &["ada@example.com".into(), "nobody@example.com".into()],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RiskError::UnknownUser(_)), "{err}");
    assert_eq!(
        e.risk.user_risk(&ada.id).await.unwrap().level,
        RiskLevel::None
    );
    let err = e.risk.dismiss(&Actor::system(), &[]).await.unwrap_err();
    assert!(matches!(err, RiskError::BadRequest(_)));
    let too_many: Vec<String> = (0..61).map(|i| format!("u{i}")).collect();
    assert!(matches!(
        e.risk
            .dismiss(&Actor::system(), &too_many)
            .await
            .unwrap_err(),
        RiskError::BadRequest(_)
    ));
    // An elevation of hers is active.
    let elevation = trustplane_model::ActivationRequest {
        id: trustplane_model::new_id(),
        principal_id: ada.id.clone(),
        role_definition_id: "62e90394-69f5-4237-9190-012177145e10".into(),
        directory_scope_id: "/".into(),
        eligibility_id: "eligibility".into(),
        state: trustplane_model::RequestState::Active,
        reason: None,
        justification: Some("incident 42".into()),
        ticket_number: None,
        duration_seconds: 3600,
        requested_date_time: trustplane_model::from_ms(T0),
        start_date_time: None,
        activated_date_time: Some(trustplane_model::from_ms(T0)),
        end_date_time: Some(trustplane_model::from_ms(T0 + HOUR)),
        decided_by: None,
        mfa: true,
    };
    e.store
        .insert_pim_request(&Actor::system(), &elevation)
        .await
        .unwrap();
    // Confirmed by name: high, and the elevation is revoked.
    let out = e
        .risk
        .confirm_compromised(&Actor::system(), &["ada@example.com".into()])
        .await
        .unwrap();
    assert_eq!(out[0].risk_level, RiskLevel::High);
    assert_eq!(out[0].risk_state, "confirmedCompromised");
    assert_eq!(out[0].risk_detail, "adminConfirmedUserCompromised");
    let ended = e.store.get_pim_request(&elevation.id).await.unwrap();
    assert_eq!(ended.state, trustplane_model::RequestState::Revoked);
    assert_eq!(ended.reason.as_deref(), Some("user confirmed compromised"));
    let listed = e.risk.risky_users().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_principal_name, "ada@example.com");
    assert_eq!(
        e.risk.user_risk(&bob.id).await.unwrap().level,
        RiskLevel::None
    );
    // Dismissed by id: none.
    e.clock.advance_ms(MINUTE);
    let out = e
        .risk
        .dismiss(&Actor::system(), std::slice::from_ref(&ada.id))
        .await
        .unwrap();
    assert_eq!(out[0].risk_level, RiskLevel::None);
    assert_eq!(out[0].risk_state, "dismissed");
    let audit = e
        .store
        .list_audit(&trustplane_store::AuditQuery {
            category: Some("identityProtection".into()),
            top: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let activities: Vec<&str> = audit.items.iter().map(|e| e.activity.as_str()).collect();
    assert!(
        activities.contains(&"riskyUser.confirmCompromised")
            && activities.contains(&"riskyUser.dismiss"),
        "{activities:?}"
    );
}

#[tokio::test]
async fn an_open_alert_resolved_to_a_person_raises_their_user_risk_until_dismissed() {
    let e = env().await;
    let ada = person(&e, "ada@example.com").await;
    e.store
        .record_hit(
            trustplane_store::NewHit {
                rule_id: Some("r1".into()),
                rule_title: "CloudTrail: access key created by a role session".into(),
                rule_author: None,
                level: "high".into(),
                person_id: Some(ada.id.clone()),
                person_upn: Some(ada.user_principal_name.clone()),
                record: json!({"eventName": "CreateAccessKey", "sourceIPAddress": "198.51.100.66"}),
                event_time: None,
                addresses: Vec::new(),
            },
            HOUR,
        )
        .await
        .unwrap();
    let risk = e.risk.user_risk(&ada.id).await.unwrap();
    assert_eq!(risk.level, RiskLevel::High, "{risk:?}");
    assert_eq!(risk.alert_ids.len(), 1);
    assert!(risk.detail.starts_with("alert: "), "{}", risk.detail);
    // The alert's address is now tied to an alert for every sign-in from it.
    let a = e
        .risk
        .assess_sign_in(&ada, Some(ip("198.51.100.66")), Some(FIREFOX))
        .await
        .unwrap();
    assert_eq!(kinds(&a), vec![DetectionKind::MaliciousIpAddress]);
    // Dismissed: the alert seen before no longer counts.
    e.clock.advance_ms(MINUTE);
    e.risk
        .dismiss(&Actor::system(), std::slice::from_ref(&ada.id))
        .await
        .unwrap();
    assert_eq!(
        e.risk.user_risk(&ada.id).await.unwrap().level,
        RiskLevel::None
    );
}

#[tokio::test]
async fn a_password_change_after_a_second_factor_remediates_user_risk() {
    let e = env().await;
    let ada = person(&e, "ada@example.com").await;
    // No risk: nothing to remediate, nothing written.
    assert!(!e
        .risk
        .remediate_after_password_change(&Actor::system(), &ada, true)
        .await
        .unwrap());
    e.risk
        .confirm_compromised(&Actor::system(), &["ada@example.com".into()])
        .await
        .unwrap();
    e.clock.advance_ms(MINUTE);
    // Without a recent second factor the change remediates nothing.
    assert!(!e
        .risk
        .remediate_after_password_change(&Actor::system(), &ada, false)
        .await
        .unwrap());
    assert_eq!(
        e.risk.user_risk(&ada.id).await.unwrap().level,
        RiskLevel::High
    );
    assert!(e
        .risk
        .remediate_after_password_change(&Actor::system(), &ada, true)
        .await
        .unwrap());
    let risk = e.risk.user_risk(&ada.id).await.unwrap();
    assert_eq!(
        (risk.level, risk.state.as_str(), risk.detail.as_str()),
        (
            RiskLevel::None,
            "remediated",
            "userPerformedSecuredPasswordChange"
        )
    );
    let audit = e
        .store
        .list_audit(&trustplane_store::AuditQuery {
            activity: Some("riskyUser.remediate".into()),
            top: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
}
