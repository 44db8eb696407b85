//! Graph's rules for a policy, checked before compilation. Every broken rule is reported at
//! once, each naming its field.

use crate::enums::*;
use crate::error::ValidationError;
use crate::filter::Rule;
use crate::policy::{ConditionalAccessPolicy, Filter};

impl ConditionalAccessPolicy {
    /// Parses one policy from Graph JSON (a UTF-8 BOM is accepted; duplicate keys keep the
    /// last value).
    pub fn from_json(text: &str) -> Result<Self, crate::ParseError> {
        crate::error::from_json("policy", text)
    }

    /// The id, else the display name: how reports name this policy.
    pub fn label(&self) -> &str {
        self.id
            .as_deref()
            .or(self.display_name.as_deref())
            .unwrap_or("<unnamed policy>")
    }

    /// Checks the rules Graph enforces on write, plus values this engine cannot evaluate.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut v = Check {
            label: self.label(),
            errors: Vec::new(),
        };
        let c = &self.conditions;
        if !self.state.is_known() {
            v.err("state", format!("unknown state `{}`", self.state));
        }
        if self
            .display_name
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            v.err("displayName", "a policy needs a display name");
        }

        // Who: users, or workload identities for a service-principal policy.
        match (&c.users, &c.client_applications) {
            (None, None) => v.err("conditions.users", "the users condition is required"),
            (Some(u), None)
                if u.include_users.is_empty()
                    && u.include_groups.is_empty()
                    && u.include_roles.is_empty()
                    && u.include_guests_or_external_users.is_none() =>
            {
                v.err(
                    "conditions.users",
                    "includes nobody: set includeUsers, includeGroups, includeRoles or includeGuestsOrExternalUsers",
                )
            }
            _ => {}
        }
        if let Some(u) = &c.users {
            for (field, g) in [
                (
                    "conditions.users.includeGuestsOrExternalUsers",
                    &u.include_guests_or_external_users,
                ),
                (
                    "conditions.users.excludeGuestsOrExternalUsers",
                    &u.exclude_guests_or_external_users,
                ),
            ] {
                if let Some(g) = g {
                    if let Some(t) = &g.guest_or_external_user_types {
                        v.known(&format!("{field}.guestOrExternalUserTypes"), t.iter());
                    }
                    if let Some(k) = g
                        .external_tenants
                        .as_ref()
                        .and_then(|t| t.membership_kind.as_ref())
                    {
                        v.known(&format!("{field}.externalTenants.membershipKind"), [k]);
                    }
                }
            }
        }

        // What: applications, user actions, authentication contexts or network traffic.
        match &c.applications {
            None if c.client_applications.is_none() => {
                v.err("conditions.applications", "the applications condition is required")
            }
            Some(a)
                if a.include_applications.is_empty()
                    && a.include_user_actions.is_empty()
                    && a.include_authentication_context_class_references.is_empty()
                    && !a.extra.contains_key("globalSecureAccess")
                    && !a.extra.contains_key("networkAccess") =>
            {
                v.err(
                    "conditions.applications",
                    "includes nothing: set includeApplications, includeUserActions or includeAuthenticationContextClassReferences",
                )
            }
            _ => {}
        }
        if let Some(f) = c
            .applications
            .as_ref()
            .and_then(|a| a.application_filter.as_ref())
        {
            v.filter("conditions.applications.applicationFilter", f);
        }
        if let Some(f) = c.devices.as_ref().and_then(|d| d.device_filter.as_ref()) {
            v.filter("conditions.devices.deviceFilter", f);
        }

        v.known("conditions.clientAppTypes", &c.client_app_types);
        if let Some(p) = &c.platforms {
            v.known(
                "conditions.platforms.includePlatforms",
                &p.include_platforms,
            );
            v.known(
                "conditions.platforms.excludePlatforms",
                &p.exclude_platforms,
            );
            if p.include_platforms.is_empty() && !p.exclude_platforms.is_empty() {
                v.err(
                    "conditions.platforms.includePlatforms",
                    "excludePlatforms needs includePlatforms",
                );
            }
        }
        if let Some(l) = &c.locations {
            if l.include_locations.is_empty() && !l.exclude_locations.is_empty() {
                v.err(
                    "conditions.locations.includeLocations",
                    "excludeLocations needs includeLocations",
                );
            }
        }
        v.known("conditions.signInRiskLevels", &c.sign_in_risk_levels);
        v.known("conditions.userRiskLevels", &c.user_risk_levels);
        v.known(
            "conditions.servicePrincipalRiskLevels",
            &c.service_principal_risk_levels,
        );
        if let Some(i) = &c.insider_risk_levels {
            v.known("conditions.insiderRiskLevels", i.iter());
        }
        if let Some(t) = c
            .authentication_flows
            .as_ref()
            .and_then(|f| f.transfer_methods.as_ref())
        {
            v.known("conditions.authenticationFlows.transferMethods", t.iter());
        }

        // Grant controls.
        let grant_empty = self.grant_controls.as_ref().is_none_or(|g| g.is_empty());
        if let Some(g) = &self.grant_controls {
            if let Some(op) = &g.operator {
                v.known("grantControls.operator", [op]);
            }
            v.known("grantControls.builtInControls", &g.built_in_controls);
            let has = |c: &BuiltInControl| g.built_in_controls.contains(c);
            let others = g.built_in_controls.len()
                + g.custom_authentication_factors.len()
                + g.terms_of_use.len()
                + usize::from(
                    g.authentication_strength
                        .as_ref()
                        .is_some_and(|s| s.id.is_some()),
                );
            if has(&BuiltInControl::Block) && others > 1 {
                v.err(
                    "grantControls.builtInControls",
                    "`block` cannot be combined with other controls",
                );
            }
            if has(&BuiltInControl::PasswordChange) {
                let strength = g
                    .authentication_strength
                    .as_ref()
                    .is_some_and(|s| s.id.is_some());
                if g.operator() != GrantOperator::And || !(has(&BuiltInControl::Mfa) || strength) {
                    v.err(
                        "grantControls.builtInControls",
                        "`passwordChange` must be combined with `mfa` (or an authentication strength) under operator `AND`",
                    );
                }
            }
            if g.authentication_strength
                .as_ref()
                .is_some_and(|s| s.id.is_some())
                && has(&BuiltInControl::Mfa)
            {
                v.err(
                    "grantControls.authenticationStrength",
                    "an authentication strength cannot be combined with `mfa`",
                );
            }
        }

        // Session controls.
        let mut session_empty = true;
        if let Some(s) = &self.session_controls {
            session_empty = s.application_enforced_restrictions.is_none()
                && s.cloud_app_security.is_none()
                && s.persistent_browser.is_none()
                && s.sign_in_frequency.is_none()
                && s.continuous_access_evaluation.is_none()
                && s.disable_resilience_defaults.is_none()
                && s.secure_sign_in_session.is_none()
                && s.extra.values().all(|v| v.is_null());
            if let Some(f) = &s.sign_in_frequency {
                if f.is_enabled != Some(false)
                    && f.frequency_interval != Some(FrequencyInterval::EveryTime)
                {
                    match (&f.value, &f.unit) {
                        (Some(n), Some(FrequencyUnit::Hours)) if !(1..=23).contains(n) => v.err(
                            "sessionControls.signInFrequency.value",
                            format!("`{n}` hours is out of range 1-23"),
                        ),
                        (Some(n), Some(FrequencyUnit::Days)) if !(1..=365).contains(n) => v.err(
                            "sessionControls.signInFrequency.value",
                            format!("`{n}` days is out of range 1-365"),
                        ),
                        (Some(_), Some(FrequencyUnit::Hours | FrequencyUnit::Days)) => {}
                        (_, Some(u @ FrequencyUnit::Other(_))) => v.err(
                            "sessionControls.signInFrequency.type",
                            format!("unknown value `{u}`"),
                        ),
                        _ => v.err(
                            "sessionControls.signInFrequency",
                            "a time-based sign-in frequency needs `value` and `type`",
                        ),
                    }
                }
            }
            if let Some(m) = s.persistent_browser.as_ref().and_then(|p| p.mode.as_ref()) {
                v.known("sessionControls.persistentBrowser.mode", [m]);
            }
            if let Some(m) = s
                .continuous_access_evaluation
                .as_ref()
                .and_then(|p| p.mode.as_ref())
            {
                v.known("sessionControls.continuousAccessEvaluation.mode", [m]);
            }
        }
        if grant_empty && session_empty {
            v.err(
                "grantControls",
                "the policy has neither grant nor session controls",
            );
        }
        v.errors
    }
}

struct Check<'a> {
    label: &'a str,
    errors: Vec<ValidationError>,
}

trait Known {
    fn known(&self) -> bool;
    fn text(&self) -> &str;
}

macro_rules! known {
    ($($t:ty),*) => {$(
        impl Known for $t {
            fn known(&self) -> bool { self.is_known() }
            fn text(&self) -> &str { self.as_str() }
        }
    )*};
}
known!(
    ClientAppType,
    DevicePlatform,
    RiskLevel,
    InsiderRiskLevel,
    TransferMethod,
    GuestOrExternalUserType,
    MembershipKind,
    BuiltInControl,
    GrantOperator,
    PersistentBrowserMode,
    CaeMode
);

impl Check<'_> {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(ValidationError::new(self.label, field, message));
    }

    fn known<'v, T: Known + 'v>(&mut self, field: &str, values: impl IntoIterator<Item = &'v T>) {
        for value in values {
            if !value.known() {
                self.err(field, format!("unknown value `{}`", value.text()));
            }
        }
    }

    fn filter(&mut self, field: &str, f: &Filter) {
        if !f.mode.is_known() {
            self.err(
                &format!("{field}.mode"),
                format!("unknown value `{}`", f.mode),
            );
        }
        if let Err(e) = Rule::parse(&f.rule) {
            self.err(&format!("{field}.rule"), format!("cannot parse rule: {e}"));
        }
    }
}
