//! Trustplane's side of the proxy: what a proxy, authenticated as its application's OIDC
//! client, may ask. Its configuration (upstream, external URL, session policy), whether a
//! session may go on (the session, its user, conditional access at the person's address now),
//! and where its records go (audit trail, detection pipeline, timeline).
//!
//! The server's routes only parse HTTP and call these.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trustplane_access::Outcome as CaOutcome;
use trustplane_idp::oidc::client_auth::{self, ClientRequest, Params};
use trustplane_idp::oidc::clients::Client;
use trustplane_idp::oidc::tokens::check_access_token;
use trustplane_idp::oidc::{OAuthError, Oidc};
use trustplane_idp::signin::{SignIn, STEP_UP_WINDOW_MS};
use trustplane_idp::{platform, RequestContext};
use trustplane_model::{Actor, Event, Outcome, ProxySettings, Target};
use trustplane_monitor::Detection;
use trustplane_store::StoreError;

use crate::policy::Enforcement;

/// `POST`: the application's proxy configuration.
pub const CONFIG_PATH: &str = "/api/v1/proxy/config";
/// `POST`: a session's verdict now.
pub const CHECK_PATH: &str = "/api/v1/proxy/check";
/// `POST`: records of proxied requests and blocks.
pub const EVENTS_PATH: &str = "/api/v1/proxy/events";

/// Most records in one `events` call.
pub const MAX_EVENTS: usize = 1000;

/// What a proxy serves for its application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConfig {
    /// The OIDC client id (the application's `appId`).
    pub client_id: String,
    /// The application's object id (the `aud` of identity assertions).
    pub app_id: String,
    /// Its name, for pages.
    pub display_name: String,
    /// `settings.proxy`.
    pub proxy: ProxySettings,
}

/// Whether a session may go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "decision")]
pub enum Verdict {
    /// Go on, under this enforcement.
    Allow(Box<Allowed>),
    /// Conditional access refuses; `policies` name the blocking policies.
    Block {
        /// Why, for the person.
        reason: String,
        /// The blocking policies.
        policies: Vec<String>,
    },
    /// Conditional access asks for a second factor first.
    StepUp,
    /// No session any more (expired, signed out, revoked, user disabled): sign in again.
    SignIn {
        /// Why, for logs.
        reason: String,
    },
}

/// The person and what applies to their session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allowed {
    /// User object id.
    pub user_id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Mail, if any.
    #[serde(default)]
    pub mail: Option<String>,
    /// Display name.
    pub display_name: String,
    /// The Trustplane session id.
    pub session_id: String,
    /// How much longer a second factor proven in the session counts for step-up (0: none).
    pub second_factor_valid_ms: i64,
    /// What the proxy enforces.
    pub enforcement: Enforcement,
}

/// One record a proxy sends: a request seen (monitor) or something refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyRecord {
    /// `request`, `downloadBlocked`, `uploadBlocked` or `stepUp`.
    pub kind: String,
    /// The person's user id.
    pub user_id: String,
    /// Their address as the proxy saw it.
    #[serde(default)]
    pub ip: Option<String>,
    /// Request method.
    pub method: String,
    /// Request path (no query).
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// Response body bytes sent.
    #[serde(default)]
    pub bytes: u64,
    /// Why, for refusals (names the policy).
    #[serde(default)]
    pub reason: Option<String>,
    /// When, ms since the epoch (the proxy's clock).
    pub at: i64,
}

const RECORD_KINDS: [&str; 4] = ["request", "downloadBlocked", "uploadBlocked", "stepUp"];

/// The authenticated proxy's client, its settings and the form it sent.
async fn proxy_client(
    oidc: &Oidc,
    req: ClientRequest<'_>,
    path: &str,
) -> Result<(Client, ProxySettings, Params), OAuthError> {
    client_auth::require_form(req.content_type)?;
    let params = Params::parse(req.body)?;
    let client =
        client_auth::authenticate(oidc, req.authorization, &params, &oidc.url(path)).await?;
    let proxy = ProxySettings::from_settings(&client.app.settings)
        .ok()
        .flatten()
        .ok_or_else(|| {
            OAuthError::unauthorized_client("this application is not a proxied application")
        })?;
    Ok((client, proxy, params))
}

/// The configuration of the calling proxy's application.
pub async fn config(oidc: &Oidc, req: ClientRequest<'_>) -> Result<AppConfig, OAuthError> {
    let (client, proxy, _) = proxy_client(oidc, req, CONFIG_PATH).await?;
    Ok(AppConfig {
        client_id: client.client_id().to_string(),
        app_id: client.app.id.clone(),
        display_name: client.app.display_name.clone(),
        proxy,
    })
}

/// Names of the enforced policies that set a Defender for Cloud Apps control.
fn cloud_app_policies(log: &Value) -> Vec<String> {
    log["appliedConditionalAccessPolicies"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| !p["sessionControls"]["cloudAppSecurity"].is_null())
                .filter_map(|p| p["displayName"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The verdict on the session behind an access token issued to the calling proxy, for a
/// person at `ip` (form fields `token`, `ip`, `userAgent`; `first=1` when the session is
/// new to the proxy, which records the application access in the sign-in log).
pub async fn check(
    oidc: &Oidc,
    signin: &SignIn,
    req: ClientRequest<'_>,
) -> Result<Verdict, OAuthError> {
    let (client, proxy, params) = proxy_client(oidc, req, CHECK_PATH).await?;
    let token = params.require("token")?;
    let ip = match params.get("ip") {
        Some(raw) => Some(
            raw.parse::<IpAddr>()
                .map_err(|_| OAuthError::invalid_request("ip is not an IP address"))?,
        ),
        None => None,
    };
    let user_agent = params
        .get("userAgent")
        .map(|u| u.chars().take(256).collect::<String>());
    let sign_in = |reason: &str| -> Result<Verdict, OAuthError> {
        Ok(Verdict::SignIn {
            reason: reason.to_string(),
        })
    };
    let claims = match check_access_token(oidc, token).await? {
        Ok(c) => c,
        Err(inactive) => return sign_in(inactive.describe()),
    };
    if claims["client_id"].as_str() != Some(client.client_id()) {
        return sign_in("the token was issued to another client");
    }
    let store = oidc.store();
    let Some(grant) = claims["gid"].as_str() else {
        return sign_in("the token has no grant");
    };
    let Some(grant) = store.grant(grant).await? else {
        return sign_in("the grant is gone");
    };
    let Some(session_id) = grant.authentication.session_id.as_deref() else {
        return sign_in("the token has no session");
    };
    let Some((session, user)) = signin
        .session_by_id(&grant.authentication.user_id, session_id)
        .await?
    else {
        return sign_in("the session has ended");
    };
    let ctx = RequestContext {
        ip,
        device_platform: user_agent.as_deref().map(platform).unwrap_or("unknown"),
        user_agent,
    };
    let decision = signin
        .app_decision(&session, &user, client.client_id(), &ctx)
        .await?;
    // The first check and every refusal are recorded; periodic allows are not, or every
    // active person would write a sign-in entry a few times a minute.
    if params.get("first") == Some("1") || decision.outcome != CaOutcome::Allow {
        signin
            .record_app_access(&session, &user, client.client_id(), &ctx, &decision)
            .await?;
    }
    Ok(match decision.outcome {
        CaOutcome::Allow => {
            // Use of the application through the proxy is use of the session.
            store.touch_session(&session.info.id).await?;
            let now = store.clock().now_ms();
            let valid = session
                .mfa_at
                .map(|t| (t + STEP_UP_WINDOW_MS - now).max(0))
                .unwrap_or(0);
            Verdict::Allow(Box::new(Allowed {
                user_id: user.id.clone(),
                user_principal_name: user.user_principal_name.clone(),
                mail: user.mail.clone(),
                display_name: user.display_name.clone(),
                session_id: session.info.id.clone(),
                second_factor_valid_ms: valid,
                enforcement: Enforcement::new(
                    &proxy.session_policy,
                    decision.session.cloud_app_security.as_ref(),
                    &cloud_app_policies(&decision.log),
                ),
            }))
        }
        CaOutcome::Grant if decision.mfa_satisfies() => Verdict::StepUp,
        CaOutcome::Grant | CaOutcome::Block => Verdict::Block {
            reason: if decision.blocking.is_empty() {
                "conditional access requires controls this session cannot satisfy".into()
            } else {
                format!(
                    "blocked by conditional access: {}",
                    decision.blocking.join(", ")
                )
            },
            policies: decision.blocking.clone(),
        },
    })
}

/// Stores a proxy's records (form field `events`, a JSON array): refusals go to the audit
/// trail; every record goes through the detection pipeline, which puts it on the person's
/// timeline and matches the rules (`product: trustplane`, `service: proxy`). The application
/// is the authenticated client's, never the proxy's word; unknown users are skipped.
pub async fn record(
    oidc: &Oidc,
    detection: &Detection,
    req: ClientRequest<'_>,
) -> Result<usize, OAuthError> {
    let (client, _, params) = proxy_client(oidc, req, EVENTS_PATH).await?;
    let records: Vec<ProxyRecord> = serde_json::from_str(params.require("events")?)
        .map_err(|e| OAuthError::invalid_request(format!("events: {e}")))?;
    if records.len() > MAX_EVENTS {
        return Err(OAuthError::invalid_request(format!(
            "events: at most {MAX_EVENTS} at once"
        )));
    }
    if let Some(bad) = records
        .iter()
        .find(|r| !RECORD_KINDS.contains(&r.kind.as_str()))
    {
        return Err(OAuthError::invalid_request(format!(
            "events: unknown kind `{}`",
            bad.kind.chars().take(32).collect::<String>()
        )));
    }
    let store = oidc.store();
    let mut audited = Vec::new();
    let mut values = Vec::new();
    for r in records {
        let user = match store.get_user(&r.user_id).await {
            Ok(u) => u,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let refused = r.kind != "request";
        let event = Event {
            sequence: 0,
            activity_date_time: trustplane_model::from_ms(r.at),
            category: "proxy".into(),
            activity: format!("proxy.{}", r.kind),
            initiated_by: Actor {
                id: user.id.clone(),
                display_name: Some(user.user_principal_name.clone()),
                ip_address: r.ip.clone().filter(|ip| ip.parse::<IpAddr>().is_ok()),
                user_agent: None,
            },
            target: Some(Target {
                kind: "application".into(),
                id: client.app.id.clone(),
                display_name: Some(client.app.display_name.clone()),
            }),
            result: if refused {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            result_reason: r.reason.clone().map(|s| s.chars().take(512).collect()),
            before: None,
            after: Some(json!({
                "method": r.method.chars().take(16).collect::<String>(),
                "path": r.path.chars().take(2048).collect::<String>(),
                "status": r.status,
                "bytes": r.bytes,
                "appId": client.client_id(),
            })),
        };
        if refused {
            audited.push(event.clone());
        }
        values.push(serde_json::to_value(&event).map_err(|_| OAuthError::server_error())?);
    }
    let n = values.len();
    if !audited.is_empty() {
        store.record_events(audited).await?;
    }
    detection
        .process(values, "trustplane-proxy")
        .await
        .map_err(OAuthError::from)?;
    Ok(n)
}
