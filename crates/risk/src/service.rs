//! The risk service over the store: history in, detections out, user risk aggregated.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use trustplane_model::{Actor, User};
use trustplane_store::{network_of, NewRiskDetection, RiskDetection, Store, StoreError};

use crate::detect::{assess, Assessment, Attempt, FlaggedAddress, History, Settings, SignInFacts};
use crate::geo::Locator;
use crate::level::RiskLevel;

/// How far back open detections and alerts count towards user risk.
pub const USER_RISK_WINDOW_MS: i64 = 90 * 24 * 60 * 60 * 1000;
/// Open alerts read per address or per person.
const MAX_ALERTS: usize = 20;
/// Open detections read per person.
const MAX_OPEN_DETECTIONS: usize = 100;
/// People listed as risky at most.
pub const MAX_RISKY_USERS: usize = 1000;
/// Users named in one confirm or dismiss request at most (Graph allows 60).
pub const MAX_USER_IDS: usize = 60;

/// Why a risk operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A named user does not exist.
    #[error("no user {0}")]
    UnknownUser(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A person's user risk now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRisk {
    /// The aggregated level.
    pub level: RiskLevel,
    /// none, atRisk, confirmedCompromised, dismissed.
    pub state: String,
    /// Why (Graph's `riskDetail`): `none`, `adminConfirmedUserCompromised`,
    /// `adminDismissedAllRiskForUser`, or what raised it.
    pub detail: String,
    /// When it last changed (ms), if it ever did.
    pub updated_at: Option<i64>,
    /// Open detections that count.
    pub detection_ids: Vec<String>,
    /// Open alerts resolved to the person that count.
    pub alert_ids: Vec<String>,
}

/// Graph's `riskyUser`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskyUser {
    /// The user's id.
    pub id: String,
    /// Their user principal name.
    pub user_principal_name: String,
    /// Their display name.
    pub user_display_name: String,
    /// none, low, medium, high.
    pub risk_level: RiskLevel,
    /// none, atRisk, confirmedCompromised, dismissed.
    pub risk_state: String,
    /// Why.
    pub risk_detail: String,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub risk_last_updated_date_time: Option<time::OffsetDateTime>,
    /// Whether the user was deleted.
    pub is_deleted: bool,
    /// Always false: risk is computed synchronously.
    pub is_processing: bool,
}

/// Sign-in and user risk of one node.
pub struct RiskService {
    store: Store,
    locator: Option<Arc<dyn Locator>>,
    settings: Settings,
}

impl RiskService {
    /// A service over the store; `locator` places addresses (GeoIP), without which atypical
    /// travel and unfamiliar countries are not judged.
    pub fn new(store: Store, locator: Option<Arc<dyn Locator>>, settings: Settings) -> Self {
        RiskService {
            store,
            locator,
            settings,
        }
    }

    /// The thresholds in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The history the detectors need for a sign-in, read with bounded queries.
    pub async fn history(&self, facts: &SignInFacts) -> Result<History, StoreError> {
        let s = &self.settings;
        let since = facts.at_ms - s.learning_window_ms.max(s.brute_force_window_ms);
        let person = self
            .store
            .sign_in_attempts_of(&facts.user_id, since, s.max_person_attempts)
            .await?
            .into_iter()
            .map(attempt)
            .collect();
        let (network_failures, flagged) = match facts.ip {
            Some(ip) => {
                let failures = self
                    .store
                    .failed_attempts_from(
                        &network_of(ip),
                        facts.at_ms - s.spray_window_ms,
                        s.max_network_attempts,
                    )
                    .await?
                    .into_iter()
                    .map(attempt)
                    .collect();
                let flagged = self
                    .store
                    .open_alerts_naming(ip, facts.at_ms - USER_RISK_WINDOW_MS, MAX_ALERTS)
                    .await?
                    .into_iter()
                    .map(|a| FlaggedAddress {
                        ip,
                        alert_id: a.id,
                        title: a.title,
                    })
                    .collect();
                (failures, flagged)
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(History {
            person,
            network_failures,
            flagged,
        })
    }

    /// The risk of a sign-in by `user` now, from the recorded history (the attempt itself
    /// is not recorded yet).
    pub async fn assess_sign_in(
        &self,
        user: &User,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<Assessment, StoreError> {
        let facts = SignInFacts {
            at_ms: self.store.clock().now_ms(),
            user_id: user.id.clone(),
            ip,
            user_agent: user_agent.map(str::to_string),
        };
        let history = self.history(&facts).await?;
        Ok(assess(
            &facts,
            &history,
            self.locator.as_deref(),
            &self.settings,
        ))
    }

    /// Stores a sign-in's detections; returns their ids.
    pub async fn record(
        &self,
        user: &User,
        ip: Option<IpAddr>,
        assessment: &Assessment,
    ) -> Result<Vec<String>, StoreError> {
        let detections = assessment
            .detections
            .iter()
            .map(|d| NewRiskDetection {
                kind: d.kind.as_str().into(),
                level: d.level.as_str().into(),
                reason: d.reason.clone(),
                detail: d.detail.clone(),
            })
            .collect();
        self.store
            .add_risk_detections(
                &user.id,
                &user.user_principal_name,
                ip.map(|i| i.to_string()).as_deref(),
                assessment.country.as_deref(),
                detections,
            )
            .await
    }

    /// A person's user risk now: the highest of their open detections and of the open alerts
    /// resolved to them since an administrator last dismissed their risk; high while
    /// confirmed compromised.
    pub async fn user_risk(&self, user_id: &str) -> Result<UserRisk, StoreError> {
        let now = self.store.clock().now_ms();
        let decided = self.store.risky_user_state(user_id).await?;
        // Dismissed or remediated: what was seen until then no longer counts.
        let dismissed_at = decided
            .as_ref()
            .filter(|d| d.state == "dismissed" || d.state == "remediated")
            .map(|d| d.updated_at);
        let since = (now - USER_RISK_WINDOW_MS).max(dismissed_at.map_or(i64::MIN, |t| t + 1));
        let detections = self
            .store
            .open_risk_detections(user_id, since, MAX_OPEN_DETECTIONS)
            .await?;
        let alerts = self
            .store
            .open_alerts_of_person(user_id, since, MAX_ALERTS)
            .await?;
        let mut level = RiskLevel::None;
        let mut why = None;
        for d in &detections {
            let l = RiskLevel::parse(&d.risk_level).unwrap_or(RiskLevel::None);
            if l > level {
                level = l;
                why = Some(d.risk_event_type.clone());
            }
        }
        let alert_ids: Vec<String> = alerts
            .iter()
            .filter(|a| RiskLevel::of_alert(&a.level) > RiskLevel::None)
            .map(|a| a.id.clone())
            .collect();
        for a in &alerts {
            let l = RiskLevel::of_alert(&a.level);
            if l > level {
                level = l;
                why = Some(format!("alert: {}", a.title));
            }
        }
        let last_change = detections
            .iter()
            .map(|d| trustplane_model::to_ms(d.last_updated_date_time))
            .chain(alerts.iter().map(|a| a.last_seen))
            .max();
        let updated_at = match (&decided, last_change) {
            (Some(d), Some(t)) => Some(d.updated_at.max(t)),
            (Some(d), None) => Some(d.updated_at),
            (None, t) => t,
        };
        let confirmed = decided
            .as_ref()
            .is_some_and(|d| d.state == "confirmedCompromised");
        let (state, detail) = if confirmed {
            level = RiskLevel::High;
            (
                "confirmedCompromised".to_string(),
                "adminConfirmedUserCompromised".to_string(),
            )
        } else if level > RiskLevel::None {
            ("atRisk".to_string(), why.unwrap_or_else(|| "none".into()))
        } else if let Some(d) = decided.as_ref().filter(|_| dismissed_at.is_some()) {
            (d.state.clone(), d.detail.clone())
        } else {
            ("none".to_string(), "none".to_string())
        };
        Ok(UserRisk {
            level,
            state,
            detail,
            updated_at,
            detection_ids: detections.into_iter().map(|d| d.id).collect(),
            alert_ids,
        })
    }

    /// People with a risk history: detections, administrators' decisions or open alerts,
    /// with their risk now, highest first.
    pub async fn risky_users(&self) -> Result<Vec<RiskyUser>, StoreError> {
        let now = self.store.clock().now_ms();
        let mut ids: BTreeSet<String> = self
            .store
            .risk_subjects(MAX_RISKY_USERS)
            .await?
            .into_iter()
            .collect();
        ids.extend(
            self.store
                .alerted_people(now - USER_RISK_WINDOW_MS, MAX_RISKY_USERS)
                .await?,
        );
        let mut out = Vec::new();
        for id in ids.into_iter().take(MAX_RISKY_USERS) {
            out.push(self.risky_user(&id).await?);
        }
        out.sort_by(|a, b| b.risk_level.cmp(&a.risk_level).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// One person's `riskyUser`.
    pub async fn risky_user(&self, user_id: &str) -> Result<RiskyUser, StoreError> {
        let risk = self.user_risk(user_id).await?;
        let (upn, name, deleted) = match self.store.get_user(user_id).await {
            Ok(u) => (u.user_principal_name, u.display_name, false),
            Err(StoreError::NotFound { .. }) => (String::new(), String::new(), true),
            Err(e) => return Err(e),
        };
        Ok(RiskyUser {
            id: user_id.to_string(),
            user_principal_name: upn,
            user_display_name: name,
            risk_level: risk.level,
            risk_state: risk.state,
            risk_detail: risk.detail,
            risk_last_updated_date_time: risk.updated_at.map(trustplane_model::from_ms),
            is_deleted: deleted,
            is_processing: false,
        })
    }

    /// Detections, newest first: of one person (id or user principal name) or of everyone.
    pub async fn detections(
        &self,
        user: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RiskDetection>, RiskError> {
        let user_id = match user {
            Some(u) => Some(self.resolve(u).await?.id),
            None => None,
        };
        Ok(self
            .store
            .list_risk_detections(user_id.as_deref(), limit)
            .await?)
    }

    /// The users a request names, by id or user principal name; all of them must exist.
    pub async fn resolve_all(&self, names: &[String]) -> Result<Vec<User>, RiskError> {
        if names.is_empty() {
            return Err(RiskError::BadRequest(
                "userIds must name at least one user".into(),
            ));
        }
        if names.len() > MAX_USER_IDS {
            return Err(RiskError::BadRequest(format!(
                "userIds may name at most {MAX_USER_IDS} users"
            )));
        }
        let mut users: Vec<User> = Vec::with_capacity(names.len());
        for n in names {
            let u = self.resolve(n).await?;
            if !users.iter().any(|x| x.id == u.id) {
                users.push(u);
            }
        }
        Ok(users)
    }

    async fn resolve(&self, name: &str) -> Result<User, RiskError> {
        if name.is_empty() || name.len() > 256 {
            return Err(RiskError::BadRequest(
                "a user id or name is 1 to 256 characters".into(),
            ));
        }
        match self.store.get_user(name).await {
            Ok(u) => Ok(u),
            Err(StoreError::NotFound { .. }) => Err(RiskError::UnknownUser(name.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Confirms users compromised: risk high, sessions and OIDC grants ended; each audited.
    /// Every name is checked before anything changes.
    pub async fn confirm_compromised(
        &self,
        actor: &Actor,
        names: &[String],
    ) -> Result<Vec<RiskyUser>, RiskError> {
        let users = self.resolve_all(names).await?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            self.store
                .confirm_user_compromised(actor, &u.id, &u.user_principal_name)
                .await?;
            out.push(self.risky_user(&u.id).await?);
        }
        Ok(out)
    }

    /// After a person changed their own password: with a second factor proven recently
    /// (`second_factor_recent`), their user risk is remediated (audited) and `true` returned.
    /// Without one, or with no risk to remediate, nothing changes.
    pub async fn remediate_after_password_change(
        &self,
        actor: &Actor,
        user: &User,
        second_factor_recent: bool,
    ) -> Result<bool, StoreError> {
        if !second_factor_recent {
            return Ok(false);
        }
        let risk = self.user_risk(&user.id).await?;
        if risk.level == RiskLevel::None {
            return Ok(false);
        }
        self.store
            .remediate_user_risk(actor, &user.id, &user.user_principal_name)
            .await?;
        Ok(true)
    }

    /// Dismisses users' risk; each audited. Every name is checked before anything changes.
    pub async fn dismiss(
        &self,
        actor: &Actor,
        names: &[String],
    ) -> Result<Vec<RiskyUser>, RiskError> {
        let users = self.resolve_all(names).await?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            self.store
                .dismiss_user_risk(actor, &u.id, &u.user_principal_name)
                .await?;
            out.push(self.risky_user(&u.id).await?);
        }
        Ok(out)
    }
}

fn attempt(a: trustplane_store::SignInAttempt) -> Attempt {
    Attempt {
        at_ms: a.at,
        user_id: a.user_id,
        account: a.account,
        ip: a.ip.and_then(|i| i.parse().ok()),
        user_agent: a.user_agent,
        success: a.success,
    }
}
