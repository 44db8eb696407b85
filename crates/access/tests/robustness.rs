//! Hostile input never panics: arbitrary JSON, and real policies with one value replaced at a
//! random place, go through parse, validate, compile and evaluate (fixed seed).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use trustplane_access::*;

fn config() -> Config {
    Config {
        cases: 400,
        rng_seed: RngSeed::Fixed(0xbad_1e55),
        failure_persistence: None,
        ..Config::default()
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(
            &[
                "All",
                "all",
                "None",
                "AllTrusted",
                "block",
                "mfa",
                "AND",
                "OR",
                "enabled",
                "disabled",
                "enabledForReportingButNotEnforced",
                "10.0.0.0/8",
                "::/0",
                "999.1.1.1/33",
                "NL",
                "",
                "device.isCompliant -eq True",
                "(((",
                "hours",
                "everyTime",
                "minor,elevated",
            ][..]
        )
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(
                    &[
                        "id",
                        "displayName",
                        "state",
                        "conditions",
                        "users",
                        "includeUsers",
                        "applications",
                        "includeApplications",
                        "grantControls",
                        "builtInControls",
                        "operator",
                        "sessionControls",
                        "signInFrequency",
                        "value",
                        "type",
                        "locations",
                        "includeLocations",
                        "excludeLocations",
                        "platforms",
                        "includePlatforms",
                        "clientAppTypes",
                        "devices",
                        "deviceFilter",
                        "mode",
                        "rule",
                        "ipRanges",
                        "cidrAddress",
                        "countriesAndRegions",
                        "@odata.type",
                    ][..]
                )
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn real_policies() -> &'static [Value] {
    static CACHE: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    CACHE.get_or_init(load_real)
}

fn load_real() -> Vec<Value> {
    let mut out = Vec::new();
    for dir in [
        common::alexfilipin(),
        common::j0eyv().join("ConditionalAccess"),
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for p in paths {
            out.push(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap());
        }
    }
    out
}

/// Every path to a value inside `v`.
fn paths(v: &Value, prefix: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let mut p = prefix.clone();
                p.push(json!(k));
                paths(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let mut p = prefix.clone();
                p.push(json!(i));
                paths(child, p, out);
            }
        }
        _ => {}
    }
}

fn replace(v: &mut Value, path: &[Value], with: Value) {
    let mut cur = v;
    for step in path {
        cur = match (cur, step) {
            (Value::Object(o), Value::String(k)) => o.get_mut(k).unwrap(),
            (Value::Array(a), Value::Number(n)) => &mut a[n.as_u64().unwrap() as usize],
            _ => return,
        };
    }
    *cur = with;
}

/// Runs everything the engine does with a document; only panics matter.
fn exercise(policy: &Value, ctx: &Value) {
    let text = policy.to_string();
    if let Ok(p) = ConditionalAccessPolicy::from_json(&text) {
        let _ = serde_json::to_string(&p).unwrap();
        let _ = p.validate();
        if let Ok(set) = PolicySet::compile(&[p], &[]) {
            if let Ok(c) = parse_input(&ctx.to_string()) {
                let _ = set.explain(&c);
            }
            let _ = set.explain(&SignInContext::default());
        }
    }
    let _ = NamedLocation::from_json(&text).map(|l| l.validate());
    let _ = parse_input(&text);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_never_panics(doc in arb_json(), ctx in arb_json()) {
        exercise(&doc, &ctx);
    }

    #[test]
    fn mutated_real_policies_never_panic(which in 0..95usize, at in any::<prop::sample::Index>(), with in arb_json()) {
        let policies = real_policies();
        let mut p = policies[which % policies.len()].clone();
        let mut all = Vec::new();
        paths(&p, Vec::new(), &mut all);
        let path = at.get(&all).clone();
        replace(&mut p, &path, with);
        exercise(&p, &json!({"userId": "u", "clientApp": "other", "ip": "10.1.1.1", "groupIds": ["g"]}));
    }
}
