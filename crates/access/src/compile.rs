//! Compilation: policies and named locations become an indexed form in which evaluating a
//! sign-in is a handful of bit-set operations over all policies at once.
//!
//! For every condition the compiled set holds, per possible context value, the set of
//! policies whose condition matches that value (client app type, platform, risk level, ...),
//! and, for id lists (users, groups, roles, apps, locations), posting lists from each id to
//! the policies that include or exclude it. Evaluation ORs the postings of the ids a sign-in
//! carries, so its cost grows with the sign-in's facts, not with the policies' id lists.

use std::collections::BTreeSet;

use crate::bits::{Bits, FxMap};
use crate::enums::*;
use crate::error::{ValidationError, ValidationErrors};
use crate::filter::Rule;
use crate::location::{parse_cidr, NamedLocation};
use crate::policy::{
    ConditionalAccessPolicy, GrantControls, GuestsOrExternalUsers, SessionControls,
};
use crate::session::SessionOutcome;

/// The conditions of a policy, in evaluation order; each is also a what-if reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    Users = 0,
    Application,
    ClientApps,
    DevicePlatform,
    Location,
    SignInRisk,
    UserRisk,
    InsiderRisk,
    AuthenticationFlow,
    Devices,
    WorkloadIdentities,
    State,
}

pub(crate) const N_COND: usize = 12;

pub(crate) const ALL_CONDS: [Cond; N_COND] = [
    Cond::Users,
    Cond::Application,
    Cond::ClientApps,
    Cond::DevicePlatform,
    Cond::Location,
    Cond::SignInRisk,
    Cond::UserRisk,
    Cond::InsiderRisk,
    Cond::AuthenticationFlow,
    Cond::Devices,
    Cond::WorkloadIdentities,
    Cond::State,
];

/// Ids that include and exclude a policy.
#[derive(Debug, Default, Clone)]
pub(crate) struct Postings {
    pub(crate) include: Vec<u32>,
    pub(crate) exclude: Vec<u32>,
}

/// What a policy requires, precompiled.
#[derive(Debug, Clone)]
pub(crate) enum Requirement {
    BuiltIn(BuiltInControl),
    /// A built-in strength: 2 = MFA, 3 = passwordless MFA, 4 = phishing-resistant MFA.
    BuiltInStrength(u8, String),
    /// A custom strength, terms of use or custom control (kind, id): satisfied by its id.
    ById(&'static str, String),
    /// A custom authentication strength: satisfied by its id or its display name.
    CustomStrength {
        id: String,
        name: Option<String>,
    },
}

/// Per-policy facts kept for decisions and reports.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) state: PolicyState,
    pub(crate) block: bool,
    pub(crate) operator_and: bool,
    pub(crate) requirements: Vec<Requirement>,
    pub(crate) session: SessionOutcome,
    /// Whether `session` is empty, so evaluation can skip merging it.
    pub(crate) session_empty: bool,
    /// Which reason names the application condition (`application`, `userActions`,
    /// `authenticationContext`).
    pub(crate) app_reason: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct GuestRule {
    pub(crate) policy: u32,
    pub(crate) include: bool,
    /// Bit per `GuestOrExternalUserType` index; 0 means any type.
    pub(crate) types: u16,
    /// `None` means all tenants.
    pub(crate) tenants: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub(crate) enum DeviceRule {
    Filter {
        include: bool,
        rule: Rule,
    },
    /// Deprecated device states: excluded when compliant / domain joined.
    States {
        exclude_compliant: bool,
        exclude_domain_joined: bool,
    },
}

/// Named locations, indexed for matching a sign-in's address and country.
#[derive(Debug, Default, Clone)]
pub(crate) struct LocationIndex {
    pub(crate) ids: FxMap<Box<str>, u32>,
    pub(crate) trusted: Vec<bool>,
    pub(crate) ip: Vec<(ipnet::IpNet, u32)>,
    pub(crate) country: FxMap<Box<str>, Vec<u32>>,
    pub(crate) unknown_country: Vec<u32>,
    pub(crate) compliant_network: Vec<u32>,
}

/// Policies and named locations compiled for evaluation. Build it once when policies change
/// and share it (it is `Send + Sync`); [`PolicySet::evaluate`] takes `&self`.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(crate) n: usize,
    pub(crate) words: usize,
    pub(crate) policies: Vec<CompiledPolicy>,
    pub(crate) users: FxMap<Box<str>, Postings>,
    pub(crate) groups: FxMap<Box<str>, Postings>,
    pub(crate) roles: FxMap<Box<str>, Postings>,
    pub(crate) users_all: Bits,
    pub(crate) users_guests_legacy: Postings,
    pub(crate) guest_rules: Vec<GuestRule>,
    pub(crate) apps: FxMap<Box<str>, Postings>,
    pub(crate) apps_all: Bits,
    pub(crate) actions: FxMap<Box<str>, Vec<u32>>,
    pub(crate) auth_contexts: FxMap<Box<str>, Vec<u32>>,
    pub(crate) app_filters: Vec<(u32, bool, Rule)>,
    pub(crate) client_app: [Bits; 5],
    pub(crate) platform: [Bits; 7],
    pub(crate) loc_unconfigured: Bits,
    pub(crate) loc_inc_all: Bits,
    pub(crate) loc_inc_trusted: Bits,
    pub(crate) loc_exc_trusted: Bits,
    pub(crate) loc_postings: Vec<Postings>,
    pub(crate) locations: LocationIndex,
    pub(crate) sign_in_risk: [Bits; 6],
    pub(crate) user_risk: [Bits; 6],
    pub(crate) insider: [Bits; 4],
    pub(crate) flow: [Bits; 3],
    pub(crate) device_rules: Vec<(u32, DeviceRule)>,
    pub(crate) workload_unconfigured: Bits,
    pub(crate) sps: FxMap<Box<str>, Postings>,
    pub(crate) sps_all: Bits,
    pub(crate) sp_risk: [Bits; 6],
    pub(crate) enabled: Bits,
    pub(crate) report_only: Bits,
    pub(crate) warnings: Vec<String>,
}

/// Index of a client app type in `PolicySet::client_app`.
pub(crate) fn client_app_index(c: &ClientAppType) -> usize {
    match c {
        ClientAppType::Browser => 0,
        ClientAppType::MobileAppsAndDesktopClients => 1,
        ClientAppType::ExchangeActiveSync
        | ClientAppType::EasSupported
        | ClientAppType::EasUnsupported => 2,
        ClientAppType::OtherClients => 3,
        _ => 4,
    }
}

/// Index of a platform in `PolicySet::platform`; 6 is an unknown platform.
pub(crate) fn platform_index(p: Option<&DevicePlatform>) -> usize {
    match p {
        Some(DevicePlatform::Android) => 0,
        Some(DevicePlatform::Ios) => 1,
        Some(DevicePlatform::Windows) => 2,
        Some(DevicePlatform::WindowsPhone) => 3,
        Some(DevicePlatform::MacOs) => 4,
        Some(DevicePlatform::Linux) => 5,
        _ => 6,
    }
}

/// Index of a risk level in the risk tables; unset means `none`.
pub(crate) fn risk_index(r: Option<&RiskLevel>) -> usize {
    match r {
        None | Some(RiskLevel::None) => 0,
        Some(RiskLevel::Low) => 1,
        Some(RiskLevel::Medium) => 2,
        Some(RiskLevel::High) => 3,
        Some(RiskLevel::Hidden) => 4,
        Some(_) => 5,
    }
}

pub(crate) fn insider_index(r: Option<&InsiderRiskLevel>) -> usize {
    match r {
        None => 0,
        Some(InsiderRiskLevel::Minor) => 1,
        Some(InsiderRiskLevel::Moderate) => 2,
        Some(InsiderRiskLevel::Elevated) => 3,
        Some(_) => 0,
    }
}

pub(crate) fn flow_index(f: Option<&TransferMethod>) -> usize {
    match f {
        Some(TransferMethod::DeviceCodeFlow) => 1,
        Some(TransferMethod::AuthenticationTransfer) => 2,
        _ => 0,
    }
}

pub(crate) fn guest_type_bit(t: &GuestOrExternalUserType) -> u16 {
    match t {
        GuestOrExternalUserType::InternalGuest => 1 << 1,
        GuestOrExternalUserType::B2bCollaborationGuest => 1 << 2,
        GuestOrExternalUserType::B2bCollaborationMember => 1 << 3,
        GuestOrExternalUserType::B2bDirectConnectUser => 1 << 4,
        GuestOrExternalUserType::OtherExternalUser => 1 << 5,
        GuestOrExternalUserType::ServiceProvider => 1 << 6,
        _ => 0,
    }
}

/// Well-known Microsoft application ids and the app groups Graph lets policies name. Not
/// exhaustive: callers can name further memberships in `SignInContext::application_groups`.
pub(crate) const APP_GROUPS: &[(&str, &str)] = &[
    ("00000002-0000-0ff1-ce00-000000000000", "office365"), // Exchange Online
    ("00000003-0000-0ff1-ce00-000000000000", "office365"), // SharePoint Online
    ("00000004-0000-0ff1-ce00-000000000000", "office365"), // Skype for Business Online
    ("00000006-0000-0ff1-ce00-000000000000", "office365"), // Office 365 portal
    ("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "office365"), // Microsoft Teams services
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "office365"), // Microsoft Teams client
    (
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "microsoftadminportals",
    ), // Azure portal
];

fn key(s: &str) -> Box<str> {
    s.trim().to_ascii_lowercase().into_boxed_str()
}

fn post(map: &mut FxMap<Box<str>, Postings>, id: &str, policy: u32, include: bool) {
    let p = map.entry(key(id)).or_default();
    let list = if include {
        &mut p.include
    } else {
        &mut p.exclude
    };
    if list.last() != Some(&policy) {
        list.push(policy);
    }
}

/// The level of a built-in authentication strength, by id or by its display name.
pub(crate) fn builtin_strength(id: &str) -> Option<u8> {
    const BUILT_IN: [(&str, &str, u8); 3] = [
        (
            "00000000-0000-0000-0000-000000000002",
            "Multifactor authentication",
            2,
        ),
        (
            "00000000-0000-0000-0000-000000000003",
            "Passwordless MFA",
            3,
        ),
        (
            "00000000-0000-0000-0000-000000000004",
            "Phishing-resistant MFA",
            4,
        ),
    ];
    let id = id.trim();
    BUILT_IN
        .iter()
        .find(|(i, name, _)| i.eq_ignore_ascii_case(id) || name.eq_ignore_ascii_case(id))
        .map(|(_, _, level)| *level)
}

impl PolicySet {
    /// Validates and compiles `policies` with the named locations they reference. Every
    /// validation error of every policy and location is reported at once; nothing is
    /// compiled unless all are valid.
    pub fn compile(
        policies: &[ConditionalAccessPolicy],
        locations: &[NamedLocation],
    ) -> Result<PolicySet, ValidationErrors> {
        let mut errors: Vec<ValidationError> = Vec::new();
        for p in policies {
            errors.extend(p.validate());
        }
        let mut loc_index = LocationIndex::default();
        for (i, l) in locations.iter().enumerate() {
            errors.extend(l.validate());
            let idx = i as u32;
            let label = l.id().unwrap_or_default();
            if loc_index.ids.insert(key(label), idx).is_some() {
                errors.push(ValidationError::new(
                    label,
                    "id",
                    "duplicate named location id",
                ));
            }
            match l {
                NamedLocation::Ip(ip) => {
                    loc_index.trusted.push(ip.is_trusted);
                    for r in &ip.ip_ranges {
                        if let Ok(net) = parse_cidr(&r.cidr_address) {
                            loc_index.ip.push((net, idx));
                        }
                    }
                }
                NamedLocation::Country(c) => {
                    loc_index.trusted.push(false);
                    for code in &c.countries_and_regions {
                        loc_index
                            .country
                            .entry(code.trim().to_ascii_uppercase().into_boxed_str())
                            .or_default()
                            .push(idx);
                    }
                    if c.include_unknown_countries_and_regions {
                        loc_index.unknown_country.push(idx);
                    }
                }
                NamedLocation::Other(o) => {
                    loc_index.trusted.push(o.is_trusted.unwrap_or(false));
                    if l.is_compliant_network() {
                        loc_index.compliant_network.push(idx);
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(ValidationErrors(errors));
        }

        let n = policies.len();
        let words = n.div_ceil(64).max(1);
        let ones = || Bits::ones(words, n);
        let zeros = || Bits::zeros(words);
        let mut set = PolicySet {
            n,
            words,
            policies: Vec::with_capacity(n),
            users: FxMap::default(),
            groups: FxMap::default(),
            roles: FxMap::default(),
            users_all: zeros(),
            users_guests_legacy: Postings::default(),
            guest_rules: Vec::new(),
            apps: FxMap::default(),
            apps_all: zeros(),
            actions: FxMap::default(),
            auth_contexts: FxMap::default(),
            app_filters: Vec::new(),
            client_app: std::array::from_fn(|_| zeros()),
            platform: std::array::from_fn(|_| zeros()),
            loc_unconfigured: zeros(),
            loc_inc_all: zeros(),
            loc_inc_trusted: zeros(),
            loc_exc_trusted: zeros(),
            loc_postings: vec![Postings::default(); locations.len()],
            locations: loc_index,
            sign_in_risk: std::array::from_fn(|_| zeros()),
            user_risk: std::array::from_fn(|_| zeros()),
            insider: std::array::from_fn(|_| zeros()),
            flow: std::array::from_fn(|_| zeros()),
            device_rules: Vec::new(),
            workload_unconfigured: zeros(),
            sps: FxMap::default(),
            sps_all: zeros(),
            sp_risk: std::array::from_fn(|_| ones()),
            enabled: zeros(),
            report_only: zeros(),
            warnings: Vec::new(),
        };
        for (i, p) in policies.iter().enumerate() {
            set.add(i, p);
        }
        // Fold app-group postings into the well-known member apps, so evaluation needs one
        // lookup per application.
        for (app, group) in APP_GROUPS {
            if let Some(g) = set.apps.get(*group).cloned() {
                let entry = set.apps.entry(key(app)).or_default();
                entry.include.extend(g.include);
                entry.exclude.extend(g.exclude);
                entry.include.sort_unstable();
                entry.include.dedup();
                entry.exclude.sort_unstable();
                entry.exclude.dedup();
            }
        }
        Ok(set)
    }

    fn add(&mut self, i: usize, p: &ConditionalAccessPolicy) {
        let pi = i as u32;
        let c = &p.conditions;
        let label = p.label().to_owned();

        match p.state {
            PolicyState::Enabled => self.enabled.set(i),
            PolicyState::ReportOnly => self.report_only.set(i),
            _ => {}
        }

        // Users.
        if let Some(u) = &c.users {
            for id in &u.include_users {
                match id.trim().to_ascii_lowercase().as_str() {
                    "all" => self.users_all.set(i),
                    "none" => {}
                    "guestsorexternalusers" => self.users_guests_legacy.include.push(pi),
                    _ => post(&mut self.users, id, pi, true),
                }
            }
            for id in &u.exclude_users {
                match id.trim().to_ascii_lowercase().as_str() {
                    "guestsorexternalusers" => self.users_guests_legacy.exclude.push(pi),
                    _ => post(&mut self.users, id, pi, false),
                }
            }
            for id in &u.include_groups {
                post(&mut self.groups, id, pi, true);
            }
            for id in &u.exclude_groups {
                post(&mut self.groups, id, pi, false);
            }
            for id in &u.include_roles {
                post(&mut self.roles, id, pi, true);
            }
            for id in &u.exclude_roles {
                post(&mut self.roles, id, pi, false);
            }
            if let Some(g) = &u.include_guests_or_external_users {
                self.guest_rules.push(guest_rule(pi, true, g));
            }
            if let Some(g) = &u.exclude_guests_or_external_users {
                self.guest_rules.push(guest_rule(pi, false, g));
            }
        }

        // Applications, user actions, authentication contexts.
        let mut app_reason = "application";
        if let Some(a) = &c.applications {
            for id in &a.include_applications {
                match id.trim().to_ascii_lowercase().as_str() {
                    "all" => self.apps_all.set(i),
                    "none" => {}
                    _ => post(&mut self.apps, id, pi, true),
                }
            }
            for id in &a.exclude_applications {
                post(&mut self.apps, id, pi, false);
            }
            for action in &a.include_user_actions {
                self.actions.entry(key(action)).or_default().push(pi);
            }
            for r in &a.include_authentication_context_class_references {
                self.auth_contexts.entry(key(r)).or_default().push(pi);
            }
            if a.include_applications.is_empty() {
                if !a.include_user_actions.is_empty() {
                    app_reason = "userActions";
                } else if !a.include_authentication_context_class_references.is_empty() {
                    app_reason = "authenticationContext";
                }
            }
            if let Some(f) = &a.application_filter {
                if let Ok(rule) = Rule::parse(&f.rule) {
                    self.app_filters
                        .push((pi, f.mode == FilterMode::Include, rule));
                }
            }
            if a.extra.contains_key("globalSecureAccess") || a.extra.contains_key("networkAccess") {
                self.warnings.push(format!(
                    "policy `{label}`: Global Secure Access traffic profiles are not evaluated; the policy matches no application"
                ));
            }
        }

        // Client app types: empty means every client app type.
        let cats = &c.client_app_types;
        for (slot, bits) in self.client_app.iter_mut().enumerate() {
            let hit = cats.is_empty()
                || cats.iter().any(|t| {
                    matches!(t, ClientAppType::All) || (client_app_index(t) == slot && slot != 4)
                });
            if hit {
                bits.set(i);
            }
        }

        // Platforms: unconfigured (or no includes) means every platform, unknown included.
        let platforms = c
            .platforms
            .as_ref()
            .filter(|p| !p.include_platforms.is_empty());
        for (slot, bits) in self.platform.iter_mut().enumerate() {
            let hit = match platforms {
                None => true,
                Some(p) => {
                    let inc = p.include_platforms.iter().any(|x| {
                        matches!(x, DevicePlatform::All)
                            || platform_index(Some(x)) == slot && slot != 6
                    });
                    let exc = p
                        .exclude_platforms
                        .iter()
                        .any(|x| platform_index(Some(x)) == slot && slot != 6);
                    inc && !exc
                }
            };
            if hit {
                bits.set(i);
            }
        }

        // Locations.
        match c
            .locations
            .as_ref()
            .filter(|l| !l.include_locations.is_empty())
        {
            None => self.loc_unconfigured.set(i),
            Some(l) => {
                for (id, include) in l
                    .include_locations
                    .iter()
                    .map(|x| (x, true))
                    .chain(l.exclude_locations.iter().map(|x| (x, false)))
                {
                    match (id.trim().to_ascii_lowercase().as_str(), include) {
                        ("all", true) => self.loc_inc_all.set(i),
                        ("alltrusted", true) => self.loc_inc_trusted.set(i),
                        ("alltrusted", false) => self.loc_exc_trusted.set(i),
                        ("all", false) => {}
                        (k, _) => match self.locations.ids.get(k) {
                            Some(&li) => {
                                if let Some(post) = self.loc_postings.get_mut(li as usize) {
                                    if include {
                                        post.include.push(pi)
                                    } else {
                                        post.exclude.push(pi)
                                    }
                                }
                            }
                            None => self.warnings.push(format!(
                                "policy `{label}`: named location `{id}` is unknown; it matches no sign-in"
                            )),
                        },
                    }
                }
            }
        }

        // Risk levels: empty means not configured.
        risk_table(&mut self.sign_in_risk, &c.sign_in_risk_levels, i);
        risk_table(&mut self.user_risk, &c.user_risk_levels, i);
        let insider: Vec<usize> = c
            .insider_risk_levels
            .as_ref()
            .map(|f| {
                f.iter()
                    .map(|l| insider_index(Some(l)))
                    .filter(|&x| x != 0)
                    .collect()
            })
            .unwrap_or_default();
        for (slot, bits) in self.insider.iter_mut().enumerate() {
            if insider.is_empty() || insider.contains(&slot) {
                bits.set(i);
            }
        }
        let flows: Vec<usize> = c
            .authentication_flows
            .as_ref()
            .and_then(|f| f.transfer_methods.as_ref())
            .map(|f| {
                f.iter()
                    .map(|m| flow_index(Some(m)))
                    .filter(|&x| x != 0)
                    .collect()
            })
            .unwrap_or_default();
        for (slot, bits) in self.flow.iter_mut().enumerate() {
            if flows.is_empty() || flows.contains(&slot) {
                bits.set(i);
            }
        }

        // Devices.
        if let Some(f) = c.devices.as_ref().and_then(|d| d.device_filter.as_ref()) {
            if let Ok(rule) = Rule::parse(&f.rule) {
                self.device_rules.push((
                    pi,
                    DeviceRule::Filter {
                        include: f.mode == FilterMode::Include,
                        rule,
                    },
                ));
            }
        }
        if let Some(s) = &c.device_states {
            let has = |v: &str| s.exclude_states.iter().any(|x| x.eq_ignore_ascii_case(v));
            if !s.include_states.is_empty() {
                self.device_rules.push((
                    pi,
                    DeviceRule::States {
                        exclude_compliant: has("Compliant"),
                        exclude_domain_joined: has("DomainJoined"),
                    },
                ));
            }
        }

        // Workload identities.
        match &c.client_applications {
            None => self.workload_unconfigured.set(i),
            Some(ca) => {
                for id in &ca.include_service_principals {
                    if id.eq_ignore_ascii_case("ServicePrincipalsInMyTenant") {
                        self.sps_all.set(i);
                    } else {
                        post(&mut self.sps, id, pi, true);
                    }
                }
                for id in &ca.exclude_service_principals {
                    post(&mut self.sps, id, pi, false);
                }
                if !c.service_principal_risk_levels.is_empty() {
                    let levels: Vec<usize> = c
                        .service_principal_risk_levels
                        .iter()
                        .map(|l| risk_index(Some(l)))
                        .collect();
                    for (slot, bits) in self.sp_risk.iter_mut().enumerate() {
                        if !levels.contains(&slot) {
                            bits.clear(i);
                        }
                    }
                }
            }
        }

        let (block, operator_and, requirements) = grant(p.grant_controls.as_ref());
        let session = p
            .session_controls
            .as_ref()
            .map(SessionOutcome::from_controls)
            .unwrap_or_default();
        self.policies.push(CompiledPolicy {
            id: label,
            display_name: p.display_name.clone().unwrap_or_default(),
            state: p.state.clone(),
            block,
            operator_and,
            requirements,
            session_empty: session.is_empty(),
            session,
            app_reason,
        });
    }

    /// How many policies were compiled.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no policies.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Things that compiled but will not behave as a reader might expect (e.g. a reference
    /// to a named location that was not supplied).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

fn risk_table(table: &mut [Bits; 6], levels: &[RiskLevel], i: usize) {
    let idx: BTreeSet<usize> = levels.iter().map(|l| risk_index(Some(l))).collect();
    for (slot, bits) in table.iter_mut().enumerate() {
        if idx.is_empty() || idx.contains(&slot) {
            bits.set(i);
        }
    }
}

fn guest_rule(policy: u32, include: bool, g: &GuestsOrExternalUsers) -> GuestRule {
    let types = g
        .guest_or_external_user_types
        .as_ref()
        .map(|t| t.iter().fold(0u16, |acc, x| acc | guest_type_bit(x)))
        .unwrap_or(0);
    let tenants = g
        .external_tenants
        .as_ref()
        .and_then(|t| match t.membership_kind {
            Some(MembershipKind::Enumerated) => Some(
                t.members
                    .iter()
                    .map(|m| m.trim().to_ascii_lowercase())
                    .collect(),
            ),
            _ => None,
        });
    GuestRule {
        policy,
        include,
        types,
        tenants,
    }
}

fn grant(g: Option<&GrantControls>) -> (bool, bool, Vec<Requirement>) {
    let Some(g) = g else {
        return (false, false, Vec::new());
    };
    let block = g.built_in_controls.contains(&BuiltInControl::Block);
    let mut reqs = Vec::new();
    for c in &g.built_in_controls {
        if *c != BuiltInControl::Block {
            reqs.push(Requirement::BuiltIn(c.clone()));
        }
    }
    if let Some(strength) = g.authentication_strength.as_ref() {
        if let Some(id) = strength.id.as_ref() {
            match builtin_strength(id) {
                Some(level) => reqs.push(Requirement::BuiltInStrength(
                    level,
                    id.trim().to_ascii_lowercase(),
                )),
                None => reqs.push(Requirement::CustomStrength {
                    id: id.trim().to_ascii_lowercase(),
                    name: strength
                        .display_name
                        .as_ref()
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty()),
                }),
            }
        }
    }
    for id in &g.terms_of_use {
        reqs.push(Requirement::ById(
            "termsOfUse",
            id.trim().to_ascii_lowercase(),
        ));
    }
    for id in &g.custom_authentication_factors {
        reqs.push(Requirement::ById(
            "customAuthenticationFactor",
            id.trim().to_ascii_lowercase(),
        ));
    }
    // Only 64 requirements fit the per-policy mask; Graph allows far fewer.
    reqs.truncate(64);
    (block, g.operator() == GrantOperator::And, reqs)
}

impl SessionOutcome {
    fn from_controls(s: &SessionControls) -> SessionOutcome {
        SessionOutcome::compile(s)
    }
}
