//! The detectors: pure functions of one sign-in and the recent history around it. No store,
//! no clock, no network: everything they read is handed in, bounded by the caller.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::geo::{distance_km, Locator, Place};
use crate::level::RiskLevel;
use crate::network::{network_key, network_of, user_agent_family};

/// What a detection found, in Microsoft Graph's `riskEventType` vocabulary where it has a
/// name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DetectionKind {
    /// Atypical travel: two sign-ins further apart than anyone could travel in the time.
    UnlikelyTravel,
    /// A country, network or user agent not seen for this person in the learning window.
    UnfamiliarFeatures,
    /// Many accounts failing from one address or network.
    PasswordSpray,
    /// Many failures against this one account.
    BruteForce,
    /// The address is tied to an open detection alert.
    #[serde(rename = "maliciousIPAddress")]
    MaliciousIpAddress,
}

impl DetectionKind {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionKind::UnlikelyTravel => "unlikelyTravel",
            DetectionKind::UnfamiliarFeatures => "unfamiliarFeatures",
            DetectionKind::PasswordSpray => "passwordSpray",
            DetectionKind::BruteForce => "bruteForce",
            DetectionKind::MaliciousIpAddress => "maliciousIPAddress",
        }
    }
}

/// One finding about a sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// What was found.
    pub kind: DetectionKind,
    /// How much it raises the sign-in's risk.
    pub level: RiskLevel,
    /// Why, in words for an administrator.
    pub reason: String,
    /// Facts behind it (countries, distances, counts), for the API.
    pub detail: Value,
}

/// One past sign-in attempt, as the sign-in log recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The directory user, when the name matched one.
    pub user_id: Option<String>,
    /// The account name typed, lower case (counts distinct accounts in a spray).
    pub account: String,
    /// The source address.
    pub ip: Option<IpAddr>,
    /// The user agent.
    pub user_agent: Option<String>,
    /// Whether the attempt succeeded.
    pub success: bool,
}

/// An address an open detection alert names.
#[derive(Debug, Clone, PartialEq)]
pub struct FlaggedAddress {
    /// The address.
    pub ip: IpAddr,
    /// The alert.
    pub alert_id: String,
    /// Its title.
    pub title: String,
}

/// The sign-in being judged.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInFacts {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The directory user.
    pub user_id: String,
    /// The source address.
    pub ip: Option<IpAddr>,
    /// The user agent.
    pub user_agent: Option<String>,
}

/// What the detectors read besides the sign-in itself. The caller bounds every list
/// ([`Settings::max_person_attempts`], [`Settings::max_network_attempts`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The person's attempts in the learning window, any order.
    pub person: Vec<Attempt>,
    /// Failed attempts from the sign-in's network (its /24 or /64) within the spray window,
    /// of any account.
    pub network_failures: Vec<Attempt>,
    /// Open alerts naming the sign-in's address.
    pub flagged: Vec<FlaggedAddress>,
}

/// Thresholds and windows. The defaults are documented in `docs/risk.md`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// How far back a person's familiar properties are learnt.
    pub learning_window_ms: i64,
    /// Successful sign-ins needed before unfamiliar properties are judged at all.
    pub min_learning_sign_ins: usize,
    /// Faster than this between two sign-ins is impossible travel.
    pub max_travel_speed_kmh: f64,
    /// Closer than this (after the databases' accuracy radii) is never travel.
    pub min_travel_distance_km: f64,
    /// Previous sign-ins considered for travel: no older than this.
    pub travel_window_ms: i64,
    /// The window of failures counted for a password spray.
    pub spray_window_ms: i64,
    /// Distinct accounts failing from one network for a medium / high spray.
    pub spray_accounts_medium: usize,
    /// See [`spray_accounts_medium`](Self::spray_accounts_medium).
    pub spray_accounts_high: usize,
    /// The window of failures counted against one account.
    pub brute_force_window_ms: i64,
    /// Failures against one account for a medium / high brute force.
    pub brute_force_failures_medium: usize,
    /// See [`brute_force_failures_medium`](Self::brute_force_failures_medium).
    pub brute_force_failures_high: usize,
    /// The most of a person's attempts read per sign-in.
    pub max_person_attempts: usize,
    /// The most failures of a network read per sign-in.
    pub max_network_attempts: usize,
}

impl Default for Settings {
    fn default() -> Self {
        const HOUR: i64 = 60 * 60 * 1000;
        Settings {
            learning_window_ms: 30 * 24 * HOUR,
            min_learning_sign_ins: 3,
            max_travel_speed_kmh: 1000.0,
            min_travel_distance_km: 500.0,
            travel_window_ms: 24 * HOUR,
            spray_window_ms: HOUR,
            spray_accounts_medium: 10,
            spray_accounts_high: 25,
            brute_force_window_ms: HOUR,
            brute_force_failures_medium: 5,
            brute_force_failures_high: 15,
            max_person_attempts: 200,
            max_network_attempts: 1000,
        }
    }
}

/// The sign-in's risk: the highest level of its detections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    /// `none` when nothing was found.
    pub level: RiskLevel,
    /// What was found.
    pub detections: Vec<Detection>,
    /// Where the sign-in came from, when the address could be located.
    pub country: Option<String>,
}

/// Places of addresses, each looked up once per evaluation.
struct Places<'a> {
    locator: Option<&'a dyn Locator>,
    known: HashMap<IpAddr, Option<Place>>,
}

impl Places<'_> {
    fn of(&mut self, ip: IpAddr) -> Option<Place> {
        let locator = self.locator?;
        self.known
            .entry(ip)
            .or_insert_with(|| locator.locate(ip))
            .clone()
    }
}

/// Runs every detector over one sign-in. `history` must already be bounded; entries outside
/// each detector's window are ignored here, so a caller may hand in a wider read.
pub fn assess(
    facts: &SignInFacts,
    history: &History,
    locator: Option<&dyn Locator>,
    settings: &Settings,
) -> Assessment {
    let mut places = Places {
        locator,
        known: HashMap::new(),
    };
    let here = facts.ip.and_then(|ip| places.of(ip));
    let mut detections = Vec::new();
    detections.extend(unlikely_travel(
        facts,
        here.as_ref(),
        history,
        &mut places,
        settings,
    ));
    detections.extend(unfamiliar_features(
        facts,
        here.as_ref(),
        history,
        &mut places,
        settings,
    ));
    detections.extend(password_spray(facts, history, settings));
    detections.extend(brute_force(facts, history, settings));
    detections.extend(flagged_address(facts, history));
    let level = detections
        .iter()
        .map(|d| d.level)
        .max()
        .unwrap_or(RiskLevel::None);
    Assessment {
        level,
        detections,
        country: here.and_then(|p| p.country),
    }
}

fn mine<'a>(facts: &'a SignInFacts, history: &'a History) -> impl Iterator<Item = &'a Attempt> {
    history.person.iter().filter(move |a| {
        a.user_id.as_deref() == Some(facts.user_id.as_str()) && a.at_ms <= facts.at_ms
    })
}

/// The fastest implied travel from a recent successful sign-in to this one.
fn unlikely_travel(
    facts: &SignInFacts,
    here: Option<&Place>,
    history: &History,
    places: &mut Places<'_>,
    settings: &Settings,
) -> Option<Detection> {
    let here = here?;
    let (lat, lon) = here.coordinates?;
    let ip = facts.ip?;
    let mut worst: Option<(f64, f64, i64, Place, IpAddr)> = None;
    for a in mine(facts, history)
        .filter(|a| a.success && facts.at_ms - a.at_ms <= settings.travel_window_ms)
    {
        let Some(prev_ip) = a.ip.filter(|p| *p != ip) else {
            continue;
        };
        let Some(there) = places.of(prev_ip) else {
            continue;
        };
        let Some((plat, plon)) = there.coordinates else {
            continue;
        };
        let slack = here.accuracy_km.unwrap_or(0.0) + there.accuracy_km.unwrap_or(0.0);
        let km = distance_km(lat, lon, plat, plon) - slack;
        if km < settings.min_travel_distance_km {
            continue;
        }
        // At least a minute apart, so two sign-ins in the same millisecond have a speed.
        let hours = ((facts.at_ms - a.at_ms).max(60_000) as f64) / 3_600_000.0;
        let speed = km / hours;
        if speed > settings.max_travel_speed_kmh && worst.as_ref().is_none_or(|w| speed > w.0) {
            worst = Some((speed, km, a.at_ms, there, prev_ip));
        }
    }
    let (speed, km, at, there, prev_ip) = worst?;
    let minutes = (facts.at_ms - at) / 60_000;
    let from = there.country.clone().unwrap_or_else(|| "?".into());
    let to = here.country.clone().unwrap_or_else(|| "?".into());
    Some(Detection {
        kind: DetectionKind::UnlikelyTravel,
        level: RiskLevel::High,
        reason: format!(
            "signed in from {to} {minutes} minutes after a sign-in from {from}, at least {:.0} km away ({:.0} km/h)",
            km, speed
        ),
        detail: json!({
            "previousIpAddress": prev_ip.to_string(),
            "previousCountry": there.country,
            "country": here.country,
            "distanceKm": km.round(),
            "minutesApart": minutes,
            "speedKmh": speed.round(),
        }),
    })
}

/// Properties of this sign-in never seen in the person's successful sign-ins of the learning
/// window.
fn unfamiliar_features(
    facts: &SignInFacts,
    here: Option<&Place>,
    history: &History,
    places: &mut Places<'_>,
    settings: &Settings,
) -> Option<Detection> {
    let learnt: Vec<&Attempt> = mine(facts, history)
        .filter(|a| a.success && facts.at_ms - a.at_ms <= settings.learning_window_ms)
        .take(settings.max_person_attempts)
        .collect();
    if learnt.len() < settings.min_learning_sign_ins {
        return None;
    }
    let mut countries = BTreeSet::new();
    let mut networks = BTreeSet::new();
    let mut agents = BTreeSet::new();
    for a in &learnt {
        if let Some(ip) = a.ip {
            networks.insert(network_key(ip));
            if let Some(c) = places.of(ip).and_then(|p| p.country) {
                countries.insert(c);
            }
        }
        if let Some(ua) = &a.user_agent {
            agents.insert(user_agent_family(ua));
        }
    }
    let mut unfamiliar = Vec::new();
    if let Some(c) = here.and_then(|p| p.country.as_ref()) {
        if !countries.is_empty() && !countries.contains(c) {
            unfamiliar.push(format!("country {c}"));
        }
    }
    if let Some(ip) = facts.ip {
        if !networks.is_empty() && !networks.contains(&network_key(ip)) {
            unfamiliar.push(format!("network {}", network_of(ip)));
        }
    }
    if let Some(ua) = &facts.user_agent {
        if !agents.is_empty() && !agents.contains(&user_agent_family(ua)) {
            unfamiliar.push("user agent".to_string());
        }
    }
    let level = match unfamiliar.len() {
        0 => return None,
        1 => RiskLevel::Low,
        2 => RiskLevel::Medium,
        _ => RiskLevel::High,
    };
    Some(Detection {
        kind: DetectionKind::UnfamiliarFeatures,
        level,
        reason: format!(
            "not seen for this person in {} successful sign-ins of the last {} days: {}",
            learnt.len(),
            settings.learning_window_ms / 86_400_000,
            unfamiliar.join(", ")
        ),
        detail: json!({ "unfamiliar": unfamiliar, "learntSignIns": learnt.len() }),
    })
}

/// Distinct accounts failing from the sign-in's network within the spray window.
fn password_spray(
    facts: &SignInFacts,
    history: &History,
    settings: &Settings,
) -> Option<Detection> {
    let ip = facts.ip?;
    let key = network_key(ip);
    let accounts: BTreeSet<&str> = history
        .network_failures
        .iter()
        .take(settings.max_network_attempts)
        .filter(|a| {
            !a.success
                && a.at_ms <= facts.at_ms
                && facts.at_ms - a.at_ms <= settings.spray_window_ms
                && a.ip.is_some_and(|i| network_key(i) == key)
        })
        .map(|a| a.account.as_str())
        .collect();
    let net = network_of(ip);
    let level = if accounts.len() >= settings.spray_accounts_high {
        RiskLevel::High
    } else if accounts.len() >= settings.spray_accounts_medium {
        RiskLevel::Medium
    } else {
        return None;
    };
    Some(Detection {
        kind: DetectionKind::PasswordSpray,
        level,
        reason: format!(
            "{} accounts failed to sign in from {net} in the last {} minutes",
            accounts.len(),
            settings.spray_window_ms / 60_000
        ),
        detail: json!({ "network": net, "accounts": accounts.len() }),
    })
}

/// Failures against this account within the window.
fn brute_force(facts: &SignInFacts, history: &History, settings: &Settings) -> Option<Detection> {
    let failures: Vec<&Attempt> = mine(facts, history)
        .filter(|a| !a.success && facts.at_ms - a.at_ms <= settings.brute_force_window_ms)
        .collect();
    let level = if failures.len() >= settings.brute_force_failures_high {
        RiskLevel::High
    } else if failures.len() >= settings.brute_force_failures_medium {
        RiskLevel::Medium
    } else {
        return None;
    };
    let sources: BTreeSet<String> = failures
        .iter()
        .filter_map(|a| a.ip.map(|i| i.to_string()))
        .collect();
    Some(Detection {
        kind: DetectionKind::BruteForce,
        level,
        reason: format!(
            "{} failed sign-ins to this account in the last {} minutes, from {} addresses",
            failures.len(),
            settings.brute_force_window_ms / 60_000,
            sources.len()
        ),
        detail: json!({ "failures": failures.len(), "addresses": sources.len() }),
    })
}

/// The address is named by an open alert.
fn flagged_address(facts: &SignInFacts, history: &History) -> Option<Detection> {
    let ip = facts.ip?;
    let alerts: Vec<&FlaggedAddress> = history.flagged.iter().filter(|f| f.ip == ip).collect();
    let first = alerts.first()?;
    Some(Detection {
        kind: DetectionKind::MaliciousIpAddress,
        level: RiskLevel::High,
        reason: format!(
            "{ip} is named by an open alert: {}{}",
            first.title,
            if alerts.len() > 1 {
                format!(" (and {} more)", alerts.len() - 1)
            } else {
                String::new()
            }
        ),
        detail: json!({ "alertIds": alerts.iter().map(|a| a.alert_id.clone()).collect::<Vec<_>>() }),
    })
}
