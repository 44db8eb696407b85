//! Properties over generated policies and sign-ins (fixed seed, so runs are deterministic):
//! adding an exclusion never makes a policy apply where it did not; a disabled or report-only
//! policy never changes the result; and the compiled, indexed evaluator agrees with a naive
//! model that reads each policy's conditions directly.
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use proptest::sample::subsequence;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use trustplane_access::*;

fn config() -> Config {
    Config {
        cases: 300,
        rng_seed: RngSeed::Fixed(0x7e57_ca11),
        failure_persistence: None,
        ..Config::default()
    }
}

fn locations() -> Vec<NamedLocation> {
    vec![
        NamedLocation::from_json(
            r#"{"id":"l0","displayName":"l0","isTrusted":true,
                "ipRanges":[{"cidrAddress":"10.0.0.0/8"}]}"#,
        )
        .unwrap(),
        NamedLocation::from_json(
            r#"{"id":"l1","displayName":"l1","countriesAndRegions":["NL"],"includeUnknownCountriesAndRegions":true}"#,
        )
        .unwrap(),
    ]
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

prop_compose! {
    fn arb_policy()(
        inc_users in subsequence(&["All", "None", "u0", "u1", "u2"][..], 0..3),
        exc_users in subsequence(&["u0", "u1", "u3"][..], 0..2),
        inc_groups in subsequence(&["g0", "g1", "g2"][..], 0..2),
        exc_groups in subsequence(&["g1", "g3"][..], 0..2),
        inc_roles in subsequence(&["r0", "r1"][..], 0..2),
        exc_roles in subsequence(&["r1", "r2"][..], 0..2),
        guests in any::<bool>(),
        inc_apps in subsequence(&["All", "a0", "a1", "a2"][..], 1..3),
        exc_apps in subsequence(&["a1", "a3"][..], 0..2),
        clients in subsequence(&["all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"][..], 0..3),
        platforms in proptest::option::of((subsequence(&["all", "android", "iOS", "windows", "macOS"][..], 1..3),
                                          subsequence(&["android", "iOS", "windows", "linux"][..], 0..2))),
        locations in proptest::option::of((subsequence(&["All", "AllTrusted", "l0", "l1"][..], 1..3),
                                          subsequence(&["AllTrusted", "l0", "l1"][..], 0..2))),
        sign_in_risk in subsequence(&["low", "medium", "high"][..], 0..2),
        user_risk in subsequence(&["low", "high"][..], 0..2),
        grant in 0..4usize,
        state in prop::sample::select(&["enabled", "enabledForReportingButNotEnforced", "disabled"][..]),
        session in any::<bool>(),
        id in 0..1_000_000u32,
    ) -> Value {
        let mut users = json!({
            "includeUsers": strs(&inc_users), "excludeUsers": strs(&exc_users),
            "includeGroups": strs(&inc_groups), "excludeGroups": strs(&exc_groups),
            "includeRoles": strs(&inc_roles), "excludeRoles": strs(&exc_roles),
        });
        if guests {
            users["includeGuestsOrExternalUsers"] = json!({"guestOrExternalUserTypes": "b2bCollaborationGuest",
                "externalTenants": {"membershipKind": "all"}});
        }
        if inc_users.is_empty() && inc_groups.is_empty() && inc_roles.is_empty() && !guests {
            users["includeUsers"] = json!(["All"]);
        }
        let mut conditions = json!({
            "users": users,
            "applications": {"includeApplications": strs(&inc_apps), "excludeApplications": strs(&exc_apps)},
            "clientAppTypes": strs(&clients),
            "signInRiskLevels": strs(&sign_in_risk),
            "userRiskLevels": strs(&user_risk),
        });
        if let Some((i, x)) = platforms {
            conditions["platforms"] = json!({"includePlatforms": strs(&i), "excludePlatforms": strs(&x)});
        }
        if let Some((i, x)) = locations {
            conditions["locations"] = json!({"includeLocations": strs(&i), "excludeLocations": strs(&x)});
        }
        let grant = match grant {
            0 => json!({"operator": "OR", "builtInControls": ["block"]}),
            1 => json!({"operator": "OR", "builtInControls": ["mfa"]}),
            2 => json!({"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]}),
            _ => json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
        };
        let mut p = json!({"id": format!("p{id}"), "displayName": format!("p{id}"), "state": state,
                           "conditions": conditions, "grantControls": grant});
        if session {
            p["sessionControls"] = json!({"signInFrequency": {"isEnabled": true, "value": 1 + id % 23, "type": "hours"}});
        }
        p
    }
}

prop_compose! {
    fn arb_context()(
        user in prop::sample::select(&["u0", "u1", "u2", "u3", "u4"][..]),
        groups in subsequence(&["g0", "g1", "g2", "g3"][..], 0..3),
        roles in subsequence(&["r0", "r1", "r2"][..], 0..2),
        guest in any::<bool>(),
        app in prop::sample::select(&["a0", "a1", "a2", "a3", "a4"][..]),
        client in prop::sample::select(&["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"][..]),
        platform in proptest::option::of(prop::sample::select(&["android", "iOS", "windows", "macOS", "linux"][..])),
        ip in prop::sample::select(&["10.1.2.3", "192.0.2.1"][..]),
        country in proptest::option::of(prop::sample::select(&["NL", "US"][..])),
        sign_in_risk in prop::sample::select(&["none", "low", "medium", "high"][..]),
        user_risk in prop::sample::select(&["none", "low", "high"][..]),
        mfa in any::<bool>(),
        compliant in any::<bool>(),
        trusted in any::<bool>(),
    ) -> SignInContext {
        serde_json::from_value(json!({
            "userId": user, "groupIds": strs(&groups), "roleIds": strs(&roles), "isGuest": guest,
            "applicationId": app, "clientApp": client, "devicePlatform": platform, "ip": ip,
            "country": country, "signInRisk": sign_in_risk, "userRisk": user_risk,
            "device": {"compliant": compliant, "trusted": trusted},
            "satisfiedControls": if mfa { vec!["mfa"] } else { vec![] },
        })).unwrap()
    }
}

/// Adds one exclusion of kind `kind` (value chosen by `pick`) to a policy.
fn add_exclusion(p: &mut Value, kind: usize, pick: usize) {
    let c = &mut p["conditions"];
    let push = |v: &mut Value, x: &str| {
        if !v.is_array() {
            *v = json!([]);
        }
        if let Some(a) = v.as_array_mut() {
            a.push(json!(x));
        }
    };
    match kind {
        0 => push(
            &mut c["users"]["excludeUsers"],
            ["u0", "u1", "u2", "u4"][pick % 4],
        ),
        1 => push(
            &mut c["users"]["excludeGroups"],
            ["g0", "g1", "g2"][pick % 3],
        ),
        2 => push(&mut c["users"]["excludeRoles"], ["r0", "r1"][pick % 2]),
        3 => push(
            &mut c["applications"]["excludeApplications"],
            ["a0", "a2", "a4"][pick % 3],
        ),
        4 => {
            if c["platforms"].is_null() {
                c["platforms"] = json!({"includePlatforms": ["all"], "excludePlatforms": []});
            }
            push(
                &mut c["platforms"]["excludePlatforms"],
                ["android", "iOS", "windows", "macOS"][pick % 4],
            );
        }
        5 => {
            if c["locations"].is_null() {
                c["locations"] = json!({"includeLocations": ["All"], "excludeLocations": []});
            }
            push(
                &mut c["locations"]["excludeLocations"],
                ["AllTrusted", "l0", "l1"][pick % 3],
            );
        }
        _ => {
            c["users"]["excludeGuestsOrExternalUsers"] =
                json!({"guestOrExternalUserTypes": "b2bCollaborationGuest,internalGuest"});
        }
    }
}

fn applied(set: &PolicySet, ctx: &SignInContext) -> bool {
    let d = set.evaluate(ctx);
    !d.enforced().is_empty() || !d.report_only().is_empty()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn adding_an_exclusion_never_makes_a_policy_apply(
        p in arb_policy(), kind in 0..7usize, pick in 0..12usize,
        contexts in prop::collection::vec(arb_context(), 8),
    ) {
        let locs = locations();
        let before: ConditionalAccessPolicy = serde_json::from_value(p.clone()).unwrap();
        let mut q = p;
        add_exclusion(&mut q, kind, pick);
        let after: ConditionalAccessPolicy = serde_json::from_value(q).unwrap();
        let s0 = PolicySet::compile(&[before], &locs).unwrap();
        let s1 = PolicySet::compile(&[after], &locs).unwrap();
        for ctx in &contexts {
            if applied(&s1, ctx) {
                prop_assert!(applied(&s0, ctx), "exclusion made the policy apply: {ctx:?}");
            }
        }
    }

    #[test]
    fn a_disabled_policy_never_changes_the_result(
        policies in prop::collection::vec(arb_policy(), 0..6),
        disabled in arb_policy(),
        at in 0..6usize,
        contexts in prop::collection::vec(arb_context(), 8),
    ) {
        let locs = locations();
        let parse = |v: &Value| -> ConditionalAccessPolicy { serde_json::from_value(v.clone()).unwrap() };
        let base: Vec<_> = policies.iter().map(parse).collect();
        let mut d = disabled;
        d["state"] = json!("disabled");
        d["id"] = json!("the-disabled-one");
        let mut with = base.clone();
        with.insert(at.min(with.len()), parse(&d));
        let s0 = PolicySet::compile(&base, &locs).unwrap();
        let s1 = PolicySet::compile(&with, &locs).unwrap();
        for ctx in &contexts {
            let (mut r0, mut r1) = (s0.explain(ctx), s1.explain(ctx));
            prop_assert!(r1.not_applied_policies.iter().any(|p| p.id == "the-disabled-one"
                && p.reasons.contains(&"policyNotEnabled")));
            r0.not_applied_policies.clear();
            r1.not_applied_policies.clear();
            prop_assert_eq!(r0, r1);
        }
    }
}

/// A naive model of "does this policy apply": each condition read straight from the Graph
/// types, written independently of the compiled index.
fn model_applies(p: &ConditionalAccessPolicy, ctx: &SignInContext) -> bool {
    if p.state == PolicyState::Disabled {
        return false;
    }
    let c = &p.conditions;
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let has = |list: &[String], v: &str| list.iter().any(|x| eq(x, v));
    let any_of = |list: &[String], vs: &[String]| vs.iter().any(|v| has(list, v));

    let u = c.users.as_ref().unwrap();
    let user = ctx.user_id.as_deref().unwrap_or("");
    let guest_rule = |g: &Option<GuestsOrExternalUsers>| ctx.is_guest && g.is_some();
    let included = has(&u.include_users, "All")
        || has(&u.include_users, user)
        || (ctx.is_guest && has(&u.include_users, "GuestsOrExternalUsers"))
        || any_of(&u.include_groups, &ctx.group_ids)
        || any_of(&u.include_roles, &ctx.role_ids)
        || guest_rule(&u.include_guests_or_external_users);
    let excluded = has(&u.exclude_users, user)
        || (ctx.is_guest && has(&u.exclude_users, "GuestsOrExternalUsers"))
        || any_of(&u.exclude_groups, &ctx.group_ids)
        || any_of(&u.exclude_roles, &ctx.role_ids)
        || guest_rule(&u.exclude_guests_or_external_users);
    if !included || excluded {
        return false;
    }

    let a = c.applications.as_ref().unwrap();
    let app = ctx.application_id.as_deref().unwrap_or("");
    if !(has(&a.include_applications, "All") || has(&a.include_applications, app))
        || has(&a.exclude_applications, app)
    {
        return false;
    }

    let client = ctx.client_app.clone().unwrap_or(ClientAppType::Browser);
    if !(c.client_app_types.is_empty()
        || c.client_app_types.contains(&ClientAppType::All)
        || c.client_app_types.contains(&client))
    {
        return false;
    }

    if let Some(pl) = c
        .platforms
        .as_ref()
        .filter(|p| !p.include_platforms.is_empty())
    {
        let inc = pl.include_platforms.contains(&DevicePlatform::All)
            || ctx
                .device_platform
                .as_ref()
                .is_some_and(|x| pl.include_platforms.contains(x));
        let exc = ctx
            .device_platform
            .as_ref()
            .is_some_and(|x| pl.exclude_platforms.contains(x));
        if !inc || exc {
            return false;
        }
    }

    if let Some(l) = c
        .locations
        .as_ref()
        .filter(|l| !l.include_locations.is_empty())
    {
        // The generated locations: l0 = 10.0.0.0/8 (trusted), l1 = NL or unknown country.
        let in_l0 = ctx.ip.is_some_and(|ip| ip.to_string().starts_with("10."));
        let in_l1 = matches!(ctx.country.as_deref(), None | Some("NL"));
        let matches = |id: &str| match id {
            "All" => true,
            "AllTrusted" | "l0" => in_l0,
            "l1" => in_l1,
            _ => false,
        };
        if !l.include_locations.iter().any(|x| matches(x))
            || l.exclude_locations.iter().any(|x| x != "All" && matches(x))
        {
            return false;
        }
    }

    let risk = |levels: &[RiskLevel], actual: &Option<RiskLevel>| {
        levels.is_empty() || levels.contains(actual.as_ref().unwrap_or(&RiskLevel::None))
    };
    risk(&c.sign_in_risk_levels, &ctx.sign_in_risk) && risk(&c.user_risk_levels, &ctx.user_risk)
}

/// The naive model of what an applied policy asks for.
fn model_outcome(p: &ConditionalAccessPolicy, ctx: &SignInContext) -> Outcome {
    let Some(g) = &p.grant_controls else {
        return Outcome::Allow;
    };
    if g.built_in_controls.contains(&BuiltInControl::Block) {
        return Outcome::Block;
    }
    let ok = |c: &BuiltInControl| match c {
        BuiltInControl::Mfa => ctx.satisfied_controls.iter().any(|s| s == "mfa"),
        BuiltInControl::CompliantDevice => ctx.device.compliant,
        BuiltInControl::DomainJoinedDevice => ctx.device.trusted,
        _ => false,
    };
    let satisfied = if g.operator() == GrantOperator::And {
        g.built_in_controls.iter().all(ok)
    } else {
        g.built_in_controls.iter().any(ok)
    };
    if satisfied || g.built_in_controls.is_empty() {
        Outcome::Allow
    } else {
        Outcome::Grant
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn compiled_evaluator_agrees_with_the_naive_model(
        policies in prop::collection::vec(arb_policy(), 1..12),
        contexts in prop::collection::vec(arb_context(), 8),
    ) {
        let parsed: Vec<ConditionalAccessPolicy> =
            policies.iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
        let set = PolicySet::compile(&parsed, &locations()).unwrap();
        for ctx in &contexts {
            let d = set.evaluate(ctx);
            let mut applied: Vec<usize> =
                d.enforced().iter().chain(d.report_only()).map(AppliedPolicy::index).collect();
            applied.sort_unstable();
            let expected: Vec<usize> = parsed
                .iter()
                .enumerate()
                .filter(|(_, p)| model_applies(p, ctx))
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(&applied, &expected, "context {:?}", ctx);
            for a in d.enforced().iter().chain(d.report_only()) {
                prop_assert_eq!(a.outcome(), model_outcome(&parsed[a.index()], ctx));
            }
            // Enforcement: block wins, then missing controls, else allow.
            let enforced: Vec<_> = d.enforced().iter().map(AppliedPolicy::outcome).collect();
            let want = enforced.iter().copied().min().unwrap_or(Outcome::Allow);
            prop_assert_eq!(d.result(), want);
        }
    }

    #[test]
    fn a_report_only_policy_never_changes_the_result(
        policies in prop::collection::vec(arb_policy(), 0..6),
        extra in arb_policy(),
        contexts in prop::collection::vec(arb_context(), 8),
    ) {
        let parse = |v: &Value| -> ConditionalAccessPolicy { serde_json::from_value(v.clone()).unwrap() };
        let base: Vec<_> = policies.iter().map(parse).collect();
        let mut r = extra;
        r["state"] = json!("enabledForReportingButNotEnforced");
        let mut with = base.clone();
        with.push(parse(&r));
        let s0 = PolicySet::compile(&base, &locations()).unwrap();
        let s1 = PolicySet::compile(&with, &locations()).unwrap();
        for ctx in &contexts {
            let (a, b) = (s0.evaluate(ctx), s1.evaluate(ctx));
            prop_assert_eq!(a.result(), b.result());
            prop_assert_eq!(a.enforced(), b.enforced());
            prop_assert_eq!(a.session_controls(), b.session_controls());
            prop_assert_eq!(s0.required_controls(&a), s1.required_controls(&b));
        }
    }
}
