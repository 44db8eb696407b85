//! What-if cases against the real alexfilipin "RING" set (59 policies, all report-only, with
//! placeholder group ids such as `<EmergencyAccessAccountsGroup>`, used here as ids).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use trustplane_access::*;

fn set() -> PolicySet {
    PolicySet::compile(&load_policies(&common::alexfilipin()).unwrap(), &[]).unwrap()
}

fn user() -> SignInContext {
    SignInContext {
        user_id: Some("u1".into()),
        application_id: Some("00000003-0000-0000-c000-000000000000".into()),
        client_app: Some(ClientAppType::Browser),
        device_platform: Some(DevicePlatform::Windows),
        ..Default::default()
    }
}

fn would(r: &Report, prefix: &str) -> Option<Outcome> {
    r.report_only_policies
        .iter()
        .find(|p| p.display_name.starts_with(prefix))
        .map(|p| p.result)
}

#[test]
fn report_only_set_never_changes_the_result() {
    let set = set();
    let mut ctx = user();
    ctx.client_app = Some(ClientAppType::OtherClients);
    ctx.device_platform = Some(DevicePlatform::Linux);
    ctx.sign_in_risk = Some(RiskLevel::High);
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Allow);
    assert!(r.enforced_policies.is_empty());
    assert!(r.required_controls.is_empty());
    assert!(r.session_controls.is_empty());
    // ... but the report says what would have happened.
    assert_eq!(would(&r, "300"), Some(Outcome::Block)); // other clients
    assert_eq!(would(&r, "302"), None); // unknown platforms: browser/mobile only, not `other`
    assert_eq!(would(&r, "203"), None); // high risk: browser/mobile only

    ctx.client_app = Some(ClientAppType::Browser);
    let r = set.explain(&ctx);
    assert_eq!(r.result, Outcome::Allow);
    assert_eq!(would(&r, "203"), Some(Outcome::Block));
    assert_eq!(would(&r, "302"), Some(Outcome::Block));
}

#[test]
fn unknown_platform_would_be_blocked() {
    let set = set();
    let mut ctx = user();
    ctx.device_platform = None;
    assert_eq!(would(&set.explain(&ctx), "302"), Some(Outcome::Block));
    ctx.device_platform = Some(DevicePlatform::MacOs);
    assert_eq!(would(&set.explain(&ctx), "302"), None);
}

#[test]
fn emergency_access_accounts_get_their_own_policy_only() {
    let set = set();
    let mut ctx = user();
    ctx.group_ids = vec!["<EmergencyAccessAccountsGroup>".into()];
    ctx.client_app = Some(ClientAppType::OtherClients);
    let r = set.explain(&ctx);
    assert_eq!(
        would(&r, "300"),
        None,
        "break-glass is excluded from the legacy block"
    );
    ctx.client_app = Some(ClientAppType::Browser);
    let r = set.explain(&ctx);
    let strong = r
        .report_only_policies
        .iter()
        .find(|p| p.display_name.starts_with("110"))
        .unwrap();
    assert_eq!(strong.result, Outcome::Grant);
    assert_eq!(
        strong.required_controls[0].any_of,
        ["authenticationStrength:00000000-0000-0000-0000-000000000004"]
    );
    // Every baseline policy that excludes the group reports `users`.
    let excluded = r
        .not_applied_policies
        .iter()
        .filter(|p| p.display_name.starts_with("20") && p.reasons.contains(&"users"))
        .count();
    assert!(excluded >= 5, "{excluded}");
}

#[test]
fn admins_by_role_would_need_strong_auth() {
    let set = set();
    let mut ctx = user();
    ctx.role_ids = vec!["62E90394-69F5-4237-9190-012177145E10".into()]; // case does not matter
    let r = set.explain(&ctx);
    assert_eq!(would(&r, "100"), Some(Outcome::Grant));
    ctx.satisfied_controls = vec!["00000000-0000-0000-0000-000000000004".into()];
    assert_eq!(would(&set.explain(&ctx), "100"), Some(Outcome::Allow));
}

#[test]
fn guests_would_need_terms_of_use_and_are_out_of_security_info_registration() {
    let set = set();
    let mut guest = user();
    guest.is_guest = true;
    let r = set.explain(&guest);
    let tou = r
        .report_only_policies
        .iter()
        .find(|p| p.display_name.starts_with("210"))
        .unwrap();
    assert_eq!(tou.required_controls[0].any_of, ["termsOfUse:tou"]);
    guest.satisfied_controls = vec!["ToU".into()];
    assert_eq!(would(&set.explain(&guest), "210"), Some(Outcome::Allow));

    guest.application_id = None;
    guest.user_action = Some("urn:user:registersecurityinfo".into());
    let r = set.explain(&guest);
    assert_eq!(would(&r, "201"), None, "GuestsOrExternalUsers is excluded");
    let mut member = guest.clone();
    member.is_guest = false;
    assert_eq!(would(&set.explain(&member), "201"), Some(Outcome::Grant));
}

#[test]
fn authentication_transfer_and_device_code_would_be_blocked() {
    let set = set();
    let mut ctx = user();
    ctx.authentication_flow = Some(TransferMethod::AuthenticationTransfer);
    assert_eq!(would(&set.explain(&ctx), "306"), Some(Outcome::Block));
    ctx.authentication_flow = Some(TransferMethod::DeviceCodeFlow);
    assert_eq!(would(&set.explain(&ctx), "307"), Some(Outcome::Block));
}

#[test]
fn insider_risk_levels() {
    let set = set();
    let mut ctx = user();
    ctx.insider_risk = Some(InsiderRiskLevel::Elevated);
    assert_eq!(would(&set.explain(&ctx), "601"), Some(Outcome::Block));
    ctx.insider_risk = Some(InsiderRiskLevel::Moderate);
    let r = set.explain(&ctx);
    assert_eq!(would(&r, "601"), None);
    assert_eq!(would(&r, "602"), Some(Outcome::Grant));
}
