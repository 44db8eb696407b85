//! Evaluations per second (one thread, so per core) and latency percentiles, with the 95 real
//! policies and with synthetic sets of 100 and 1,000 policies.
//!
//! Run: `cargo bench -p trustplane-access` (add `-- --quick` for a short run).

// A benchmark harness: a broken fixture should stop the run.
#![allow(clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use trustplane_access::*;

/// A small deterministic generator (xorshift), so every run measures the same sets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn id(kind: &str, n: u64) -> String {
    format!("{kind}{n:08x}-0000-4000-8000-{n:012x}")
}

const ROLES: [&str; 6] = [
    "62e90394-69f5-4237-9190-012177145e10",
    "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "5d6b6bb7-de71-4623-b4af-96380a352509",
];

fn synthetic_locations() -> Vec<NamedLocation> {
    let mut out = Vec::new();
    for i in 0..20u64 {
        out.push(
            serde_json::from_value(json!({
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "id": id("10c", i), "displayName": format!("site {i}"), "isTrusted": i % 2 == 0,
                "ipRanges": [{"cidrAddress": format!("10.{i}.0.0/16")}, {"cidrAddress": format!("2001:db8:{i:x}::/48")}]
            }))
            .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    for (i, countries) in [
        ["NL", "BE"],
        ["US", "CA"],
        ["DE", "FR"],
        ["KP", "IR"],
        ["GB", "IE"],
    ]
    .iter()
    .enumerate()
    {
        out.push(
            serde_json::from_value(json!({
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "id": id("c0c", i as u64), "displayName": format!("countries {i}"),
                "countriesAndRegions": countries, "includeUnknownCountriesAndRegions": i == 3
            }))
            .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    out
}

/// Policies shaped like real baselines: most target all users with exclusion groups, some
/// target groups or roles, with a spread of apps, client types, platforms, locations, risks.
fn synthetic_policies(n: usize, rng: &mut Rng) -> Vec<ConditionalAccessPolicy> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let mut users = json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [],
            "excludeGroups": [id("9b0", 0), id("e0c", i)], "includeRoles": [], "excludeRoles": []});
        match rng.below(10) {
            0..=5 => users["includeUsers"] = json!(["All"]),
            6 | 7 => {
                users["includeGroups"] =
                    json!([id("960", rng.below(500)), id("960", rng.below(500))])
            }
            8 => users["includeRoles"] = json!(ROLES),
            _ => {
                users["includeUsers"] = json!((0..20)
                    .map(|_| id("05e", rng.below(5000)))
                    .collect::<Vec<_>>())
            }
        }
        let apps = if rng.chance(60) {
            json!({"includeApplications": ["All"], "excludeApplications": [id("a99", rng.below(200))]})
        } else if rng.chance(30) {
            json!({"includeApplications": ["Office365"]})
        } else {
            json!({"includeApplications": (0..3).map(|_| id("a99", rng.below(200))).collect::<Vec<_>>()})
        };
        let clients = match rng.below(4) {
            0 => json!(["all"]),
            1 => json!(["browser", "mobileAppsAndDesktopClients"]),
            2 => json!(["exchangeActiveSync", "other"]),
            _ => json!(["browser"]),
        };
        let mut conditions = json!({"users": users, "applications": apps, "clientAppTypes": clients,
            "signInRiskLevels": [], "userRiskLevels": []});
        if rng.chance(20) {
            conditions["platforms"] = json!({"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS", "windows", "macOS"]});
        } else if rng.chance(15) {
            conditions["platforms"] = json!({"includePlatforms": ["android", "iOS"]});
        }
        if rng.chance(30) {
            let exclude = if rng.chance(50) {
                json!(["AllTrusted"])
            } else {
                json!([id("c0c", rng.below(5))])
            };
            conditions["locations"] =
                json!({"includeLocations": ["All"], "excludeLocations": exclude});
        }
        if rng.chance(15) {
            conditions["signInRiskLevels"] = json!(["high"]);
        } else if rng.chance(10) {
            conditions["userRiskLevels"] = json!(["high"]);
        }
        let grant = match rng.below(5) {
            0 => json!({"operator": "OR", "builtInControls": ["block"]}),
            1 | 2 => json!({"operator": "OR", "builtInControls": ["mfa"]}),
            3 => {
                json!({"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]})
            }
            _ => {
                json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}})
            }
        };
        let state = match rng.below(10) {
            0..=5 => "enabled",
            6..=8 => "enabledForReportingButNotEnforced",
            _ => "disabled",
        };
        let mut p = json!({"id": id("9011", i), "displayName": format!("synthetic {i}"), "state": state,
            "conditions": conditions, "grantControls": grant});
        if rng.chance(20) {
            p["sessionControls"] = json!({"signInFrequency": {"isEnabled": true, "value": 1 + rng.below(23), "type": "hours"}});
        }
        out.push(serde_json::from_value(p).unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

fn contexts(rng: &mut Rng, real: bool) -> Vec<SignInContext> {
    let clients = [
        ClientAppType::Browser,
        ClientAppType::MobileAppsAndDesktopClients,
        ClientAppType::ExchangeActiveSync,
        ClientAppType::OtherClients,
    ];
    let platforms = [
        Some(DevicePlatform::Windows),
        Some(DevicePlatform::MacOs),
        Some(DevicePlatform::Ios),
        Some(DevicePlatform::Android),
        None,
    ];
    let countries = [Some("NL"), Some("US"), Some("BE"), None];
    (0..256)
        .map(|_| {
            let groups: Vec<String> = if real {
                let pool = [
                    "ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57",
                    "77c1ed37-10d0-4ef1-93dc-198e70abb166",
                    "2802b872-ccfb-4b29-a9a9-459808dfb11b",
                    "00000000-0000-0000-0000-000000000001",
                ];
                (0..1 + rng.below(3))
                    .map(|_| pool[rng.below(4) as usize].to_owned())
                    .collect()
            } else {
                (0..5 + rng.below(10))
                    .map(|_| id("960", rng.below(500)))
                    .collect()
            };
            SignInContext {
                user_id: Some(id("05e", rng.below(5000))),
                group_ids: groups,
                role_ids: if rng.chance(10) {
                    vec![ROLES[rng.below(6) as usize].to_owned()]
                } else {
                    Vec::new()
                },
                is_guest: rng.chance(10),
                application_id: Some(if rng.chance(20) {
                    "00000002-0000-0ff1-ce00-000000000000".to_owned()
                } else {
                    id("a99", rng.below(200))
                }),
                client_app: Some(clients[rng.below(4) as usize].clone()),
                device_platform: platforms[rng.below(5) as usize].clone(),
                ip: Some(
                    format!("10.{}.1.2", rng.below(40))
                        .parse()
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
                country: countries[rng.below(4) as usize].map(str::to_owned),
                sign_in_risk: Some(
                    [RiskLevel::None, RiskLevel::Low, RiskLevel::High][rng.below(3) as usize]
                        .clone(),
                ),
                device: DeviceInfo {
                    compliant: rng.chance(50),
                    trusted: rng.chance(20),
                    ..Default::default()
                },
                satisfied_controls: if rng.chance(50) {
                    vec!["mfa".into()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            }
        })
        .collect()
}

/// CPU time this thread has run, from Linux's schedstat (nanoseconds); `None` elsewhere.
/// Throughput per CPU-second is what "per core" means on a machine shared with other jobs.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

struct Figures {
    per_sec: f64,
    per_cpu_sec: Option<f64>,
    p50: Duration,
    p99: Duration,
    p999: Duration,
}

fn measure(set: &PolicySet, ctxs: &[SignInContext], quick: bool, explain: bool) -> Figures {
    let run = |ctx: &SignInContext| {
        if explain {
            black_box(set.explain(black_box(ctx)).result);
        } else {
            black_box(set.evaluate(black_box(ctx)).result());
        }
    };
    // Warm up, then throughput over a fixed wall-clock budget.
    for ctx in ctxs.iter().cycle().take(20_000) {
        run(ctx);
    }
    let budget = Duration::from_millis(if quick { 300 } else { 2_000 });
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for ctx in ctxs {
            run(ctx);
        }
        n += ctxs.len() as u64;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    let per_cpu_sec = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) if b > a => Some(n as f64 / (b - a).as_secs_f64()),
        _ => None,
    };
    // Latency: time evaluations one by one.
    let samples = if quick { 50_000 } else { 400_000 };
    let mut lat: Vec<Duration> = Vec::with_capacity(samples);
    for ctx in ctxs.iter().cycle().take(samples) {
        let t = Instant::now();
        run(ctx);
        lat.push(t.elapsed());
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Figures {
        per_sec,
        per_cpu_sec,
        p50: pct(0.50),
        p99: pct(0.99),
        p999: pct(0.999),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let evaluate_only = std::env::args().any(|a| a == "--evaluate-only");
    let data =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/conditional-access");
    let mut rng = Rng(0x5eed_1234_abcd_ef01);

    let mut sets: Vec<(String, PolicySet, Vec<SignInContext>)> = Vec::new();
    match (
        load_policies(&data.join("alexfilipin")),
        load_policies(&data.join("j0eyv-baseline/ConditionalAccess")),
        load_named_locations(&data.join("j0eyv-baseline/NamedLocations")),
    ) {
        (Ok(mut a), Ok(b), Ok(locs)) => {
            a.extend(b);
            let n = a.len();
            let set = PolicySet::compile(&a, &locs).unwrap_or_else(|e| panic!("{e}"));
            sets.push((
                format!("real ({n} policies)"),
                set,
                contexts(&mut rng, true),
            ));
        }
        _ => eprintln!("real policies not found under {}; skipping", data.display()),
    }
    let locs = synthetic_locations();
    for n in [100usize, 1_000] {
        let policies = synthetic_policies(n, &mut rng);
        let set = PolicySet::compile(&policies, &locs).unwrap_or_else(|e| panic!("{e}"));
        sets.push((
            format!("synthetic ({n} policies)"),
            set,
            contexts(&mut rng, false),
        ));
    }

    println!("| policy set | call | evaluations per CPU-second | evaluations per wall-second | p50 | p99 | p99.9 |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, set, ctxs) in &sets {
        for explain in [false, true] {
            if explain && evaluate_only {
                continue;
            }
            let f = measure(set, ctxs, quick, explain);
            println!(
                "| {name} | {} | {} | {:.0} | {:.2} µs | {:.2} µs | {:.2} µs |",
                if explain {
                    "explain (full what-if report)"
                } else {
                    "evaluate"
                },
                f.per_cpu_sec
                    .map_or("n/a".to_owned(), |v| format!("{v:.0}")),
                f.per_sec,
                f.p50.as_secs_f64() * 1e6,
                f.p99.as_secs_f64() * 1e6,
                f.p999.as_secs_f64() * 1e6,
            );
        }
    }
}
