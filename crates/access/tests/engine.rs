//! Hand-written policies: operators, named locations, session controls, defaults, inputs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use serde_json::json;
use trustplane_access::*;

/// A policy for all users and apps with the given conditions and grant controls merged in.
fn policy(
    id: &str,
    state: &str,
    conditions: serde_json::Value,
    grant: serde_json::Value,
) -> ConditionalAccessPolicy {
    let mut c = json!({
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"]
    });
    if let (Some(base), Some(extra)) = (c.as_object_mut(), conditions.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let mut p = json!({"id": id, "displayName": id, "state": state, "conditions": c});
    if let Some(o) = grant.as_object() {
        for (k, v) in o {
            p[k] = v.clone();
        }
    }
    serde_json::from_value(p).unwrap()
}

fn block() -> serde_json::Value {
    json!({"grantControls": {"operator": "OR", "builtInControls": ["block"]}})
}

fn user() -> SignInContext {
    SignInContext {
        user_id: Some("u1".into()),
        application_id: Some("app1".into()),
        ..Default::default()
    }
}

#[test]
fn policy_set_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicySet>();
    assert_send_sync::<Decision>();
}

#[test]
fn password_change_and_mfa_under_and_are_both_required() {
    let p = policy(
        "risky-user",
        "enabled",
        json!({"userRiskLevels": ["high"]}),
        json!({"grantControls": {"operator": "AND", "builtInControls": ["mfa", "passwordChange"]}}),
    );
    let set = PolicySet::compile(&[p], &[]).unwrap();
    let mut ctx = user();
    ctx.user_risk = Some(RiskLevel::High);
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Grant);
    let groups: Vec<_> = r
        .required_controls
        .iter()
        .map(|c| c.any_of.clone())
        .collect();
    assert_eq!(
        groups,
        [vec!["mfa".to_owned()], vec!["passwordChange".to_owned()]]
    );
    ctx.satisfied_controls = vec!["mfa".into()];
    let r = set.explain(&ctx);
    assert_eq!(r.required_controls.len(), 1);
    assert_eq!(r.required_controls[0].any_of, ["passwordChange"]);
    ctx.satisfied_controls.push("PASSWORDCHANGE".into());
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
}

#[test]
fn block_wins_over_grant_and_disabled_never_applies() {
    let set = PolicySet::compile(
        &[
            policy(
                "mfa",
                "enabled",
                json!({}),
                json!({"grantControls": {"builtInControls": ["mfa"]}}),
            ),
            policy(
                "block",
                "enabled",
                json!({"clientAppTypes": ["other"]}),
                block(),
            ),
            policy("off", "disabled", json!({}), block()),
        ],
        &[],
    )
    .unwrap();
    let mut ctx = user();
    let d = set.evaluate(&ctx);
    assert_eq!(d.result(), Outcome::Grant);
    assert_eq!(set.required_controls(&d)[0].any_of, ["mfa"]);
    assert_eq!(set.required_controls(&d)[0].policies, ["mfa"]);
    ctx.client_app = Some(ClientAppType::OtherClients);
    let d = set.evaluate(&ctx);
    assert_eq!(set.blocking_policies(&d), ["block"]);
    assert!(set.required_controls(&d).is_empty());
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Block);
    assert!(r.required_controls.is_empty());
    let off = r
        .not_applied_policies
        .iter()
        .find(|p| p.id == "off")
        .unwrap();
    assert_eq!(off.reasons, ["policyNotEnabled"]);
    assert_eq!(off.state, "disabled");
}

#[test]
fn trusted_ip_locations_exempt_and_untrusted_locations_block() {
    let loc = NamedLocation::from_json(
        r##"{"@odata.type":"#microsoft.graph.ipNamedLocation","id":"office","displayName":"Office",
            "isTrusted":true,"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},
            {"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8:1::/48"}]}"##,
    )
    .unwrap();
    let p = policy(
        "untrusted",
        "enabled",
        json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[loc]).unwrap();
    let mut ctx = user();
    for (ip, expected) in [
        ("203.0.113.9", Outcome::Allow),
        ("2001:db8:1:2::5", Outcome::Allow),
        ("::ffff:203.0.113.9", Outcome::Allow),
        ("198.51.100.1", Outcome::Block),
        ("2001:db8:2::1", Outcome::Block),
    ] {
        ctx.ip = Some(ip.parse().unwrap());
        assert_eq!(set.evaluate(&ctx).result(), expected, "{ip}");
    }
    ctx.ip = None;
    assert_eq!(
        set.evaluate(&ctx).result(),
        Outcome::Block,
        "unknown address is untrusted"
    );
}

#[test]
fn country_locations_and_unknown_countries() {
    let loc = NamedLocation::from_json(
        r##"{"@odata.type":"#microsoft.graph.countryNamedLocation","id":"blocked","displayName":"Blocked",
            "countriesAndRegions":["KP","ir"],"includeUnknownCountriesAndRegions":true}"##,
    )
    .unwrap();
    let p = policy(
        "geo",
        "enabled",
        json!({"locations": {"includeLocations": ["blocked"]}}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[loc]).unwrap();
    let lookup = StaticCountryLookup::new()
        .with_range("192.0.2.0/24", "ir")
        .unwrap()
        .with_range("192.0.2.128/25", "NL")
        .unwrap();
    let mut ctx = user();
    for (ip, expected) in [
        ("192.0.2.1", Outcome::Block),
        ("192.0.2.200", Outcome::Allow),  // longest prefix wins
        ("198.51.100.1", Outcome::Block), // no country: unknown
    ] {
        ctx.ip = Some(ip.parse().unwrap());
        ctx.country = None;
        resolve_country(&mut ctx, &lookup);
        assert_eq!(set.evaluate(&ctx).result(), expected, "{ip}");
    }
}

#[test]
fn unknown_named_location_is_a_warning_and_never_excludes() {
    let p = policy(
        "x",
        "enabled",
        json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["nope"]}}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[]).unwrap();
    assert_eq!(set.warnings().len(), 1);
    assert_eq!(set.evaluate(&user()).result(), Outcome::Block);
}

#[test]
fn session_controls_accumulate_strictest_wins() {
    let session = |s: serde_json::Value| json!({"sessionControls": s});
    let set = PolicySet::compile(
        &[
            policy("a", "enabled", json!({}), session(json!({"signInFrequency": {"isEnabled": true, "value": 1, "type": "days"}, "persistentBrowser": {"isEnabled": true, "mode": "always"}}))),
            policy("b", "enabled", json!({}), session(json!({"signInFrequency": {"isEnabled": true, "value": 12, "type": "hours"}, "persistentBrowser": {"isEnabled": true, "mode": "never"}, "cloudAppSecurity": {"isEnabled": true, "cloudAppSecurityType": "monitorOnly"}}))),
            policy("c", "enabled", json!({}), session(json!({"cloudAppSecurity": {"isEnabled": true, "cloudAppSecurityType": "blockDownloads"}, "applicationEnforcedRestrictions": {"isEnabled": true}}))),
            policy("d", "enabledForReportingButNotEnforced", json!({}), session(json!({"signInFrequency": {"isEnabled": true, "frequencyInterval": "everyTime"}}))),
        ],
        &[],
    )
    .unwrap();
    let r = set.explain(&user());
    assert_eq!(r.result, Outcome::Allow);
    let s = &r.session_controls;
    assert_eq!(s.sign_in_frequency, Some(Frequency::Hours { value: 12 }));
    assert_eq!(s.persistent_browser, Some(PersistentBrowserMode::Never));
    assert_eq!(
        s.cloud_app_security,
        Some(CloudAppSecurityType::BlockDownloads)
    );
    assert!(s.application_enforced_restrictions);
    // The report-only policy's stricter frequency is reported, not enforced.
    assert_eq!(
        r.report_only_policies[0].session_controls.sign_in_frequency,
        Some(Frequency::EveryTime)
    );
    let out = serde_json::to_value(&r).unwrap();
    assert_eq!(
        out["sessionControls"]["signInFrequency"],
        json!({"kind": "hours", "value": 12})
    );
}

#[test]
fn exclusions_beat_inclusions_for_every_id_kind() {
    let p = policy(
        "p",
        "enabled",
        json!({"users": {"includeUsers": ["All"], "excludeUsers": ["U1"], "includeGroups": ["g1"], "excludeGroups": ["g2"], "excludeRoles": ["r1"]},
               "applications": {"includeApplications": ["All"], "excludeApplications": ["APP2"]}}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[]).unwrap();
    let base = SignInContext {
        user_id: Some("u9".into()),
        application_id: Some("app1".into()),
        ..Default::default()
    };
    assert_eq!(set.evaluate(&base).result(), Outcome::Block);
    let cases: Vec<(SignInContext, &str)> = vec![
        (
            SignInContext {
                user_id: Some("u1".into()),
                ..base.clone()
            },
            "users",
        ),
        (
            SignInContext {
                group_ids: vec!["g1".into(), "G2".into()],
                ..base.clone()
            },
            "users",
        ),
        (
            SignInContext {
                role_ids: vec!["r1".into()],
                ..base.clone()
            },
            "users",
        ),
        (
            SignInContext {
                application_id: Some("app2".into()),
                ..base.clone()
            },
            "application",
        ),
    ];
    for (ctx, reason) in cases {
        let r = set.explain(&ctx);
        assert_eq!(r.result, Outcome::Allow, "{ctx:?}");
        assert_eq!(r.not_applied_policies[0].reasons, [reason]);
    }
}

#[test]
fn guest_types_and_tenants() {
    let p = policy(
        "guests",
        "enabled",
        json!({"users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest",
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants", "membershipKind": "enumerated", "members": ["t1"]}}}}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[]).unwrap();
    let mut ctx = user();
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
    ctx.is_guest = true;
    ctx.home_tenant_id = Some("T1".into());
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Block);
    ctx.home_tenant_id = Some("t2".into());
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
    ctx.home_tenant_id = Some("t1".into());
    ctx.guest_type = Some(GuestOrExternalUserType::B2bDirectConnectUser);
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
}

#[test]
fn workload_identity_policies_apply_only_to_service_principals() {
    let p = policy(
        "sp",
        "enabled",
        json!({"users": {"includeUsers": ["None"]},
               "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": ["sp2"]},
               "servicePrincipalRiskLevels": ["high"]}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[]).unwrap();
    assert_eq!(set.evaluate(&user()).result(), Outcome::Allow);
    let mut sp = SignInContext {
        service_principal_id: Some("sp1".into()),
        service_principal_risk: Some(RiskLevel::High),
        ..Default::default()
    };
    assert_eq!(set.evaluate(&sp).result(), Outcome::Block);
    sp.service_principal_risk = Some(RiskLevel::Low);
    assert_eq!(
        set.explain(&sp).not_applied_policies[0].reasons,
        ["workloadIdentities"]
    );
    sp.service_principal_id = Some("sp2".into());
    sp.service_principal_risk = Some(RiskLevel::High);
    assert_eq!(set.evaluate(&sp).result(), Outcome::Allow);
}

#[test]
fn security_defaults_block_legacy_and_require_mfa_for_admins() {
    let defaults = security_defaults();
    assert_eq!(defaults.len(), 2);
    for p in &defaults {
        assert_eq!(p.validate(), vec![]);
    }
    let roles = &defaults[1].conditions.users.as_ref().unwrap().include_roles;
    assert_eq!(roles.len(), 6);
    assert!(roles.contains(&"194ae4cb-b126-40b2-bd5b-6091b380977d".to_owned()));
    let set = PolicySet::compile(&defaults, &[]).unwrap();

    let mut ctx = user();
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
    ctx.client_app = Some(ClientAppType::ExchangeActiveSync);
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Block);
    ctx.client_app = Some(ClientAppType::Browser);
    for (role, _) in ADMIN_ROLES {
        ctx.role_ids = vec![role.to_string()];
        let r = set.explain(&ctx);
        assert_eq!(r.result, Outcome::Grant);
        assert_eq!(r.enforced_policies[0].id, ADMIN_MFA_ID);
    }
    ctx.satisfied_controls = vec!["mfa".into()];
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
    // Visible and editable: they round-trip as Graph JSON.
    for v in security_defaults_json() {
        let p = ConditionalAccessPolicy::from_json(&v.to_string()).unwrap();
        assert_eq!(
            serde_json::to_value(&p).unwrap()["@odata.type"],
            v["@odata.type"]
        );
    }
}

#[test]
fn graph_evaluate_body_is_accepted() {
    let body = r##"{
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": ["app1"]},
        "signInConditions": {"clientAppType": "exchangeActiveSync", "country": "NL", "devicePlatform": "iOS",
            "signInRiskLevel": "low", "ipAddress": "192.0.2.1",
            "deviceInfo": {"isCompliant": true, "trustType": "ServerAD", "deviceOwnership": "Company"},
            "authenticationFlow": {"transferMethod": "deviceCodeFlow"}},
        "appliedPoliciesOnly": false,
        "groupIds": ["g1"], "satisfiedControls": ["mfa"]
    }"##;
    let ctx = parse_input(body).unwrap();
    assert_eq!(ctx.user_id.as_deref(), Some("u1"));
    assert_eq!(ctx.application_id.as_deref(), Some("app1"));
    assert_eq!(ctx.client_app, Some(ClientAppType::ExchangeActiveSync));
    assert_eq!(ctx.device_platform, Some(DevicePlatform::Ios));
    assert_eq!(ctx.sign_in_risk, Some(RiskLevel::Low));
    assert!(ctx.device.compliant && ctx.device.trusted);
    assert_eq!(ctx.device.attributes["deviceOwnership"], "Company");
    assert_eq!(
        ctx.authentication_flow,
        Some(TransferMethod::DeviceCodeFlow)
    );
    assert_eq!(ctx.group_ids, ["g1"]);

    let action = parse_input(r##"{"signInContext": {"@odata.type": "#microsoft.graph.userActionContext", "userAction": "registerSecurityInformation"}}"##).unwrap();
    assert_eq!(
        action.user_action.as_deref(),
        Some("urn:user:registersecurityinfo")
    );

    let flat = parse_input(r##"{"user": "u1", "groups": ["g"], "app": "a", "platform": "Android", "clientApp": "OTHER", "ip": "::1"}"##).unwrap();
    assert_eq!(flat.client_app, Some(ClientAppType::OtherClients));
    assert_eq!(flat.device_platform, Some(DevicePlatform::Android));

    for (input, field) in [
        (r#"{"clientApp": "teleport"}"#, "clientApp"),
        (r#"{"clientApp": "all"}"#, "clientApp"),
        (r#"{"devicePlatform": "amiga"}"#, "devicePlatform"),
        (r#"{"signInRisk": "extreme"}"#, "signInRisk"),
        (
            r#"{"signInConditions": {"userRiskLevel": "extreme"}}"#,
            "userRisk",
        ),
    ] {
        let err = parse_input(input).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }

    let err = parse_input(r##"{"ip": "not an ip"}"##).unwrap_err();
    assert!(err.to_string().contains("ip"), "{err}");
}

#[test]
fn what_if_end_to_end_from_files() {
    let dir = std::env::temp_dir().join(format!("tp-access-whatif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.json");
    std::fs::write(
        &input,
        r##"{"userId": "u1", "groupIds": ["ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57"], "clientApp": "exchangeActiveSync",
            "devicePlatform": "windows", "ip": "192.0.2.1", "satisfiedControls": ["mfa"]}"##,
    )
    .unwrap();
    let lookup = StaticCountryLookup::new()
        .with_range("192.0.2.0/24", "NL")
        .unwrap();
    let report = what_if(
        &common::j0eyv().join("ConditionalAccess"),
        Some(&common::j0eyv().join("NamedLocations")),
        &input,
        Some(&lookup),
    )
    .unwrap();
    let out = serde_json::to_value(&report).unwrap();
    assert_eq!(out["result"], "block");
    for field in [
        "enforcedPolicies",
        "reportOnlyPolicies",
        "requiredControls",
        "sessionControls",
        "notAppliedPolicies",
    ] {
        assert!(out.get(field).is_some(), "{field}");
    }
    let blockers: Vec<&str> = out["enforcedPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["result"] == "block")
        .map(|p| p["displayName"].as_str().unwrap())
        .collect();
    // The country came from the lookup (NL is allowed), so only legacy authentication blocks.
    assert_eq!(
        blockers,
        ["CA002-Global-IdentityProtection-AnyApp-AnyPlatform-Block-LegacyAuthentication"]
    );
    assert!(out["notAppliedPolicies"][0]["reasons"].is_array());

    // A broken policy folder fails with every bad file named.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("a.json"), "{").unwrap();
    std::fs::write(bad.join("b.json"), r##"{"state": "enabled"}"##).unwrap();
    let err = what_if(&bad, None, &input, None).unwrap_err().to_string();
    assert!(
        err.contains("a.json") && err.contains("b.json") && err.contains("conditions"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "geoip")]
fn geolite2_path() -> Option<std::path::PathBuf> {
    // TRUSTPLANE_TEST_MMDB, else the database `pip install maxminddb-geolite2` ships.
    if let Some(p) = std::env::var_os("TRUSTPLANE_TEST_MMDB") {
        return Some(p.into());
    }
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import _maxminddb_geolite2, os; print(os.path.dirname(_maxminddb_geolite2.__file__))",
        ])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(std::path::Path::new(dir.trim()).join("GeoLite2-City.mmdb"))
}

#[cfg(feature = "geoip")]
#[test]
fn maxmind_database_lookup() {
    // scripts/test.sh installs maxminddb-geolite2 into the test venv; a missing database is a
    // failure unless TRUSTPLANE_SKIP_GEOIP=1 says to skip on purpose.
    let Some(path) = geolite2_path().filter(|p| p.exists()) else {
        assert_eq!(
            std::env::var("TRUSTPLANE_SKIP_GEOIP").as_deref(),
            Ok("1"),
            "no MaxMind database: set TRUSTPLANE_TEST_MMDB or install maxminddb-geolite2"
        );
        return;
    };
    let db = MaxMindCountryLookup::open(&path).unwrap();
    assert_eq!(
        db.country("8.8.8.8".parse().unwrap()).as_deref(),
        Some("US")
    );
    assert_eq!(
        db.country("81.2.69.160".parse().unwrap()).as_deref(),
        Some("GB")
    );
    assert_eq!(db.country("127.0.0.1".parse().unwrap()), None);
    assert!(MaxMindCountryLookup::open(std::path::Path::new("/nonexistent.mmdb")).is_err());

    // Block by country end to end: j0eyv allows BE/LU/NL only (CA001).
    let set = common::j0eyv_set();
    let mut ctx = parse_input(
        r#"{"userId": "u1", "groupIds": ["ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57"], "clientApp": "browser",
            "devicePlatform": "windows", "ip": "8.8.8.8", "satisfiedControls": ["mfa"],
            "device": {"compliant": true}}"#,
    )
    .unwrap();
    resolve_country(&mut ctx, &db);
    assert_eq!(ctx.country.as_deref(), Some("US"));
    let d = set.evaluate(&ctx);
    assert_eq!(d.result(), Outcome::Block);
    assert_eq!(
        set.blocking_policies(&d),
        ["19bbdbd4-d871-4964-a6ef-9b3054b9337c"]
    );
}

#[test]
fn authentication_strengths_by_id_or_name() {
    let strength = |id: &str, name: &str| {
        json!({"grantControls": {"operator": "OR", "builtInControls": [],
            "authenticationStrength": {"id": id, "displayName": name}}})
    };
    let set = PolicySet::compile(
        &[
            policy(
                "phr",
                "enabled",
                json!({}),
                strength(
                    "00000000-0000-0000-0000-000000000004",
                    "Phishing-resistant MFA",
                ),
            ),
            policy(
                "custom",
                "enabled",
                json!({"clientAppTypes": ["mobileAppsAndDesktopClients"]}),
                strength("6f1a0c3e-1111-4111-8111-0123456789ab", "FIDO2 only"),
            ),
        ],
        &[],
    )
    .unwrap();
    let mut ctx = user();
    for (satisfied, expected) in [
        (vec!["mfa"], Outcome::Grant),
        (vec!["00000000-0000-0000-0000-000000000003"], Outcome::Grant),
        (vec!["phishing-resistant mfa"], Outcome::Allow),
        (
            vec!["authenticationStrength:00000000-0000-0000-0000-000000000004"],
            Outcome::Allow,
        ),
    ] {
        ctx.satisfied_controls = satisfied.iter().map(|s| s.to_string()).collect();
        assert_eq!(set.evaluate(&ctx).result(), expected, "{satisfied:?}");
    }
    ctx.client_app = Some(ClientAppType::MobileAppsAndDesktopClients);
    let d = set.evaluate(&ctx);
    assert_eq!(
        set.required_controls(&d)[0].any_of,
        ["authenticationStrength:6f1a0c3e-1111-4111-8111-0123456789ab"]
    );
    ctx.satisfied_controls.push("FIDO2 only".into());
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
    ctx.satisfied_controls = vec![
        "00000000-0000-0000-0000-000000000004".into(),
        "6F1A0C3E-1111-4111-8111-0123456789AB".into(),
    ];
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
}

#[test]
fn named_location_kind_from_odata_type_or_fields() {
    for text in [
        r##"{"@odata.type":"#microsoft.graph.ipNamedLocation","id":"a","ipRanges":[]}"##,
        r#"{"@odata.type":"microsoft.graph.IPNamedLocation","id":"a"}"#,
        r#"{"id":"a","ipRanges":[{"cidrAddress":"192.0.2.1"}]}"#,
    ] {
        assert!(
            matches!(
                NamedLocation::from_json(text).unwrap(),
                NamedLocation::Ip(_)
            ),
            "{text}"
        );
    }
    assert!(matches!(
        NamedLocation::from_json(r#"{"id":"c","countriesAndRegions":["nl"]}"#).unwrap(),
        NamedLocation::Country(_)
    ));
    let other = NamedLocation::from_json(
        r##"{"@odata.type":"#microsoft.graph.compliantNetworkNamedLocation","id":"g","isTrusted":true}"##,
    )
    .unwrap();
    assert!(matches!(other, NamedLocation::Other(_)));
    // A compliant network location matches only when the sign-in comes through one.
    let p = policy(
        "gsa",
        "enabled",
        json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["g"]}}),
        block(),
    );
    let set = PolicySet::compile(&[p], &[other]).unwrap();
    let mut ctx = user();
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Block);
    ctx.compliant_network = true;
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
    // Invalid ranges and codes are validation errors naming the field.
    let bad = NamedLocation::from_json(r#"{"id":"b","ipRanges":[{"cidrAddress":"300.1.1.1/8"}]}"#)
        .unwrap();
    assert_eq!(bad.validate()[0].field(), "ipRanges[0].cidrAddress");
    let bad = NamedLocation::from_json(r#"{"id":"b","countriesAndRegions":["NLD"]}"#).unwrap();
    assert_eq!(bad.validate()[0].field(), "countriesAndRegions[0]");
}

#[test]
fn what_if_shows_a_policys_full_grant_controls_beside_what_is_still_needed() {
    let p = policy(
        "device-or-mfa",
        "enabled",
        json!({}),
        json!({"grantControls": {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}}),
    );
    let set = PolicySet::compile(&[p], &[]).unwrap();
    let mut ctx = user();
    ctx.device.compliant = true;
    let report = set.explain(&ctx);
    assert_eq!(report.result, Outcome::Allow);
    let applied = &report.enforced_policies[0];
    // A compliant device satisfies the policy, but the report still says what it asks for.
    let grant = applied.grant_controls.as_ref().unwrap();
    assert_eq!(grant.operator, "OR");
    assert_eq!(grant.controls, ["mfa", "compliantDevice"]);
    assert!(applied.required_controls.is_empty());
    let graph = report.to_graph_results();
    assert_eq!(
        graph["value"][0]["grantControls"]["builtInControls"],
        json!(["mfa", "compliantDevice"])
    );

    // Without the device, the same full controls and what is still needed.
    let report = set.explain(&user());
    let applied = &report.enforced_policies[0];
    assert_eq!(applied.grant_controls.as_ref().unwrap().controls.len(), 2);
    assert_eq!(
        applied.required_controls[0].any_of,
        ["mfa", "compliantDevice"]
    );
}

#[test]
fn a_blocking_policy_reports_block_as_its_grant_control() {
    let set = PolicySet::compile(&[policy("stop", "enabled", json!({}), block())], &[]).unwrap();
    let report = set.explain(&user());
    let grant = report.enforced_policies[0].grant_controls.as_ref().unwrap();
    assert_eq!(grant.controls, ["block"]);
}

#[test]
fn unknown_what_if_fields_are_refused_with_the_likely_name() {
    for (input, unknown, meant) in [
        (
            json!({"userId": "u1", "signInRiskLevel": "high"}),
            "signInRiskLevel",
            "signInRisk",
        ),
        (
            json!({"userId": "u1", "device": {"isCompliant": true}}),
            "isCompliant",
            "compliant",
        ),
        (
            json!({"signInIdentity": {"userId": "u1"}, "signInConditions": {"signInRisk": "high"}}),
            "signInRisk",
            "signInRiskLevel",
        ),
    ] {
        let e = parse_input(&input.to_string()).unwrap_err().to_string();
        assert!(e.contains(&format!("unknown field `{unknown}`")), "{e}");
        assert!(e.contains(&format!("did you mean `{meant}`")), "{e}");
    }
    // Graph's annotations and every known name and alias still pass.
    parse_input(
        &json!({"signInIdentity": {"userId": "u1"},
                "signInConditions": {"@odata.type": "#microsoft.graph.signInConditions", "signInRiskLevel": "high"}})
        .to_string(),
    )
    .unwrap();
    parse_input(&json!({"user": "u1", "groups": ["g"], "clientAppType": "browser", "ipAddress": "192.0.2.1"}).to_string())
        .unwrap();
}

#[test]
fn a_folder_without_policies_is_an_error_not_an_allow() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a policy").unwrap();
    let e = load_policies(dir.path()).unwrap_err().to_string();
    assert!(e.contains("holds no policy"), "{e}");
}
