//! The two real policy sets load, validate, compile and round-trip.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;

use serde_json::Value;
use trustplane_access::*;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

/// Keys with a non-null value at the top level and in `conditions`, which must survive.
fn kept_keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Value::Object(o) = v {
        for (k, val) in o {
            let empty_array = val.as_array().is_some_and(Vec::is_empty);
            if !val.is_null() && !empty_array {
                out.push(k.clone());
            }
        }
    }
    out
}

fn round_trip_policy(path: &Path) -> ConditionalAccessPolicy {
    let text = std::fs::read_to_string(path).unwrap();
    let p = ConditionalAccessPolicy::from_json(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = serde_json::to_string_pretty(&p).unwrap();
    let again = ConditionalAccessPolicy::from_json(&out).unwrap();
    assert_eq!(p, again, "{} does not round-trip", path.display());
    // Unknown fields, e.g. `@odata.*` annotations and `#microsoft.graph.restore`, are kept.
    let original: Value = serde_json::from_str(&text).unwrap();
    let written: Value = serde_json::from_str(&out).unwrap();
    for k in kept_keys(&original) {
        assert!(written.get(&k).is_some(), "{}: `{k}` lost", path.display());
    }
    for k in kept_keys(&original["conditions"]) {
        assert!(
            written["conditions"].get(&k).is_some(),
            "{}: `conditions.{k}` lost",
            path.display()
        );
    }
    p
}

#[test]
fn alexfilipin_59_policies_load_validate_and_round_trip() {
    let paths = files(&common::alexfilipin());
    assert_eq!(paths.len(), 59);
    let policies: Vec<_> = paths.iter().map(|p| round_trip_policy(p)).collect();
    for p in &policies {
        assert_eq!(p.validate(), vec![], "{}", p.label());
    }
    let loaded = load_policies(&common::alexfilipin()).unwrap();
    assert_eq!(loaded, policies);
    let set = PolicySet::compile(&policies, &[]).unwrap();
    assert_eq!(set.len(), 59);
}

#[test]
fn j0eyv_36_policies_and_named_locations_load_and_round_trip() {
    let dir = common::j0eyv().join("ConditionalAccess");
    let paths = files(&dir);
    assert_eq!(paths.len(), 36);
    let policies: Vec<_> = paths.iter().map(|p| round_trip_policy(p)).collect();
    assert!(policies.iter().all(|p| p.id.is_some()));

    let mut locations = Vec::new();
    for path in files(&common::j0eyv().join("NamedLocations")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let l = NamedLocation::from_json(&text).unwrap();
        let again = NamedLocation::from_json(&serde_json::to_string(&l).unwrap()).unwrap();
        assert_eq!(l, again);
        assert_eq!(l.validate(), vec![]);
        locations.push(l);
    }
    assert_eq!(locations.len(), 3);
    assert!(locations.iter().any(
        |l| matches!(l, NamedLocation::Country(c) if c.countries_and_regions == ["BE", "LU", "NL"])
    ));
    assert!(locations
        .iter()
        .any(|l| matches!(l, NamedLocation::Other(_))));

    let set = PolicySet::compile(&policies, &locations).unwrap();
    assert_eq!(set.len(), 36);
    assert_eq!(set.warnings(), &[] as &[String]);
}

#[test]
fn j0eyv_groups_are_json_with_ids() {
    // The group exports give the ids the policies exclude; the what-if tests use them.
    let groups = files(&common::j0eyv().join("Groups"));
    assert!(groups.len() >= 30);
    for g in groups {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&g).unwrap()).unwrap();
        assert!(v["id"].is_string(), "{}", g.display());
    }
}

#[test]
fn all_95_real_policies_compile_together() {
    let mut all = load_policies(&common::alexfilipin()).unwrap();
    all.extend(load_policies(&common::j0eyv().join("ConditionalAccess")).unwrap());
    let locations = load_named_locations(&common::j0eyv().join("NamedLocations")).unwrap();
    assert_eq!(all.len(), 95);
    let set = PolicySet::compile(&all, &locations).unwrap();
    assert_eq!(set.len(), 95);
}

#[test]
fn odd_shapes_from_real_exports_are_accepted() {
    // `locations: []`, a flags enum as a string, a duplicate key (last wins), `All`/`all`.
    let text = r#"{
        "displayName": "odd", "state": "ENABLED", "sessionControls": null,
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["all"]},
            "clientAppTypes": ["All"], "locations": [],
            "insiderRiskLevels": "minor,elevated",
            "authenticationFlows": {"transferMethods": ["deviceCodeFlow", "authenticationTransfer"]},
            "somethingNew": {"x": 1}
        },
        "grantControls": {"operator": "or", "builtInControls": ["BLOCK"]},
        "sessionControls": {"persistentBrowser": {"isEnabled": true, "mode": "never"}}
    }"#;
    let p = ConditionalAccessPolicy::from_json(text).unwrap();
    assert_eq!(p.state, PolicyState::Enabled);
    assert_eq!(p.conditions.client_app_types, vec![ClientAppType::All]);
    assert!(p.conditions.locations.is_none());
    assert_eq!(
        p.conditions.insider_risk_levels.as_ref().unwrap().0,
        vec![InsiderRiskLevel::Minor, InsiderRiskLevel::Elevated]
    );
    assert!(p.session_controls.is_some());
    assert!(p.conditions.extra.contains_key("somethingNew"));
    let out = serde_json::to_value(&p).unwrap();
    assert_eq!(out["conditions"]["insiderRiskLevels"], "minor,elevated");
    assert_eq!(out["grantControls"]["builtInControls"][0], "block");
    assert_eq!(out["conditions"]["somethingNew"]["x"], 1);
}

#[test]
fn parse_errors_name_the_field() {
    let e =
        ConditionalAccessPolicy::from_json(r#"{"displayName":"x","conditions":{}}"#).unwrap_err();
    assert!(e.to_string().contains("state"), "{e}");
    let e = ConditionalAccessPolicy::from_json(
        r#"{"displayName":"x","state":"enabled","conditions":{"users":{"includeUsers":[1]}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.field(), "conditions.users.includeUsers[0]");
    assert!(ConditionalAccessPolicy::from_json("not json").is_err());
    assert!(ConditionalAccessPolicy::from_json("[]").is_err());
}

#[test]
fn validation_errors_name_the_field() {
    let base = |grant: &str| {
        format!(
            r#"{{"displayName":"v","state":"enabled","conditions":{{"users":{{"includeUsers":["All"]}},
            "applications":{{"includeApplications":["All"]}},"clientAppTypes":["all","teleport"]}},
            "grantControls":{grant}}}"#
        )
    };
    let p = ConditionalAccessPolicy::from_json(&base(
        r#"{"operator":"OR","builtInControls":["passwordChange","mfa"]}"#,
    ))
    .unwrap();
    let errors = p.validate();
    let fields: Vec<_> = errors.iter().map(|e| e.field()).collect();
    assert!(
        fields.contains(&"grantControls.builtInControls"),
        "{errors:?}"
    );
    assert!(fields.contains(&"conditions.clientAppTypes"), "{errors:?}");
    assert!(errors
        .iter()
        .any(|e| e.message().contains("passwordChange")));

    let p = ConditionalAccessPolicy::from_json(&base(
        r#"{"operator":"OR","builtInControls":["block","mfa"]}"#,
    ))
    .unwrap();
    assert!(p.validate().iter().any(|e| e.message().contains("block")));

    let p = ConditionalAccessPolicy::from_json(
        &base(r#"{"operator":"AND","builtInControls":["passwordChange","mfa"]}"#)
            .replace(r#","teleport""#, ""),
    )
    .unwrap();
    assert_eq!(p.validate(), vec![]);

    // Compile reports every error of every policy at once.
    let bad = ConditionalAccessPolicy::from_json(&base(r#"{"builtInControls":["block","mfa"]}"#))
        .unwrap();
    let err = PolicySet::compile(&[bad.clone(), bad], &[]).unwrap_err();
    assert_eq!(err.errors().len(), 4);
}
