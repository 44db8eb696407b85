//! Identity risk's storage: the sign-in attempts the detectors read (one row per sign-in log
//! entry, written with it), the detections raised, and administrators' decisions about a
//! person's risk (confirmed compromised, dismissed), each decision audited.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{new_id, Actor, Event, Outcome, Target};

use crate::auth::{end_sign_ins_tx, Ending};
use crate::db::{Bind, Store, WriteTx};
use crate::error::Result;

/// The network an address belongs to for spray counting and familiarity: its /24 (IPv4) or
/// its /64 (IPv6), written as a CIDR. An IPv4-mapped IPv6 address counts as IPv4.
pub fn network_of(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
    }
}

/// One sign-in attempt as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInAttempt {
    /// The sign-in log entry's sequence number.
    pub seq: i64,
    /// When (ms).
    pub at: i64,
    /// The directory user, when the name matched one.
    pub user_id: Option<String>,
    /// The account name typed, lower case.
    pub account: String,
    /// Source address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Whether it succeeded.
    pub success: bool,
}

/// What a sign-in log entry records of an attempt.
pub(crate) struct AttemptRow {
    user_id: Option<String>,
    account: String,
    ip: Option<String>,
    user_agent: Option<String>,
    success: bool,
}

/// The row a sign-in log entry makes, if it is one (category and activity `signIn`).
pub(crate) fn attempt_of(event: &Event) -> Option<AttemptRow> {
    if event.category != "signIn" || event.activity != "signIn" {
        return None;
    }
    let user_id = Some(event.initiated_by.id.clone()).filter(|id| id != "unknown");
    let account = event
        .after
        .as_ref()
        .and_then(|a| a["userPrincipalName"].as_str())
        .or(event.initiated_by.display_name.as_deref())
        .unwrap_or_default()
        .chars()
        .take(256)
        .collect::<String>()
        .to_lowercase();
    let ip = event
        .initiated_by
        .ip_address
        .as_deref()
        .and_then(|s| s.parse::<IpAddr>().ok())
        .map(|i| i.to_string());
    let ua = event
        .initiated_by
        .user_agent
        .as_ref()
        .map(|u| u.chars().take(256).collect());
    Some(AttemptRow {
        user_id,
        account,
        ip,
        user_agent: ua,
        success: event.result == Outcome::Success,
    })
}

impl WriteTx {
    /// Records the sign-in attempt of a sign-in log entry appended in this transaction.
    pub(crate) async fn record_attempt(&mut self, seq: i64, row: AttemptRow) -> Result<()> {
        let AttemptRow {
            user_id,
            account,
            ip,
            user_agent: ua,
            success,
        } = row;
        let network = ip
            .as_deref()
            .and_then(|s| s.parse::<IpAddr>().ok())
            .map(network_of);
        self.execute(
            "INSERT INTO sign_in_attempts (seq, at, user_id, account, ip, network, user_agent, success) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                Bind::Int(seq),
                Bind::Int(self.now),
                Bind::OptText(user_id),
                Bind::Text(account),
                Bind::OptText(ip),
                Bind::OptText(network),
                Bind::OptText(ua),
                Bind::Int(i64::from(success)),
            ],
        )
        .await?;
        Ok(())
    }
}

fn attempt_from_row(r: &AnyRow) -> Result<SignInAttempt> {
    Ok(SignInAttempt {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        user_id: r.try_get("user_id")?,
        account: r.try_get("account")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        success: r.try_get::<i64, _>("success")? != 0,
    })
}

const ATTEMPT_COLUMNS: &str = "seq, at, user_id, account, ip, user_agent, success";

/// A detection to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRiskDetection {
    /// `unlikelyTravel`, `passwordSpray`, ...
    pub kind: String,
    /// low, medium, high.
    pub level: String,
    /// Why.
    pub reason: String,
    /// Facts behind it.
    pub detail: Value,
}

/// A stored detection, in Graph's `riskDetection` shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskDetection {
    /// Id.
    pub id: String,
    /// The person.
    pub user_id: String,
    /// Their user principal name.
    pub user_principal_name: String,
    /// `riskEventType`.
    pub risk_event_type: String,
    /// low, medium, high.
    pub risk_level: String,
    /// atRisk, dismissed, confirmedCompromised, remediated.
    pub risk_state: String,
    /// Why.
    pub risk_detail: String,
    /// Source address.
    pub ip_address: Option<String>,
    /// Country of the address.
    pub country: Option<String>,
    /// `realtime`: computed during the sign-in.
    pub detection_timing_type: String,
    /// `signIn`.
    pub activity: String,
    /// When it was detected.
    #[serde(with = "time::serde::rfc3339")]
    pub detected_date_time: time::OffsetDateTime,
    /// When its state last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_updated_date_time: time::OffsetDateTime,
    /// Facts behind it.
    pub additional_info: Value,
}

fn detection_from_row(r: &AnyRow) -> Result<RiskDetection> {
    let detail: String = r.try_get("detail")?;
    Ok(RiskDetection {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        user_principal_name: r.try_get("user_principal_name")?,
        risk_event_type: r.try_get("kind")?,
        risk_level: r.try_get("level")?,
        risk_state: r.try_get("state")?,
        risk_detail: r.try_get("reason")?,
        ip_address: r.try_get("ip")?,
        country: r.try_get("country")?,
        detection_timing_type: "realtime".into(),
        activity: "signIn".into(),
        detected_date_time: trustplane_model::from_ms(r.try_get("at")?),
        last_updated_date_time: trustplane_model::from_ms(r.try_get("updated_at")?),
        additional_info: serde_json::from_str(&detail).unwrap_or(Value::Null),
    })
}

const DETECTION_COLUMNS: &str =
    "id, user_id, user_principal_name, at, kind, level, state, ip, country, reason, detail, updated_at";

/// What administrators last decided about a person's risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskyUserState {
    /// The person.
    pub user_id: String,
    /// confirmedCompromised or dismissed.
    pub state: String,
    /// The level it set (high when confirmed, none when dismissed).
    pub level: String,
    /// `adminConfirmedUserCompromised`, `adminDismissedAllRiskForUser`.
    pub detail: String,
    /// When (ms).
    pub updated_at: i64,
}

/// An open alert naming an address.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRef {
    /// Alert id.
    pub id: String,
    /// Its rule's title.
    pub title: String,
    /// Its level.
    pub level: String,
    /// Its latest match (ms).
    pub last_seen: i64,
}

fn risk_event(actor: &Actor, activity: &str, user_id: &str, upn: &str, after: Value) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "identityProtection".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: "user".into(),
            id: user_id.into(),
            display_name: Some(upn.into()),
        }),
        result: Outcome::Success,
        result_reason: None,
        before: None,
        after: Some(after),
    }
}

impl Store {
    /// A person's sign-in attempts since `since` (ms), newest first, at most `limit`.
    pub async fn sign_in_attempts_of(
        &self,
        user_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<SignInAttempt>> {
        let _t = self.timer("risk.person");
        self.fetch_all(
            &format!(
                "SELECT {ATTEMPT_COLUMNS} FROM sign_in_attempts WHERE user_id = $1 AND at >= $2 \
                 ORDER BY at DESC LIMIT $3"
            ),
            &[
                Bind::Text(user_id.into()),
                Bind::Int(since),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    /// Failed attempts from `network` (see [`network_of`]) since `since`, newest first, at
    /// most `limit`.
    pub async fn failed_attempts_from(
        &self,
        network: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<SignInAttempt>> {
        let _t = self.timer("risk.network");
        self.fetch_all(
            &format!(
                "SELECT {ATTEMPT_COLUMNS} FROM sign_in_attempts WHERE network = $1 AND success = 0 \
                 AND at >= $2 ORDER BY at DESC LIMIT $3"
            ),
            &[
                Bind::Text(network.into()),
                Bind::Int(since),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    /// Alerts not resolved, seen since `since`, whose evidence names `ip` (as a JSON string),
    /// at most `limit`.
    pub async fn open_alerts_naming(
        &self,
        ip: IpAddr,
        since: i64,
        limit: usize,
    ) -> Result<Vec<AlertRef>> {
        let _t = self.timer("risk.alerts");
        // An address holds only hex digits, dots and colons: nothing LIKE treats specially.
        let pattern = format!("%\"{ip}\"%");
        self.fetch_all(
            "SELECT id, rule_title, level, last_seen FROM alerts WHERE status <> 'resolved' \
             AND last_seen >= $1 AND records LIKE $2 ORDER BY last_seen DESC LIMIT $3",
            &[
                Bind::Int(since),
                Bind::Text(pattern),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AlertRef {
                id: r.try_get("id")?,
                title: r.try_get("rule_title")?,
                level: r.try_get("level")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .collect()
    }

    /// Alerts not resolved that the detection pipeline resolved to a person, seen since
    /// `since`, at most `limit`.
    pub async fn open_alerts_of_person(
        &self,
        user_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<AlertRef>> {
        self.fetch_all(
            "SELECT id, rule_title, level, last_seen FROM alerts WHERE person_id = $1 \
             AND last_seen >= $2 AND status <> 'resolved' ORDER BY last_seen DESC LIMIT $3",
            &[
                Bind::Text(user_id.into()),
                Bind::Int(since),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AlertRef {
                id: r.try_get("id")?,
                title: r.try_get("rule_title")?,
                level: r.try_get("level")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .collect()
    }

    /// Stores the detections of one sign-in, state `atRisk`.
    pub async fn add_risk_detections(
        &self,
        user_id: &str,
        upn: &str,
        ip: Option<&str>,
        country: Option<&str>,
        detections: Vec<NewRiskDetection>,
    ) -> Result<Vec<String>> {
        if detections.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let mut ids = Vec::with_capacity(detections.len());
        for d in detections {
            let id = new_id();
            tx.execute(
                &format!(
                    "INSERT INTO risk_detections ({DETECTION_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'atRisk', $7, $8, $9, $10, $4)"
                ),
                &[
                    Bind::Text(id.clone()),
                    Bind::Text(user_id.into()),
                    Bind::Text(upn.into()),
                    Bind::Int(now),
                    Bind::Text(d.kind),
                    Bind::Text(d.level),
                    Bind::OptText(ip.map(str::to_string)),
                    Bind::OptText(country.map(str::to_string)),
                    Bind::Text(d.reason),
                    Bind::Text(serde_json::to_string(&d.detail)?),
                ],
            )
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Detections, newest first: of one person, or of everyone; at most `limit`.
    pub async fn list_risk_detections(
        &self,
        user_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RiskDetection>> {
        let limit = Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = match user_id {
            Some(u) => {
                self.fetch_all(
                    &format!(
                        "SELECT {DETECTION_COLUMNS} FROM risk_detections WHERE user_id = $1 \
                         ORDER BY at DESC, id DESC LIMIT $2"
                    ),
                    &[Bind::Text(u.into()), limit],
                )
                .await?
            }
            None => {
                self.fetch_all(
                    &format!(
                        "SELECT {DETECTION_COLUMNS} FROM risk_detections \
                         ORDER BY at DESC, id DESC LIMIT $1"
                    ),
                    &[limit],
                )
                .await?
            }
        };
        rows.iter().map(detection_from_row).collect()
    }

    /// A person's detections still `atRisk` since `since`, at most `limit`.
    pub async fn open_risk_detections(
        &self,
        user_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<RiskDetection>> {
        self.fetch_all(
            &format!(
                "SELECT {DETECTION_COLUMNS} FROM risk_detections WHERE user_id = $1 \
                 AND state = 'atRisk' AND at >= $2 ORDER BY at DESC LIMIT $3"
            ),
            &[
                Bind::Text(user_id.into()),
                Bind::Int(since),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await?
        .iter()
        .map(detection_from_row)
        .collect()
    }

    /// People with any detection or an administrator's decision, at most `limit`.
    pub async fn risk_subjects(&self, limit: usize) -> Result<Vec<String>> {
        self.fetch_all(
            "SELECT user_id FROM risky_users UNION SELECT DISTINCT user_id FROM risk_detections \
             ORDER BY user_id LIMIT $1",
            &[Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX))],
        )
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>("user_id")?))
        .collect()
    }

    /// People the detection pipeline raised open alerts about, at most `limit`.
    pub async fn alerted_people(&self, since: i64, limit: usize) -> Result<Vec<String>> {
        self.fetch_all(
            "SELECT DISTINCT person_id FROM alerts WHERE person_id IS NOT NULL \
             AND status <> 'resolved' AND last_seen >= $1 ORDER BY person_id LIMIT $2",
            &[
                Bind::Int(since),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>("person_id")?))
        .collect()
    }

    /// What administrators last decided about a person's risk.
    pub async fn risky_user_state(&self, user_id: &str) -> Result<Option<RiskyUserState>> {
        let row = self
            .fetch_optional(
                "SELECT user_id, state, level, detail, updated_at FROM risky_users WHERE user_id = $1",
                &[Bind::Text(user_id.into())],
            )
            .await?;
        row.map(|r| {
            Ok(RiskyUserState {
                user_id: r.try_get("user_id")?,
                state: r.try_get("state")?,
                level: r.try_get("level")?,
                detail: r.try_get("detail")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Confirms a person compromised: risk high, every session, OIDC grant and API token
    /// ended, their privileged role requests ended (active ones revoked, pending ones
    /// cancelled), their open detections marked confirmed; audited. Returns the sessions
    /// ended.
    pub async fn confirm_user_compromised(
        &self,
        actor: &Actor,
        user_id: &str,
        upn: &str,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        upsert_state(
            &mut tx,
            user_id,
            "confirmedCompromised",
            "high",
            "adminConfirmedUserCompromised",
        )
        .await?;
        tx.execute(
            "UPDATE risk_detections SET state = 'confirmedCompromised', updated_at = $1 \
             WHERE user_id = $2 AND state = 'atRisk'",
            &[Bind::Int(now), Bind::Text(user_id.into())],
        )
        .await?;
        let ended = end_sign_ins_tx(
            &mut tx,
            user_id,
            Ending::All { keep: None },
            "user confirmed compromised",
        )
        .await?;
        // A token acts as its user: one the attacker holds would outlive the sessions.
        let tokens = tx
            .execute(
                "DELETE FROM api_tokens WHERE user_id = $1",
                &[Bind::Text(user_id.into())],
            )
            .await?;
        // Their elevations end too; the PIM engine takes the grants back.
        let elevations = crate::pim::end_requests_of_user_tx(
            &mut tx,
            actor,
            user_id,
            "user confirmed compromised",
        )
        .await?;
        tx.audit(risk_event(
            actor,
            "riskyUser.confirmCompromised",
            user_id,
            upn,
            serde_json::json!({
                "riskState": "confirmedCompromised",
                "riskLevel": "high",
                "sessionsEnded": ended.sessions,
                "grantsRevoked": ended.grants,
                "apiTokensRevoked": tokens,
                "elevationsEnded": elevations,
            }),
        ))
        .await?;
        tx.commit().await?;
        Ok(ended.sessions)
    }

    /// Dismisses a person's risk: open detections dismissed, alerts seen until now no longer
    /// count; audited.
    pub async fn dismiss_user_risk(&self, actor: &Actor, user_id: &str, upn: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        upsert_state(
            &mut tx,
            user_id,
            "dismissed",
            "none",
            "adminDismissedAllRiskForUser",
        )
        .await?;
        let dismissed = tx
            .execute(
                "UPDATE risk_detections SET state = 'dismissed', updated_at = $1 \
                 WHERE user_id = $2 AND state IN ('atRisk', 'confirmedCompromised')",
                &[Bind::Int(now), Bind::Text(user_id.into())],
            )
            .await?;
        tx.audit(risk_event(
            actor,
            "riskyUser.dismiss",
            user_id,
            upn,
            serde_json::json!({
                "riskState": "dismissed",
                "riskLevel": "none",
                "detectionsDismissed": dismissed,
            }),
        ))
        .await?;
        tx.commit().await
    }

    /// The person remediated their own risk (a password change after a second factor): open
    /// and confirmed detections remediated, alerts seen until now no longer count; audited.
    pub async fn remediate_user_risk(&self, actor: &Actor, user_id: &str, upn: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        upsert_state(
            &mut tx,
            user_id,
            "remediated",
            "none",
            "userPerformedSecuredPasswordChange",
        )
        .await?;
        let remediated = tx
            .execute(
                "UPDATE risk_detections SET state = 'remediated', updated_at = $1 \
                 WHERE user_id = $2 AND state IN ('atRisk', 'confirmedCompromised')",
                &[Bind::Int(now), Bind::Text(user_id.into())],
            )
            .await?;
        tx.audit(risk_event(
            actor,
            "riskyUser.remediate",
            user_id,
            upn,
            serde_json::json!({
                "riskState": "remediated",
                "riskLevel": "none",
                "riskDetail": "userPerformedSecuredPasswordChange",
                "detectionsRemediated": remediated,
            }),
        ))
        .await?;
        tx.commit().await
    }
}

async fn upsert_state(
    tx: &mut WriteTx,
    user_id: &str,
    state: &str,
    level: &str,
    detail: &str,
) -> Result<()> {
    let now = tx.now;
    if tx
        .execute(
            "UPDATE risky_users SET state = $1, level = $2, detail = $3, updated_at = $4 WHERE user_id = $5",
            &[
                Bind::Text(state.into()),
                Bind::Text(level.into()),
                Bind::Text(detail.into()),
                Bind::Int(now),
                Bind::Text(user_id.into()),
            ],
        )
        .await?
        == 0
    {
        tx.execute(
            "INSERT INTO risky_users (user_id, state, level, detail, updated_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                Bind::Text(user_id.into()),
                Bind::Text(state.into()),
                Bind::Text(level.into()),
                Bind::Text(detail.into()),
                Bind::Int(now),
            ],
        )
        .await?;
    }
    Ok(())
}
