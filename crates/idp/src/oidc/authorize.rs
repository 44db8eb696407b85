//! The authorization endpoint: the code flow only, with PKCE S256.
//!
//! Until the client and its redirect URI are verified, every problem is an error page here:
//! nothing is sent to a URI the client did not register. After that, problems go back to the
//! redirect URI as `error=...` with the `state` (and `iss`, RFC 9207).
//!
//! The person must have a session (else: the sign-in page, which comes back here), a recent
//! enough one for `prompt=login` and `max_age`, and conditional access must allow the client:
//! when it asks for a second factor, the person steps up at `/account/verify` and comes back;
//! when it blocks, the client gets `access_denied` and no code.
//!
//! [`authorize`] decides; the server renders its [`Authorization`] as a page or a redirect.

use serde_json::json;
use sha2::{Digest, Sha256};
use trustplane_access::Outcome as CaOutcome;
use trustplane_model::User;
use trustplane_store::{AuthCode, Authentication, Session};

use super::audit::{self, Record};
use super::client_auth::Params;
use super::clients::{Client, GrantType};
use super::{Oidc, AUTHORIZE_PATH, CODE_TTL_MS};
use crate::signin::SignIn;
use crate::RequestContext;

/// What the authorization endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// The request cannot be answered to a verified client: show the person this (a 400 page).
    ErrorPage(String),
    /// Send the person to sign in, and from there to `next` (a path on this server).
    SignIn {
        /// Where to come back to.
        next: String,
    },
    /// The person must first finish setting up their account.
    AccountSetup,
    /// Conditional access asks for a second factor: step up, then come back to `next`.
    StepUp {
        /// Where to come back to.
        next: String,
    },
    /// Back to the client's verified redirect URI, with a code or an error.
    Redirect {
        /// The full URL.
        url: String,
    },
}

/// Internal parameter added when the person is sent to sign in again (`prompt=login`,
/// `max_age`): the session must be at least this new. It is sealed with the master key and
/// bound to the rest of the request, so a client can neither write one nor move one from
/// another request; anything else in its place is ignored.
const AFTER_PARAM: &str = "tp_after";

/// How long a sealed marker is honoured: time enough to sign in.
const AFTER_TTL_MS: i64 = 60 * 60 * 1000;

/// The sealing context of a request's marker: a digest of every parameter but the marker and
/// `prompt` (the way back after signing in drops `prompt=login`).
fn after_context(params: &Params) -> String {
    let mut pairs: Vec<(&String, &String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != AFTER_PARAM && k.as_str() != "prompt")
        .collect();
    pairs.sort();
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    format!("oidc-after:{}", hex::encode(Sha256::digest(s.finish())))
}

/// A marker saying the session must be newer than `at` (ms), for this request only.
fn seal_after(oidc: &Oidc, params: &Params, at: i64) -> Option<String> {
    oidc.sealer
        .seal(&after_context(params), at.to_string().as_bytes())
        .ok()
}

/// The time in this request's marker, if the marker is ours, for this request, and recent.
fn open_after(oidc: &Oidc, params: &Params, now: i64) -> Option<i64> {
    let sealed = params.get(AFTER_PARAM)?;
    let plain = oidc.sealer.open(&after_context(params), sealed).ok()?;
    let at: i64 = std::str::from_utf8(&plain).ok()?.parse().ok()?;
    (at <= now && now - at < AFTER_TTL_MS).then_some(at)
}

fn error_page(message: &str) -> Authorization {
    Authorization::ErrorPage(message.to_string())
}

/// A verified place to send the person back to.
struct Reply<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    issuer: &'a str,
}

impl Reply<'_> {
    fn with(&self, pairs: &[(&str, &str)]) -> Authorization {
        let Ok(mut url) = url::Url::parse(self.redirect_uri) else {
            return error_page("the redirect URI cannot be used");
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(s) = self.state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", self.issuer);
        }
        Authorization::Redirect { url: url.into() }
    }

    fn error(&self, code: &str, description: &str) -> Authorization {
        self.with(&[("error", code), ("error_description", description)])
    }
}

/// The request rebuilt as a path on this server, for coming back after signing in or
/// stepping up, with a new sealed marker or else the one it came with.
fn continuation(params: &Params, drop_prompt: bool, after: Option<&str>) -> String {
    let mut pairs: Vec<(&String, &String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != AFTER_PARAM && !(drop_prompt && k.as_str() == "prompt"))
        .collect();
    pairs.sort();
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    if let Some(marker) = after.or_else(|| params.get(AFTER_PARAM)) {
        s.append_pair(AFTER_PARAM, marker);
    }
    format!("{AUTHORIZE_PATH}?{}", s.finish())
}

fn valid_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// What the request asks for, checked.
struct Checked {
    scopes: Vec<String>,
    prompt_none: bool,
    prompt_login: bool,
    max_age_ms: Option<i64>,
    /// `acr_values` asks for a second factor proven within the step-up window.
    wants_mfa: bool,
}

fn check_request(params: &Params, client: &Client) -> Result<Checked, (&'static str, String)> {
    let invalid = |m: &str| ("invalid_request", m.to_string());
    if params.get("request").is_some() {
        return Err((
            "request_not_supported",
            "request objects are not supported".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err((
            "request_uri_not_supported",
            "request_uri is not supported".into(),
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "only the code flow (response_type=code) is supported".into(),
            ))
        }
        None => return Err(invalid("response_type is missing")),
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(invalid("only response_mode=query is supported"));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err((
            "unauthorized_client",
            "this client may not use the authorization code flow".into(),
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in params.get("scope").unwrap_or_default().split(' ') {
        if s.is_empty() || scopes.iter().any(|x| x == s) {
            continue;
        }
        if !client.scopes.iter().any(|x| x == s) {
            return Err((
                "invalid_scope",
                format!(
                    "scope `{}` is not allowed for this client",
                    s.chars().take(64).collect::<String>()
                ),
            ));
        }
        scopes.push(s.to_string());
    }
    if scopes.is_empty() {
        return Err(("invalid_scope", "scope is missing".into()));
    }
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(c), Some("S256")) if valid_challenge(c) => {}
        (Some(_), Some("S256")) => return Err(invalid("code_challenge is malformed")),
        (Some(_), _) => {
            return Err(invalid(
                "code_challenge_method must be S256 (plain is not accepted)",
            ))
        }
        (None, _) if client.public || client.require_pkce => {
            return Err(invalid(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ))
        }
        (None, Some(_)) => return Err(invalid("code_challenge is missing")),
        (None, None) => {}
    }
    if params.get("nonce").is_some_and(|n| n.len() > 512)
        || params.get("state").is_some_and(|s| s.len() > 2048)
    {
        return Err(invalid("nonce or state is too long"));
    }
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    for p in &prompts {
        if !["none", "login", "consent", "select_account"].contains(p) {
            return Err(invalid(
                "prompt must be none, login, consent or select_account",
            ));
        }
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(invalid("prompt=none cannot be combined with other values"));
    }
    let max_age_ms = match params.get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|s| (0..=10 * 365 * 86_400).contains(s))
                .ok_or_else(|| invalid("max_age must be a number of seconds"))?
                * 1000,
        ),
    };
    let wants_mfa = params
        .get("acr_values")
        .unwrap_or_default()
        .split(' ')
        .any(|v| v == super::tokens::ACR_MFA);
    Ok(Checked {
        scopes,
        prompt_none,
        prompt_login: prompts.contains(&"login"),
        max_age_ms,
        wants_mfa,
    })
}

/// An authorization request (the query of a `GET`, or the form of a `POST`), from a person
/// holding the session cookie `session_token` if any.
pub async fn authorize(
    oidc: &Oidc,
    signin: &SignIn,
    ctx: &RequestContext,
    raw: &[u8],
    session_token: Option<&str>,
) -> Authorization {
    let store = oidc.store();
    let (params, repeated) = match Params::parse_keeping_first(raw) {
        Ok(p) => p,
        Err(e) => return error_page(&e.description),
    };
    // A repeated client_id or redirect_uri cannot be trusted to reply to.
    if let Some(name) = repeated
        .iter()
        .find(|n| *n == "client_id" || *n == "redirect_uri")
    {
        return error_page(&format!("parameter `{name}` is repeated"));
    }
    let client_id = params.get("client_id");
    let refuse_page = |reason: &str| {
        let reason = reason.to_string();
        let claimed = client_id.map(str::to_string);
        async move {
            let event = audit::event(Record {
                activity: "oidc.code.refuse",
                client: None,
                client_id: claimed.as_deref(),
                actor: audit::client_actor(None, claimed.as_deref(), ctx),
                failure: Some(reason.clone()),
                details: json!({}),
            });
            if let Err(e) = oidc.audit.record(event).await {
                tracing::error!(error = %e, "cannot record a refused authorization");
            }
            error_page(&reason)
        }
    };
    let client = match client_id {
        None => return refuse_page("client_id is missing").await,
        Some(id) => match oidc.client(id).await {
            Ok(Some(c)) => c,
            Ok(None) => return refuse_page("the client is unknown").await,
            Err(e) => {
                tracing::error!(error = %e, "authorization failed");
                return error_page("the server cannot complete this request now");
            }
        },
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.iter().any(|x| x == r))
    else {
        return refuse_page("redirect_uri is missing or not registered for this client").await;
    };
    let reply = Reply {
        redirect_uri,
        state: params.get("state"),
        issuer: oidc.issuer(),
    };
    let flow = Flow {
        oidc,
        ctx,
        client: &client,
        reply: &reply,
    };
    if let Some(name) = repeated.first() {
        let e = super::client_auth::repeated_error(name);
        return flow.refuse(None, e.code, &e.description, None).await;
    }
    let checked = match check_request(&params, &client) {
        Ok(c) => c,
        Err((code, why)) => return flow.refuse(None, code, &why, None).await,
    };

    // The session, fresh enough for what was asked.
    let now = store.clock().now_ms();
    let session = match session_token {
        Some(token) => match signin.session(token).await {
            Ok(s) => s,
            Err(e) => return flow.server_error(e.into()),
        },
        None => None,
    };
    // Back from the sign-in this request sent the person to: a session since then will do.
    let after = open_after(oidc, &params, now);
    let fresh_enough = |s: &Session| after.is_some_and(|t| s.created_at >= t);
    let needs_login = match &session {
        None => true,
        Some((s, _)) => {
            !fresh_enough(s)
                && (checked.prompt_login
                    || checked.max_age_ms.is_some_and(|m| now - s.created_at > m))
        }
    };
    if needs_login {
        if checked.prompt_none {
            let user = session.as_ref().map(|(_, u)| u);
            return flow
                .refuse(user, "login_required", "the person must sign in", None)
                .await;
        }
        let Some(marker) = seal_after(oidc, &params, now) else {
            return error_page("the server cannot complete this request now");
        };
        return Authorization::SignIn {
            next: continuation(&params, true, Some(&marker)),
        };
    }
    let Some((session, user)) = session else {
        return error_page("no session");
    };
    if session.restriction.is_some()
        || matches!(signin.must_change_password(&user.id).await, Ok(true))
    {
        if checked.prompt_none {
            return flow
                .refuse(
                    Some(&user),
                    "interaction_required",
                    "the person must first finish setting up their account",
                    None,
                )
                .await;
        }
        return Authorization::AccountSetup;
    }

    // Conditional access for this client.
    let decision = match signin
        .authorize_app(&session, &user, client.client_id(), ctx)
        .await
    {
        Ok(d) => d,
        Err(e) => return flow.server_error(e.into()),
    };
    // A client asking for a recent second factor (the proxy's step-up paths) is treated as
    // a conditional-access policy asking for one.
    let step_up_asked = checked.wants_mfa && !signin.second_factor_is_recent(&session);
    let step_up = match decision.outcome {
        CaOutcome::Allow => step_up_asked,
        CaOutcome::Grant if step_up_asked || decision.mfa_satisfies() => true,
        CaOutcome::Grant | CaOutcome::Block => {
            let why = if decision.blocking.is_empty() {
                "conditional access requires controls this sign-in cannot satisfy".to_string()
            } else {
                format!(
                    "blocked by conditional access: {}",
                    decision.blocking.join(", ")
                )
            };
            return flow
                .refuse(Some(&user), "access_denied", &why, Some(&decision))
                .await;
        }
    };
    if step_up {
        let has_factor = match store.list_auth_methods(&user.id, None).await {
            Ok(methods) => methods.iter().any(|m| m.is_second_factor()),
            Err(e) => return flow.server_error(e.into()),
        };
        if checked.prompt_none || !has_factor {
            let why = if has_factor {
                "conditional access requires a second factor"
            } else {
                "conditional access requires a second factor, and the person has none registered"
            };
            let code = if checked.prompt_none {
                "interaction_required"
            } else {
                "access_denied"
            };
            return flow.refuse(Some(&user), code, why, Some(&decision)).await;
        }
        return Authorization::StepUp {
            next: continuation(&params, false, None),
        };
    }

    // A code.
    let (code, code_hash) = trustplane_authn::new_session_token();
    let grant_id = trustplane_model::new_id();
    let record = AuthCode {
        code_hash,
        grant_id: grant_id.clone(),
        application_id: client.app.id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope: checked.scopes.join(" "),
        nonce: params.get("nonce").map(str::to_string),
        code_challenge: params.get("code_challenge").map(str::to_string),
        authentication: Authentication {
            user_id: user.id.clone(),
            session_id: Some(session.info.id.clone()),
            auth_time: session.created_at,
            amr: session.info.amr.clone(),
            mfa_at: session.mfa_at,
            client_app: session.info.client_app.clone(),
        },
        expires_at: now + CODE_TTL_MS,
    };
    let roles = match audit::roles_of(store, &user.id).await {
        Ok(r) => r,
        Err(e) => return flow.server_error(e.into()),
    };
    let event = audit::event(Record {
        activity: "oidc.code.issue",
        client: Some(&client),
        client_id: None,
        actor: audit::user_actor(&user, ctx),
        failure: None,
        details: json!({
            "grantType": "authorization_code",
            "grantId": grant_id,
            "scope": record.scope,
            "redirectUri": redirect_uri,
            "sessionId": session.info.id,
            "pkce": record.code_challenge.is_some(),
            "roles": roles,
            "conditionalAccess": audit::decision_json(&decision),
        }),
    });
    if let Err(e) = store.issue_code(&record, event).await {
        return flow.server_error(e.into());
    }
    reply.with(&[("code", &code)])
}

/// The steps after the client and redirect URI are known.
struct Flow<'a> {
    oidc: &'a Oidc,
    ctx: &'a RequestContext,
    client: &'a Client,
    reply: &'a Reply<'a>,
}

impl Flow<'_> {
    /// Records the refusal and sends the error to the client.
    async fn refuse(
        &self,
        user: Option<&User>,
        code: &str,
        why: &str,
        decision: Option<&crate::ca::CaDecision>,
    ) -> Authorization {
        let roles = match user {
            Some(u) => audit::roles_of(self.oidc.store(), &u.id)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let event = audit::event(Record {
            activity: "oidc.code.refuse",
            client: Some(self.client),
            client_id: None,
            actor: match user {
                Some(u) => audit::user_actor(u, self.ctx),
                None => audit::client_actor(Some(self.client), None, self.ctx),
            },
            failure: Some(format!("{code}: {why}")),
            details: json!({
                "grantType": "authorization_code",
                "error": code,
                "roles": roles,
                "conditionalAccess": decision.map(audit::decision_json),
            }),
        });
        if let Err(e) = self.oidc.audit.record(event).await {
            tracing::error!(error = %e, "cannot record a refused authorization");
            return error_page("the server cannot complete this request now");
        }
        self.reply.error(code, why)
    }

    fn server_error(&self, e: super::OAuthError) -> Authorization {
        tracing::error!(error = %e, "authorization failed");
        self.reply.error(
            "server_error",
            "the server cannot complete this request now",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_continuation_drops_prompt_only_when_asked_and_keeps_one_after_marker() {
        let p =
            Params::parse(b"client_id=c&prompt=login&tp_after=v1.a&scope=openid+email").unwrap();
        let back = continuation(&p, true, Some("v1.b"));
        assert_eq!(
            back,
            "/oauth2/authorize?client_id=c&scope=openid+email&tp_after=v1.b"
        );
        let same = continuation(&p, false, None);
        assert_eq!(
            same,
            "/oauth2/authorize?client_id=c&prompt=login&scope=openid+email&tp_after=v1.a"
        );
    }

    #[test]
    fn the_marker_context_covers_the_request_but_not_prompt_or_the_marker() {
        let ctx = |q: &[u8]| after_context(&Params::parse(q).unwrap());
        let base = ctx(b"client_id=c&state=s1&max_age=0");
        assert_eq!(
            base,
            ctx(b"max_age=0&prompt=login&client_id=c&state=s1&tp_after=x")
        );
        assert_ne!(base, ctx(b"client_id=c&state=s2&max_age=0"));
        assert_ne!(base, ctx(b"client_id=c&state=s1"));
        // Pairs cannot be run together to collide.
        assert_ne!(ctx(b"a=b%26c%3Dd"), ctx(b"a=b&c=d"));
    }

    #[test]
    fn challenges_are_base64url_of_the_right_length() {
        assert!(valid_challenge(&"a".repeat(43)));
        assert!(!valid_challenge(&"a".repeat(42)));
        assert!(!valid_challenge(&format!("{}+", "a".repeat(43))));
    }
}
