//! The cost of risk evaluation per sign-in, next to the password hash it accompanies.
//!
//! * `detectors/*`: the pure detectors over an in-memory history with the GeoLite2 City
//!   database: a typical person (30 sign-ins from two places), and the bounded worst case
//!   (200 of the person's attempts from 200 addresses, 1,000 failures of the network).
//! * `service/*`: what the sign-in flow runs: the history read from SQLite (a store holding
//!   100,000 sign-in attempts of 1,000 people), the detectors, and the user risk.
//! * `argon2id/verify`: one password verification with the node's parameters.
//!
//! Run: `cargo bench -p trustplane-risk` (the GeoLite2 database from `TRUSTPLANE_TEST_MMDB`, or
//! the one `pip install maxminddb-geolite2` ships, found through `TRUSTPLANE_TEST_PYTHON`).

// A benchmark harness: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use trustplane_access::MaxMindCountryLookup;
use trustplane_model::{Actor, Event, ManualClock, Outcome, Target};
use trustplane_risk::*;
use trustplane_store::{NewUser, Store};

const T0: i64 = 1_790_000_000_000;
const MINUTE: i64 = 60_000;
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

fn geolite2() -> MaxMindCountryLookup {
    let path = match std::env::var_os("TRUSTPLANE_TEST_MMDB") {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let python =
                std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
            let out = std::process::Command::new(python)
                .args([
                    "-c",
                    "import _maxminddb_geolite2, os; print(os.path.dirname(_maxminddb_geolite2.__file__))",
                ])
                .output()
                .unwrap();
            std::path::Path::new(String::from_utf8(out.stdout).unwrap().trim())
                .join("GeoLite2-City.mmdb")
        }
    };
    MaxMindCountryLookup::open(&path).unwrap()
}

fn attempt(at: i64, user: Option<&str>, account: &str, ip: IpAddr, success: bool) -> Attempt {
    Attempt {
        at_ms: at,
        user_id: user.map(str::to_string),
        account: account.into(),
        ip: Some(ip),
        user_agent: Some(UA.into()),
        success,
    }
}

fn detectors(c: &mut Criterion) {
    let geo = geolite2();
    let settings = Settings::default();
    let facts = SignInFacts {
        at_ms: T0,
        user_id: "ada".into(),
        ip: Some("8.8.8.8".parse().unwrap()),
        user_agent: Some(UA.into()),
    };
    let places: [IpAddr; 2] = [
        "81.2.69.142".parse().unwrap(),
        "212.58.244.1".parse().unwrap(),
    ];
    let typical = History {
        person: (0..30)
            .map(|i| {
                attempt(
                    T0 - (i + 1) * 12 * 60 * MINUTE,
                    Some("ada"),
                    "ada@example.com",
                    places[(i % 2) as usize],
                    true,
                )
            })
            .collect(),
        ..Default::default()
    };
    c.bench_function("detectors/typical", |b| {
        b.iter(|| black_box(assess(&facts, &typical, Some(&geo), &settings)))
    });
    let worst = History {
        person: (0..200)
            .map(|i| {
                let ip: IpAddr = format!("81.{}.{}.7", 2 + i / 200, i % 200).parse().unwrap();
                attempt(
                    T0 - (i + 1) * MINUTE,
                    Some("ada"),
                    "ada@example.com",
                    ip,
                    i % 3 != 0,
                )
            })
            .collect(),
        network_failures: (0..1000)
            .map(|i| {
                attempt(
                    T0 - i * 3000,
                    None,
                    &format!("user{i}@example.com"),
                    "8.8.8.9".parse().unwrap(),
                    false,
                )
            })
            .collect(),
        flagged: Vec::new(),
    };
    c.bench_function("detectors/worst_bounded", |b| {
        b.iter(|| black_box(assess(&facts, &worst, Some(&geo), &settings)))
    });
}

fn service(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0 - 30 * 24 * 60 * MINUTE);
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let (store, ada) = rt.block_on(async {
        let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
        let mut users = Vec::new();
        for i in 0..1000 {
            let u = store
                .create_user(
                    &Actor::system(),
                    NewUser {
                        user_principal_name: format!("user{i}@example.com"),
                        display_name: format!("User {i}"),
                        account_enabled: true,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            users.push(u);
        }
        // 100,000 attempts over 30 days, 100 per person, in batches of 1,000 per commit.
        for batch in 0..100 {
            let events: Vec<Event> = (0..1000)
                .map(|j| {
                    let u = &users[j];
                    let ip = format!("81.2.{}.{}", j % 250, batch % 250);
                    Event {
                        sequence: 0,
                        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
                        category: "signIn".into(),
                        activity: "signIn".into(),
                        initiated_by: Actor {
                            id: u.id.clone(),
                            display_name: Some(u.user_principal_name.clone()),
                            ip_address: Some(ip),
                            user_agent: Some(UA.into()),
                        },
                        target: Some(Target {
                            kind: "application".into(),
                            id: "trustplane".into(),
                            display_name: None,
                        }),
                        result: if batch % 10 == 0 {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        },
                        result_reason: None,
                        before: None,
                        after: Some(json!({"userPrincipalName": u.user_principal_name})),
                    }
                })
                .collect();
            store.record_events(events).await.unwrap();
            clock.advance_ms(7 * 60 * MINUTE);
        }
        (store, users.swap_remove(0))
    });
    let risk = RiskService::new(store, Some(Arc::new(geolite2())), Settings::default());
    let from: IpAddr = "8.8.8.8".parse().unwrap();
    c.bench_function("service/assess_sign_in_and_user_risk", |b| {
        b.iter(|| {
            rt.block_on(async {
                let a = risk
                    .assess_sign_in(&ada, Some(from), Some(UA))
                    .await
                    .unwrap();
                let u = risk.user_risk(&ada.id).await.unwrap();
                black_box((a, u))
            })
        })
    });
}

fn argon2(c: &mut Criterion) {
    let hash = trustplane_authn::hash_password("correct horse battery staple").unwrap();
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    group.bench_function("verify", |b| {
        b.iter(|| {
            black_box(trustplane_authn::verify_password(
                "correct horse battery staple",
                &hash,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, detectors, service, argon2);
criterion_main!(benches);
