//! RP-initiated logout's pages: the confirmation (unless the `id_token_hint` names the current
//! session) and the way back. The checks are [`trustplane_idp::oidc::logout`]'s.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use trustplane_idp::oidc::logout::LogoutRequest;

use super::authorize::redirect_out;
use super::LOGOUT_PATH;
use crate::context::RequestContext;
use crate::server::AppState;
use crate::web::cookies::{self, SESSION};
use crate::web::html::page;
use trustplane_console::protocol as view;

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
        &view::logout_error(message),
    )
}

async fn logout(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    raw: &[u8],
    posted: bool,
) -> Response {
    let request = match LogoutRequest::check(&state.oidc, raw).await {
        Ok(r) => r,
        Err(message) => return error_page(&message),
    };
    let params = &request.params;
    let client_id = request.client_id();
    let token = cookies::get(headers, SESSION);
    let session = match &token {
        Some(t) => state.signin.session(t).await.ok().flatten(),
        None => None,
    };
    let confirmed = posted
        && params.get("confirm") == Some("yes")
        && cookies::csrf_ok(headers, params.get("csrf").unwrap_or_default());
    let hint_is_this_session = session
        .as_ref()
        .is_some_and(|(s, _)| request.hint_names_session(&s.info.id));
    if session.is_some() && !confirmed && !hint_is_this_session {
        let (csrf, fresh) = cookies::csrf_token(headers);
        let app_name = request
            .client
            .as_ref()
            .map_or("An application", |c| c.app.display_name.as_str());
        let fields = view::LogoutFields {
            id_token_hint: params.get("id_token_hint"),
            client_id,
            post_logout_redirect_uri: request.target.as_deref(),
            state: params.get("state"),
        };
        let body = view::logout_confirm(LOGOUT_PATH, &csrf, app_name, &fields);
        return cookies::with_csrf(page(StatusCode::OK, "Sign out", &body), &csrf, fresh);
    }
    if let (Some(t), Some((s, user))) = (&token, &session) {
        if let Err(message) = request
            .sign_out(&state.oidc, &state.signin, ctx, t, s, user)
            .await
        {
            return error_page(&message);
        }
    }
    let mut response = match request.redirect_url() {
        Some(Ok(url)) => redirect_out(headers, &url),
        Some(Err(message)) => return error_page(&message),
        None => page(StatusCode::OK, "Signed out", view::SIGNED_OUT),
    };
    cookies::clear(&mut response, SESSION);
    response.into_response()
}
