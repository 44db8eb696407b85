//! What-if cases in the style of Maester against the real j0eyv baseline (36 policies, its
//! groups and named locations). Expected results were worked out by reading the policies.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use trustplane_access::*;

const E5: &str = "ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57"; // APP_Microsoft365_E5 (internals)
const BREAK_GLASS: &str = "2802b872-ccfb-4b29-a9a9-459808dfb11b";
const SERVICE_ACCOUNTS: &str = "77c1ed37-10d0-4ef1-93dc-198e70abb166";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const GRAPH_EXPLORER: &str = "de8bc8b5-d9f9-48b1-a8ad-b748da725064";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const AZURE_PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

/// An internal user on a managed Windows device in the Netherlands, MFA done.
fn employee() -> SignInContext {
    SignInContext {
        user_id: Some("11111111-1111-1111-1111-111111111111".into()),
        group_ids: vec![E5.into()],
        application_id: Some(GRAPH_EXPLORER.into()),
        client_app: Some(ClientAppType::Browser),
        device_platform: Some(DevicePlatform::Windows),
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("NL".into()),
        device: DeviceInfo {
            compliant: true,
            ..Default::default()
        },
        satisfied_controls: vec!["mfa".into()],
        ..Default::default()
    }
}

fn names(list: &[PolicyResult]) -> Vec<&str> {
    list.iter().map(|p| &p.display_name[..5]).collect()
}

fn reasons<'a>(r: &'a Report, prefix: &str) -> &'a [&'static str] {
    &r.not_applied_policies
        .iter()
        .find(|p| p.display_name.starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} applied"))
        .reasons
}

#[test]
fn managed_employee_with_mfa_is_allowed() {
    let set = common::j0eyv_set();
    let r = set.explain(&employee());
    assert_eq!(r.result, Outcome::Allow, "{r:#?}");
    // MFA for everyone and internals, Windows compliance, CAE strict location.
    assert_eq!(
        names(&r.enforced_policies),
        ["CA000", "CA200", "CA205", "CA209"]
    );
    assert!(r
        .enforced_policies
        .iter()
        .all(|p| p.result == Outcome::Allow));
    assert!(r.required_controls.is_empty());
    assert_eq!(
        r.session_controls.continuous_access_evaluation,
        Some(CaeMode::StrictLocation)
    );
    // The compliant device is excluded by CA202's device filter.
    assert_eq!(reasons(&r, "CA202"), ["devices"]);
    assert_eq!(reasons(&r, "CA204"), ["devicePlatform"]);
    assert_eq!(reasons(&r, "CA101"), ["users"]);
    assert_eq!(reasons(&r, "CA002"), ["clientApps"]);
}

#[test]
fn unmanaged_device_without_mfa_needs_mfa_and_a_managed_device() {
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.device = DeviceInfo::default();
    ctx.satisfied_controls.clear();
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Grant);
    let groups: Vec<Vec<String>> = r
        .required_controls
        .iter()
        .map(|c| c.any_of.clone())
        .collect();
    assert_eq!(
        groups,
        [
            vec!["mfa".to_owned()],
            vec!["compliantDevice".into(), "domainJoinedDevice".into()]
        ]
    );
    assert_eq!(r.required_controls[0].policies.len(), 2); // CA000 and CA200
                                                          // Unmanaged: 12-hour sign-in frequency (CA202) and no persistent browser (CA206).
    assert_eq!(
        r.session_controls.sign_in_frequency,
        Some(Frequency::Hours { value: 12 })
    );
    assert_eq!(
        r.session_controls.persistent_browser,
        Some(PersistentBrowserMode::Never)
    );
    // A hybrid joined device satisfies CA205 instead of compliance.
    ctx.device.trusted = true;
    ctx.satisfied_controls.push("mfa".into());
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
}

#[test]
fn legacy_authentication_is_blocked() {
    let set = common::j0eyv_set();
    for client in [
        ClientAppType::ExchangeActiveSync,
        ClientAppType::OtherClients,
    ] {
        let mut ctx = employee();
        ctx.client_app = Some(client);
        let r = set.explain(&ctx);
        assert_eq!(r.result, Outcome::Block);
        let ca002 = r
            .enforced_policies
            .iter()
            .find(|p| p.display_name.starts_with("CA002"))
            .unwrap();
        assert_eq!(ca002.result, Outcome::Block);
        assert!(ca002.id.starts_with("c1acdef5"));
        assert!(r.required_controls.is_empty(), "a block asks for nothing");
    }
}

#[test]
fn break_glass_account_is_excluded_everywhere() {
    let set = common::j0eyv_set();
    let ctx = SignInContext {
        user_id: Some("b1".into()),
        group_ids: vec![BREAK_GLASS.into()],
        role_ids: vec![GLOBAL_ADMIN.into()],
        client_app: Some(ClientAppType::OtherClients),
        country: Some("US".into()),
        device_platform: Some(DevicePlatform::Linux),
        ..Default::default()
    };
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Allow, "{r:#?}");
    assert!(r.enforced_policies.is_empty());
    for p in ["CA000", "CA001", "CA002", "CA101", "CA204"] {
        assert!(reasons(&r, p).contains(&"users"), "{p}");
    }
    // Without the exclusion group the same sign-in is blocked.
    let mut ctx = ctx;
    ctx.group_ids.clear();
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Block);
}

#[test]
fn admins_need_mfa_and_short_sessions() {
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.role_ids = vec![GLOBAL_ADMIN.into()];
    ctx.satisfied_controls.clear();
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Grant);
    assert!(names(&r.enforced_policies).contains(&"CA101"));
    assert!(names(&r.enforced_policies).contains(&"CA102"));
    assert!(names(&r.enforced_policies).contains(&"CA103"));
    assert_eq!(r.required_controls.len(), 1);
    assert_eq!(r.required_controls[0].any_of, ["mfa"]);
    assert_eq!(
        r.session_controls.sign_in_frequency,
        Some(Frequency::Hours { value: 12 })
    );
    assert_eq!(
        r.session_controls.persistent_browser,
        Some(PersistentBrowserMode::Never)
    );

    // Admin portals need the MFA authentication strength; `mfa` satisfies it.
    ctx.application_id = Some(AZURE_PORTAL.into());
    let r = set.explain(&ctx);
    assert!(names(&r.enforced_policies).contains(&"CA100"));
    assert!(r
        .required_controls
        .iter()
        .any(|c| c.any_of == ["authenticationStrength:00000000-0000-0000-0000-000000000002"]));
    ctx.satisfied_controls = vec!["mfa".into()];
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
}

#[test]
fn report_only_policy_is_reported_not_enforced() {
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.role_ids = vec![GLOBAL_ADMIN.into()];
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Allow);
    // CA105 (report-only) would require phishing-resistant MFA.
    let ca105 = r
        .report_only_policies
        .iter()
        .find(|p| p.display_name.starts_with("CA105"))
        .unwrap();
    assert_eq!(ca105.result, Outcome::Grant);
    assert_eq!(
        ca105.required_controls[0].any_of,
        ["authenticationStrength:00000000-0000-0000-0000-000000000004"]
    );
    // With a phishing-resistant method it would be satisfied.
    ctx.satisfied_controls = vec!["00000000-0000-0000-0000-000000000004".into()];
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Allow);
    assert_eq!(r.report_only_policies[0].result, Outcome::Allow);
}

#[test]
fn guests_need_mfa_and_are_kept_to_office365() {
    let set = common::j0eyv_set();
    let guest = SignInContext {
        user_id: Some("g1".into()),
        is_guest: true,
        application_id: Some(GRAPH_EXPLORER.into()),
        client_app: Some(ClientAppType::Browser),
        device_platform: Some(DevicePlatform::MacOs),
        country: Some("BE".into()),
        ..Default::default()
    };
    let r = set.explain(&guest);
    assert_eq!(r.result, Outcome::Block);
    assert!(r
        .enforced_policies
        .iter()
        .any(|p| p.display_name.starts_with("CA401") && p.result == Outcome::Block));

    let mut to_exchange = guest.clone();
    to_exchange.application_id = Some(EXCHANGE.into());
    let r = set.explain(&to_exchange);
    assert_eq!(r.result, Outcome::Grant);
    assert_eq!(reasons(&r, "CA401"), ["application"]);
    assert_eq!(r.required_controls[0].any_of, ["mfa"]);
    assert_eq!(
        r.session_controls.sign_in_frequency,
        Some(Frequency::Hours { value: 12 })
    );

    // Guests are blocked from admin portals.
    let mut to_portal = guest;
    to_portal.application_id = Some(AZURE_PORTAL.into());
    assert!(set
        .explain(&to_portal)
        .enforced_policies
        .iter()
        .any(|p| p.display_name.starts_with("CA404") && p.result == Outcome::Block));
}

#[test]
fn sign_ins_from_outside_allowed_countries_are_blocked() {
    let set = common::j0eyv_set();
    for country in [Some("US"), None] {
        let mut ctx = employee();
        ctx.country = country.map(str::to_owned);
        let r = set.explain(&ctx);
        assert_eq!(r.result, Outcome::Block, "{country:?}");
        assert!(names(&r.enforced_policies).contains(&"CA001"));
    }
    let mut ctx = employee();
    ctx.country = Some("lu".into());
    assert_eq!(reasons(&set.explain(&ctx), "CA001"), ["location"]);
}

#[test]
fn service_accounts_are_kept_to_their_own_countries() {
    let set = common::j0eyv_set();
    let svc = SignInContext {
        user_id: Some("svc".into()),
        group_ids: vec![SERVICE_ACCOUNTS.into()],
        client_app: Some(ClientAppType::MobileAppsAndDesktopClients),
        device_platform: Some(DevicePlatform::Windows),
        country: Some("BE".into()),
        satisfied_controls: vec!["mfa".into()],
        ..Default::default()
    };
    let r = set.explain(&svc);
    assert_eq!(r.result, Outcome::Block);
    assert_eq!(
        r.enforced_policies
            .iter()
            .filter(|p| p.result == Outcome::Block)
            .map(|p| &p.display_name[..5])
            .collect::<Vec<_>>(),
        ["CA301"]
    );
    let mut nl = svc;
    nl.country = Some("NL".into());
    assert_eq!(set.evaluate(&nl).result(), Outcome::Allow);
}

#[test]
fn risky_sign_ins_and_users_are_blocked() {
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.sign_in_risk = Some(RiskLevel::High);
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Block);
    assert!(names(&r.enforced_policies).contains(&"CA210"));

    let mut ctx = employee();
    ctx.user_risk = Some(RiskLevel::High);
    assert!(names(&set.explain(&ctx).enforced_policies).contains(&"CA201"));

    let mut ctx = employee();
    ctx.sign_in_risk = Some(RiskLevel::Medium);
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Allow);
    assert_eq!(reasons(&r, "CA210"), ["signInRisk"]);
    assert_eq!(reasons(&r, "CA201"), ["userRisk"]);
}

#[test]
fn unknown_device_platforms_are_blocked() {
    let set = common::j0eyv_set();
    for platform in [Some(DevicePlatform::Linux), None] {
        let mut ctx = employee();
        ctx.device_platform = platform.clone();
        let r = set.explain(&ctx);
        assert_eq!(r.result, Outcome::Block, "{platform:?}");
        assert!(names(&r.enforced_policies).contains(&"CA204"));
    }
    let mut ctx = employee();
    ctx.device_platform = Some(DevicePlatform::Ios);
    assert_eq!(set.evaluate(&ctx).result(), Outcome::Allow);
}

#[test]
fn device_code_flow_is_blocked() {
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.authentication_flow = Some(TransferMethod::DeviceCodeFlow);
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Block);
    assert!(names(&r.enforced_policies).contains(&"CA004"));
    assert_eq!(
        reasons(&set.explain(&employee()), "CA004"),
        ["authenticationFlow"]
    );
}

#[test]
fn registering_a_device_needs_mfa() {
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.application_id = None;
    ctx.user_action = Some("urn:user:registerdevice".into());
    ctx.satisfied_controls.clear();
    let r = set.explain(&ctx);
    assert!(names(&r.enforced_policies).contains(&"CA003"));
    assert!(r.required_controls.iter().any(|c| c.any_of == ["mfa"]));
    assert_eq!(reasons(&set.explain(&employee()), "CA003"), ["userActions"]);
}

#[test]
fn agent_policies_do_not_apply_to_users() {
    let set = common::j0eyv_set();
    let r = set.explain(&employee());
    assert_eq!(reasons(&r, "CA501"), ["users", "workloadIdentities"]);
    assert!(reasons(&r, "CA502").contains(&"users"));
}

#[test]
fn graph_shaped_results() {
    let set = common::j0eyv_set();
    let g = set.explain(&employee()).to_graph_results();
    let value = g["value"].as_array().unwrap();
    assert_eq!(value.len(), 36);
    let ca000 = value
        .iter()
        .find(|v| v["displayName"].as_str().unwrap().starts_with("CA000"))
        .unwrap();
    assert_eq!(ca000["policyApplies"], true);
    assert_eq!(ca000["analysisReasons"], "notSet");
    let ca001 = value
        .iter()
        .find(|v| v["displayName"].as_str().unwrap().starts_with("CA001"))
        .unwrap();
    assert_eq!(ca001["policyApplies"], false);
    assert_eq!(ca001["analysisReasons"], "location");
    let ca105 = value
        .iter()
        .find(|v| v["displayName"].as_str().unwrap().starts_with("CA105"))
        .unwrap();
    assert_eq!(ca105["analysisReasons"], "users");
    assert_eq!(ca105["state"], "enabledForReportingButNotEnforced");
}

#[test]
fn device_filters_need_known_attributes_to_exclude() {
    // CA005: Office 365 on iOS/Android needs an app protection policy unless the device is
    // compliant AND company-owned.
    let set = common::j0eyv_set();
    let mut ctx = employee();
    ctx.application_id = Some(EXCHANGE.into());
    ctx.client_app = Some(ClientAppType::MobileAppsAndDesktopClients);
    ctx.device_platform = Some(DevicePlatform::Ios);
    let r = set.explain(&ctx);
    assert!(
        names(&r.enforced_policies).contains(&"CA005"),
        "ownership unknown: in scope"
    );
    assert!(r
        .required_controls
        .iter()
        .any(|c| c.any_of == ["compliantApplication"]));

    ctx.device
        .attributes
        .insert("deviceOwnership".into(), "Company".into());
    let r = set.explain(&ctx);
    assert_eq!(reasons(&r, "CA005"), ["devices"]);
    assert_eq!(r.result, Outcome::Allow);

    ctx.device
        .attributes
        .insert("deviceOwnership".into(), "Personal".into());
    assert!(names(&set.explain(&ctx).enforced_policies).contains(&"CA005"));
}
