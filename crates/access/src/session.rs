//! Session controls, accumulated over every applied policy; the strictest value wins.

use serde::Serialize;

use crate::enums::*;
use crate::policy::SessionControls;

/// How often the user must sign in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Frequency {
    /// At every sign-in.
    EveryTime,
    /// After this many hours.
    Hours {
        /// The number of hours.
        value: u32,
    },
    /// After this many days.
    Days {
        /// The number of days.
        value: u32,
    },
}

impl Frequency {
    fn minutes(self) -> u64 {
        match self {
            Frequency::EveryTime => 0,
            Frequency::Hours { value } => u64::from(value) * 60,
            Frequency::Days { value } => u64::from(value) * 24 * 60,
        }
    }
}

/// The session controls that result from the applied policies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionOutcome {
    /// The shortest sign-in frequency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_frequency: Option<Frequency>,
    /// `never` wins over `always`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_browser: Option<PersistentBrowserMode>,
    /// App-enforced restrictions requested.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub application_enforced_restrictions: bool,
    /// The strictest Defender for Cloud Apps control: blockDownloads, then mcasConfigured,
    /// then monitorOnly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_app_security: Option<CloudAppSecurityType>,
    /// The strictest continuous access evaluation mode: strictLocation, then
    /// strictEnforcement, then disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuous_access_evaluation: Option<CaeMode>,
    /// Resilience defaults turned off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_resilience_defaults: bool,
    /// Token protection required.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secure_sign_in_session: bool,
    /// Other session controls set (not null) that this crate does not interpret, by Graph
    /// name (e.g. `globalSecureAccessFilteringProfile`), so callers can still see them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

fn cas_rank(t: &CloudAppSecurityType) -> u8 {
    match t {
        CloudAppSecurityType::BlockDownloads => 3,
        CloudAppSecurityType::McasConfigured => 2,
        CloudAppSecurityType::MonitorOnly => 1,
        CloudAppSecurityType::Other(_) => 0,
    }
}

fn cae_rank(t: &CaeMode) -> u8 {
    match t {
        CaeMode::StrictLocation => 3,
        CaeMode::StrictEnforcement => 2,
        CaeMode::Disabled => 1,
        CaeMode::Other(_) => 0,
    }
}

fn stricter<T: Clone>(a: &mut Option<T>, b: &Option<T>, rank: impl Fn(&T) -> u64) {
    if let Some(b) = b {
        match a {
            Some(x) if rank(x) >= rank(b) => {}
            _ => *a = Some(b.clone()),
        }
    }
}

impl SessionOutcome {
    pub(crate) fn compile(s: &SessionControls) -> SessionOutcome {
        let on = |e: Option<bool>| e != Some(false);
        let mut out = SessionOutcome::default();
        if let Some(f) = s.sign_in_frequency.as_ref().filter(|f| on(f.is_enabled)) {
            out.sign_in_frequency = match (&f.frequency_interval, &f.unit, f.value) {
                (Some(FrequencyInterval::EveryTime), _, _) => Some(Frequency::EveryTime),
                (_, Some(FrequencyUnit::Hours), Some(value)) => Some(Frequency::Hours { value }),
                (_, Some(FrequencyUnit::Days), Some(value)) => Some(Frequency::Days { value }),
                _ => None,
            };
        }
        if let Some(p) = s.persistent_browser.as_ref().filter(|p| on(p.is_enabled)) {
            out.persistent_browser = p.mode.clone().filter(|m| m.is_known());
        }
        out.application_enforced_restrictions = s
            .application_enforced_restrictions
            .as_ref()
            .is_some_and(|t| on(t.is_enabled));
        if let Some(c) = s.cloud_app_security.as_ref().filter(|c| on(c.is_enabled)) {
            out.cloud_app_security = c.cloud_app_security_type.clone().filter(|t| t.is_known());
        }
        out.continuous_access_evaluation = s
            .continuous_access_evaluation
            .as_ref()
            .and_then(|c| c.mode.clone())
            .filter(|m| m.is_known());
        out.disable_resilience_defaults = s.disable_resilience_defaults == Some(true);
        out.secure_sign_in_session = s
            .secure_sign_in_session
            .as_ref()
            .is_some_and(|t| on(t.is_enabled));
        out.other = s
            .extra
            .iter()
            .filter(|(k, v)| !k.contains('@') && !v.is_null())
            .map(|(k, _)| k.clone())
            .collect();
        out
    }

    /// Folds `other` in; the strictest value of each control wins.
    pub fn merge(&mut self, other: &SessionOutcome) {
        stricter(&mut self.sign_in_frequency, &other.sign_in_frequency, |f| {
            u64::MAX - f.minutes()
        });
        stricter(
            &mut self.persistent_browser,
            &other.persistent_browser,
            |m| u64::from(*m == PersistentBrowserMode::Never),
        );
        self.application_enforced_restrictions |= other.application_enforced_restrictions;
        stricter(
            &mut self.cloud_app_security,
            &other.cloud_app_security,
            |t| u64::from(cas_rank(t)),
        );
        stricter(
            &mut self.continuous_access_evaluation,
            &other.continuous_access_evaluation,
            |t| u64::from(cae_rank(t)),
        );
        self.disable_resilience_defaults |= other.disable_resilience_defaults;
        self.secure_sign_in_session |= other.secure_sign_in_session;
        for name in &other.other {
            if !self.other.contains(name) {
                self.other.push(name.clone());
            }
        }
    }

    /// True when no session control is set.
    pub fn is_empty(&self) -> bool {
        *self == SessionOutcome::default()
    }
}
