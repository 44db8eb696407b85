//! Evaluation of one sign-in against a compiled [`PolicySet`]: condition masks, then the
//! grant and session controls of the policies that apply.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::bits::{self, FxMap};
use crate::compile::*;
use crate::context::SignInContext;
use crate::enums::*;
use crate::session::SessionOutcome;

/// The overall result of a sign-in, or what one policy asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Access is blocked.
    Block,
    /// Access is granted once the required controls are satisfied.
    Grant,
    /// Access is allowed as is.
    Allow,
}

/// A policy that applied to the sign-in, with what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedPolicy {
    pub(crate) index: u32,
    pub(crate) outcome: Outcome,
    /// Bits over the policy's requirements that the session has not satisfied.
    pub(crate) unsatisfied: u64,
}

impl AppliedPolicy {
    /// What this policy asks for: block, grant (controls missing) or allow (satisfied).
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The policy's position in the slice given to [`PolicySet::compile`].
    pub fn index(&self) -> usize {
        self.index as usize
    }
}

/// The result of evaluating one sign-in. Policy details (ids, names, reasons) are resolved
/// through the [`PolicySet`] that produced it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub(crate) result: Outcome,
    pub(crate) enforced: Vec<AppliedPolicy>,
    pub(crate) report_only: Vec<AppliedPolicy>,
    pub(crate) session: SessionOutcome,
    /// Condition masks, condition-major: `masks[c * words + w]`.
    pub(crate) masks: Vec<u64>,
    pub(crate) words: usize,
}

impl Decision {
    /// Block, grant (controls still required) or allow.
    pub fn result(&self) -> Outcome {
        self.result
    }

    /// Applied enabled policies.
    pub fn enforced(&self) -> &[AppliedPolicy] {
        &self.enforced
    }

    /// Applied report-only policies, with what they would have done.
    pub fn report_only(&self) -> &[AppliedPolicy] {
        &self.report_only
    }

    /// The session controls of the enforced policies, strictest wins.
    pub fn session_controls(&self) -> &SessionOutcome {
        &self.session
    }

    pub(crate) fn cond(&self, c: Cond, i: usize) -> bool {
        let start = c as usize * self.words;
        self.masks
            .get(start..start + self.words)
            .is_some_and(|m| bits::get(m, i))
    }
}

/// Looks an id up without regard to case; the maps hold lowercase keys.
#[inline]
fn lookup<'a, V>(map: &'a FxMap<Box<str>, V>, id: &str) -> Option<&'a V> {
    if map.is_empty() {
        return None;
    }
    if id.bytes().any(|b| b.is_ascii_uppercase() || b == b' ') {
        map.get(id.trim().to_ascii_lowercase().as_str())
    } else {
        map.get(id)
    }
}

#[inline]
fn apply(p: Option<&Postings>, inc: &mut [u64], exc: &mut [u64]) {
    if let Some(p) = p {
        for &i in &p.include {
            bits::set(inc, i);
        }
        for &i in &p.exclude {
            bits::set(exc, i);
        }
    }
}

/// What the session already satisfies, derived once per evaluation.
struct Facts<'a> {
    ctx: &'a SignInContext,
    strength: u8,
    /// Bits by [`builtin_bit`] of the built-in controls named in `satisfied_controls`.
    builtins: u16,
}

/// A bit per known built-in control, so that checking one is a mask test.
fn builtin_bit(c: &BuiltInControl) -> u16 {
    match c {
        BuiltInControl::Mfa => 1,
        BuiltInControl::CompliantDevice => 1 << 1,
        BuiltInControl::DomainJoinedDevice => 1 << 2,
        BuiltInControl::ApprovedApplication => 1 << 3,
        BuiltInControl::CompliantApplication => 1 << 4,
        BuiltInControl::PasswordChange => 1 << 5,
        BuiltInControl::RiskRemediation => 1 << 6,
        _ => 0,
    }
}

impl<'a> Facts<'a> {
    fn new(ctx: &'a SignInContext, strength: u8) -> Self {
        let mut builtins = 0;
        for x in &ctx.satisfied_controls {
            builtins |= builtin_bit(&BuiltInControl::parse(x));
        }
        if ctx.device.compliant {
            builtins |= builtin_bit(&BuiltInControl::CompliantDevice);
        }
        if ctx.device.trusted {
            builtins |= builtin_bit(&BuiltInControl::DomainJoinedDevice);
        }
        Facts {
            ctx,
            strength,
            builtins,
        }
    }

    fn has(&self, name: &str) -> bool {
        self.ctx
            .satisfied_controls
            .iter()
            .any(|x| x.trim().eq_ignore_ascii_case(name))
    }

    fn has_id(&self, kind: &str, id: &str) -> bool {
        self.ctx.satisfied_controls.iter().any(|x| {
            let x = x.trim();
            let bare = x
                .split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(kind))
                .map_or(x, |(_, v)| v);
            bare.eq_ignore_ascii_case(id)
        })
    }

    fn satisfied(&self, r: &Requirement) -> bool {
        match r {
            Requirement::BuiltIn(BuiltInControl::Mfa) => self.strength >= 2,
            Requirement::BuiltIn(BuiltInControl::Block) => false,
            Requirement::BuiltIn(c) => match builtin_bit(c) {
                0 => self.has(c.as_str()),
                bit => self.builtins & bit != 0,
            },
            // `strength` already counts built-in strength ids however they were written.
            Requirement::BuiltInStrength(level, _) => self.strength >= *level,
            Requirement::ById(kind, id) => self.has_id(kind, id),
            Requirement::CustomStrength { id, name } => {
                self.has_id("authenticationStrength", id)
                    || name.as_deref().is_some_and(|n| self.has(n))
            }
        }
    }
}

impl PolicySet {
    /// Evaluates one sign-in. Never panics; unknown facts make inclusions fail only where
    /// Microsoft documents that (a specific platform, a named location) and never make an
    /// exclusion match.
    pub fn evaluate(&self, ctx: &SignInContext) -> Decision {
        self.run(ctx, false)
    }

    /// Evaluates; `keep_masks` keeps the per-condition masks that reasons are read from.
    pub(crate) fn run(&self, ctx: &SignInContext, keep_masks: bool) -> Decision {
        let w = self.words;
        // N_COND condition masks plus two scratch masks (include, exclude); on the stack for
        // up to 256 policies, so the hot path does not allocate for them.
        const STACK_WORDS: usize = 4;
        let len = (N_COND + 2) * w;
        let mut stack = [0u64; (N_COND + 2) * STACK_WORDS];
        let mut heap = Vec::new();
        let m: &mut [u64] = if w <= STACK_WORDS {
            stack.get_mut(..len).unwrap_or_default()
        } else {
            heap.resize(len, 0);
            &mut heap
        };
        let (conds, scratch) = m.split_at_mut(N_COND * w);
        let (inc, exc) = scratch.split_at_mut(w);
        let slot = |c: Cond| -> std::ops::Range<usize> { c as usize * w..(c as usize + 1) * w };
        let copy = |conds: &mut [u64], c: Cond, src: &crate::bits::Bits| {
            if let Some(dst) = conds.get_mut(slot(c)) {
                dst.copy_from_slice(&src.0);
            }
        };
        let combine = |conds: &mut [u64], c: Cond, inc: &mut [u64], exc: &mut [u64]| {
            if let Some(dst) = conds.get_mut(slot(c)) {
                for ((d, i), e) in dst.iter_mut().zip(inc.iter()).zip(exc.iter()) {
                    *d = i & !e;
                }
            }
            inc.fill(0);
            exc.fill(0);
        };
        let full = |conds: &mut [u64], c: Cond, n: usize| {
            if let Some(dst) = conds.get_mut(slot(c)) {
                for (wi, d) in dst.iter_mut().enumerate() {
                    let lo = wi * 64;
                    *d = if n >= lo + 64 {
                        !0
                    } else if n > lo {
                        (1u64 << (n - lo)) - 1
                    } else {
                        0
                    };
                }
            }
        };

        // Users (or, for a workload identity, the workload condition decides).
        if let Some(sp) = &ctx.service_principal_id {
            full(conds, Cond::Users, self.n);
            inc.copy_from_slice(&self.sps_all.0);
            apply(lookup(&self.sps, sp), inc, exc);
            let risk = &self.sp_risk[risk_index(ctx.service_principal_risk.as_ref())];
            for (i, r) in inc.iter_mut().zip(&risk.0) {
                *i &= r;
            }
            combine(conds, Cond::WorkloadIdentities, inc, exc);
        } else {
            copy(conds, Cond::WorkloadIdentities, &self.workload_unconfigured);
            inc.copy_from_slice(&self.users_all.0);
            if let Some(u) = &ctx.user_id {
                apply(lookup(&self.users, u), inc, exc);
            }
            for g in &ctx.group_ids {
                apply(lookup(&self.groups, g), inc, exc);
            }
            for r in &ctx.role_ids {
                apply(lookup(&self.roles, r), inc, exc);
            }
            if ctx.is_guest {
                apply(Some(&self.users_guests_legacy), inc, exc);
                let bit = ctx.guest_type.as_ref().map_or(
                    guest_type_bit(&GuestOrExternalUserType::B2bCollaborationGuest),
                    guest_type_bit,
                );
                for rule in &self.guest_rules {
                    let type_ok = rule.types == 0 || rule.types & bit != 0;
                    let tenant_ok = match (&rule.tenants, &ctx.home_tenant_id) {
                        (None, _) => true,
                        (Some(list), Some(t)) => {
                            list.iter().any(|x| x.eq_ignore_ascii_case(t.trim()))
                        }
                        // Unknown home tenant: include (stricter), never exclude.
                        (Some(_), None) => rule.include,
                    };
                    if type_ok && tenant_ok {
                        bits::set(
                            if rule.include { &mut *inc } else { &mut *exc },
                            rule.policy,
                        );
                    }
                }
            }
            combine(conds, Cond::Users, inc, exc);
        }

        // Application, user action, authentication context.
        if let Some(action) = &ctx.user_action {
            if let Some(list) = lookup(&self.actions, action) {
                for &i in list {
                    bits::set(inc, i);
                }
            }
        } else {
            inc.copy_from_slice(&self.apps_all.0);
            if let Some(app) = &ctx.application_id {
                // Built-in app groups were folded into the app's postings at compile time.
                apply(lookup(&self.apps, app), inc, exc);
            }
            for g in &ctx.application_groups {
                apply(lookup(&self.apps, g), inc, exc);
            }
            if !self.app_filters.is_empty() {
                let attrs: BTreeMap<String, String> = ctx
                    .application_attributes
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_lowercase()))
                    .collect();
                let get = |name: &str| attrs.get(name).map(|v| Cow::Borrowed(v.as_str()));
                for (pi, include, rule) in &self.app_filters {
                    if rule.eval(&get) {
                        bits::set(if *include { &mut *inc } else { &mut *exc }, *pi);
                    }
                }
            }
        }
        for c in &ctx.authentication_contexts {
            if let Some(list) = lookup(&self.auth_contexts, c) {
                for &i in list {
                    bits::set(inc, i);
                }
            }
        }
        combine(conds, Cond::Application, inc, exc);

        // Client app, platform, risks, flows: table lookups.
        let client = ctx.client_app.as_ref().unwrap_or(&ClientAppType::Browser);
        copy(
            conds,
            Cond::ClientApps,
            &self.client_app[client_app_index(client)],
        );
        copy(
            conds,
            Cond::DevicePlatform,
            &self.platform[platform_index(ctx.device_platform.as_ref())],
        );
        copy(
            conds,
            Cond::SignInRisk,
            &self.sign_in_risk[risk_index(ctx.sign_in_risk.as_ref())],
        );
        copy(
            conds,
            Cond::UserRisk,
            &self.user_risk[risk_index(ctx.user_risk.as_ref())],
        );
        copy(
            conds,
            Cond::InsiderRisk,
            &self.insider[insider_index(ctx.insider_risk.as_ref())],
        );
        copy(
            conds,
            Cond::AuthenticationFlow,
            &self.flow[flow_index(ctx.authentication_flow.as_ref())],
        );

        // Location.
        let trusted = self.match_locations(ctx, |li| {
            if let Some(p) = self.loc_postings.get(li as usize) {
                for &i in &p.include {
                    bits::set(inc, i);
                }
                for &i in &p.exclude {
                    bits::set(exc, i);
                }
            }
        });
        for wi in 0..w {
            let t = if trusted { !0 } else { 0 };
            let i = self.loc_inc_all.0[wi] | (self.loc_inc_trusted.0[wi] & t) | inc[wi];
            let e = (self.loc_exc_trusted.0[wi] & t) | exc[wi];
            inc[wi] = (i & !e) | self.loc_unconfigured.0[wi];
            exc[wi] = 0;
        }
        combine(conds, Cond::Location, inc, exc);

        // Devices.
        full(conds, Cond::Devices, self.n);
        if !self.device_rules.is_empty() {
            let get = |name: &str| device_attribute(ctx, name);
            let start = Cond::Devices as usize * w;
            for (pi, rule) in &self.device_rules {
                let keep = match rule {
                    // Unknown (a missing attribute decides) keeps the device in scope.
                    DeviceRule::Filter { include, rule } => match rule.eval3(&get) {
                        Some(matched) => matched == *include,
                        None => true,
                    },
                    DeviceRule::States {
                        exclude_compliant,
                        exclude_domain_joined,
                    } => {
                        !((*exclude_compliant && ctx.device.compliant)
                            || (*exclude_domain_joined && ctx.device.trusted))
                    }
                };
                if !keep {
                    if let Some(word) = conds.get_mut(start + *pi as usize / 64) {
                        *word &= !(1u64 << (pi % 64));
                    }
                }
            }
        }

        // State.
        if let Some(dst) = conds.get_mut(slot(Cond::State)) {
            for ((d, e), r) in dst.iter_mut().zip(&self.enabled.0).zip(&self.report_only.0) {
                *d = e | r;
            }
        }

        // Applicable = every condition matches.
        let (applicable, conds_ro) = (&mut *inc, &*conds);
        for (wi, a) in applicable.iter_mut().enumerate() {
            let mut acc = !0u64;
            for c in 0..N_COND {
                acc &= conds_ro.get(c * w + wi).copied().unwrap_or(0);
            }
            *a = acc;
        }

        let facts = Facts::new(ctx, self.strength(ctx));
        let count = |state: &crate::bits::Bits| -> usize {
            applicable
                .iter()
                .zip(&state.0)
                .map(|(a, s)| (a & s).count_ones() as usize)
                .sum()
        };
        let mut enforced = Vec::with_capacity(count(&self.enabled));
        let mut report_only = Vec::with_capacity(count(&self.report_only));
        let mut session = SessionOutcome::default();
        let mut result = Outcome::Allow;
        bits::for_each(applicable, |i| {
            let Some(p) = self.policies.get(i) else {
                return;
            };
            let (outcome, unsatisfied) = policy_outcome(p, &facts);
            let applied = AppliedPolicy {
                index: i as u32,
                outcome,
                unsatisfied,
            };
            if p.state == PolicyState::Enabled {
                result = result.min(outcome);
                if !p.session_empty {
                    session.merge(&p.session);
                }
                enforced.push(applied);
            } else {
                report_only.push(applied);
            }
        });

        Decision {
            result,
            enforced,
            report_only,
            session,
            masks: if keep_masks {
                conds.to_vec()
            } else {
                Vec::new()
            },
            words: w,
        }
    }

    /// Runs `f` for every named location the sign-in is in; returns whether any is trusted.
    fn match_locations(&self, ctx: &SignInContext, mut f: impl FnMut(u32)) -> bool {
        let mut trusted = false;
        let mut hit = |li: u32, trusted: &mut bool| {
            *trusted |= self
                .locations
                .trusted
                .get(li as usize)
                .copied()
                .unwrap_or(false);
            f(li);
        };
        if let Some(ip) = ctx.ip {
            let ip: IpAddr = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                v4 => v4,
            };
            for (net, li) in &self.locations.ip {
                if net.contains(&ip) {
                    hit(*li, &mut trusted);
                }
            }
        }
        match ctx
            .country
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => {
                // Country codes are two ASCII letters: uppercase them on the stack.
                let buf: [u8; 2];
                let code = match c.as_bytes() {
                    [a, b] => {
                        buf = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
                        std::str::from_utf8(&buf).unwrap_or(c)
                    }
                    _ => c,
                };
                if let Some(list) = self.locations.country.get(code) {
                    for &li in list {
                        hit(li, &mut trusted);
                    }
                }
            }
            None => {
                for &li in &self.locations.unknown_country {
                    hit(li, &mut trusted);
                }
            }
        }
        if ctx.compliant_network {
            for &li in &self.locations.compliant_network {
                hit(li, &mut trusted);
            }
        }
        trusted
    }

    fn strength(&self, ctx: &SignInContext) -> u8 {
        let mut s = 0;
        for x in &ctx.satisfied_controls {
            let x = x.trim();
            let id = x.strip_prefix("authenticationStrength:").unwrap_or(x);
            if x.eq_ignore_ascii_case("mfa") {
                s = s.max(2);
            } else if let Some(level) = builtin_strength(id) {
                s = s.max(level);
            }
        }
        s
    }

    /// Evaluates, keeping what [`PolicySet::report`] needs to give reasons for the policies
    /// that did not apply.
    pub fn evaluate_with_reasons(&self, ctx: &SignInContext) -> Decision {
        self.run(ctx, true)
    }
}

fn policy_outcome(p: &CompiledPolicy, facts: &Facts<'_>) -> (Outcome, u64) {
    if p.block {
        return (Outcome::Block, 0);
    }
    if p.requirements.is_empty() {
        return (Outcome::Allow, 0);
    }
    let mut unsatisfied = 0u64;
    for (i, r) in p.requirements.iter().enumerate() {
        if !facts.satisfied(r) {
            unsatisfied |= 1u64 << i;
        }
    }
    let all = if p.requirements.len() >= 64 {
        !0
    } else {
        (1u64 << p.requirements.len()) - 1
    };
    let ok = if p.operator_and {
        unsatisfied == 0
    } else {
        unsatisfied != all
    };
    if ok {
        (Outcome::Allow, 0)
    } else {
        (Outcome::Grant, unsatisfied)
    }
}

/// A device attribute for filter rules, by lowercased name (`device.iscompliant`), lowercased;
/// borrowed when no lowercasing is needed, so filters do not allocate per sign-in.
fn device_attribute<'a>(ctx: &'a SignInContext, name: &str) -> Option<Cow<'a, str>> {
    let attr = name.strip_prefix("device.").unwrap_or(name);
    let given = ctx
        .device
        .attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .map(|(_, v)| lower(v));
    match attr {
        "iscompliant" => given.or(Some(Cow::Borrowed(if ctx.device.compliant {
            "true"
        } else {
            "false"
        }))),
        "trusttype" => given.or_else(|| ctx.device.trusted.then_some(Cow::Borrowed("serverad"))),
        "operatingsystem" => {
            given.or_else(|| ctx.device_platform.as_ref().map(|p| lower(p.as_str())))
        }
        _ => given,
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}
