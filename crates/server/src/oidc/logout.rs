//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the Trustplane session
//! and sends the person back only to a `post_logout_redirect_uri` the client registered.
//!
//! With an `id_token_hint` for the current session the logout happens at once; otherwise the
//! person confirms it on a page first, so a link planted elsewhere cannot sign anyone out.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use trustplane_model::Actor;

use super::audit::{self, Record};
use super::authorize::redirect_out;
use super::client_auth::Params;
use super::clients::Client;
use super::LOGOUT_PATH;
use crate::context::RequestContext;
use crate::server::AppState;
use crate::web::cookies::{self, SESSION};
use crate::web::html::{csrf_field, esc, page};

/// `GET /oauth2/logout`.
pub async fn logout_get(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    logout(
        &state,
        &ctx,
        &headers,
        query.unwrap_or_default().as_bytes(),
        false,
    )
    .await
}

/// `POST /oauth2/logout` (the RP's form, or our confirmation).
pub async fn logout_post(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    logout(&state, &ctx, &headers, &body, true).await
}

fn error_page(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Sign-out error",
        &format!(
            "<h1>This sign-out request cannot be completed</h1><p role=\"alert\">{}</p>",
            esc(message)
        ),
    )
}

fn hidden(name: &str, value: Option<&str>) -> String {
    value
        .map(|v| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(name),
                esc(v)
            )
        })
        .unwrap_or_default()
}

async fn logout(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    raw: &[u8],
    posted: bool,
) -> Response {
    let params = match Params::parse(raw) {
        Ok(p) => p,
        Err(e) => return error_page(&e.description),
    };
    // The hint: an ID token we issued (expired ones are fine: they only say who it was).
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(t) => match state.oidc.verify_own(t).await {
            Ok(jws) if jws.claims["iss"].as_str() == Some(state.oidc.issuer()) => Some(jws.claims),
            _ => return error_page("id_token_hint is not an ID token issued here"),
        },
    };
    let hinted_client = hint.as_ref().and_then(|c| c["aud"].as_str());
    let client_id = match (params.get("client_id"), hinted_client) {
        (Some(a), Some(b)) if a != b => {
            return error_page("client_id does not match the id_token_hint")
        }
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    let client: Option<Client> = match client_id {
        None => None,
        Some(id) => match state.oidc.client(id).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => return error_page("the client is unknown"),
            Err(_) => return error_page("the server cannot complete this request now"),
        },
    };
    let target =
        match params.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => match &client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => Some(uri),
                Some(_) => {
                    return error_page("post_logout_redirect_uri is not registered for this client")
                }
                None => return error_page(
                    "post_logout_redirect_uri needs the client: send client_id or id_token_hint",
                ),
            },
        };
    let token = cookies::get(headers, SESSION);
    let session = match &token {
        Some(t) => state.signin.session(t).await.ok().flatten(),
        None => None,
    };
    let confirmed = posted
        && params.get("confirm") == Some("yes")
        && cookies::csrf_ok(headers, params.get("csrf").unwrap_or_default());
    let hint_is_this_session = match (&session, &hint) {
        (Some((s, _)), Some(h)) => h["sid"].as_str() == Some(s.info.id.as_str()),
        _ => false,
    };
    if session.is_some() && !confirmed && !hint_is_this_session {
        let (csrf, fresh) = cookies::csrf_token(headers);
        let body = format!(
            "<h1>Sign out?</h1><p>{} asks to sign you out of Trustplane.</p>\
             <form method=\"post\" action=\"{LOGOUT_PATH}\">{}{}{}{}{}\
             <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>",
            esc(client
                .as_ref()
                .map(|c| c.app.display_name.as_str())
                .unwrap_or("An application")),
            csrf_field(&csrf),
            hidden("id_token_hint", params.get("id_token_hint")),
            hidden("client_id", client_id),
            hidden("post_logout_redirect_uri", target),
            hidden("state", params.get("state")),
        );
        return cookies::with_csrf(page(StatusCode::OK, "Sign out", &body), &csrf, fresh);
    }
    if let (Some(t), Some((s, user))) = (&token, &session) {
        if let Err(e) = state.signin.sign_out(t).await {
            tracing::error!(error = %e, "sign-out failed");
            return error_page("the server cannot complete this request now");
        }
        let event = audit::event(Record {
            activity: "oidc.logout",
            client: client.as_ref(),
            client_id,
            actor: Actor {
                id: user.id.clone(),
                display_name: Some(user.user_principal_name.clone()),
                ip_address: ctx.ip.map(|i| i.to_string()),
                user_agent: ctx.user_agent.clone(),
            },
            failure: None,
            details: json!({ "sessionId": s.info.id, "postLogoutRedirectUri": target }),
        });
        if let Err(e) = state.oidc.audit.record(event).await {
            tracing::error!(error = %e, "cannot record a logout");
        }
    }
    let mut response = match target {
        Some(uri) => {
            let Ok(mut url) = url::Url::parse(uri) else {
                return error_page("the redirect URI cannot be used");
            };
            if let Some(s) = params.get("state") {
                url.query_pairs_mut().append_pair("state", s);
            }
            redirect_out(headers, url.as_str())
        }
        None => page(
            StatusCode::OK,
            "Signed out",
            "<h1>You are signed out</h1><p><a href=\"/login\">Sign in again</a></p>",
        ),
    };
    cookies::clear(&mut response, SESSION);
    response.into_response()
}
