//! The authorization endpoint's pages and redirects. What to answer is decided by
//! [`trustplane_idp::oidc::authorize`].

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use trustplane_idp::oidc::authorize::{self, Authorization};

use crate::context::RequestContext;
use crate::server::AppState;
use crate::web::cookies::{self, SESSION};
use crate::web::html::{page, see_other};
use crate::web::login::url_encode;
use trustplane_console::protocol as view;

/// `GET /oauth2/authorize`.
pub async fn authorize_get(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&state, &ctx, &headers, query.unwrap_or_default().as_bytes()).await
}

/// `POST /oauth2/authorize` (a form, OIDC Core §3.1.2.1).
pub async fn authorize_post(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &ctx, &headers, &body).await
}

async fn answer(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    raw: &[u8],
) -> Response {
    let session = cookies::get(headers, SESSION);
    match authorize::authorize(&state.oidc, &state.signin, ctx, raw, session.as_deref()).await {
        Authorization::ErrorPage(message) => error_page(&message),
        Authorization::SignIn { next } => see_other(&format!("/login?next={}", url_encode(&next))),
        Authorization::AccountSetup => see_other("/account/security"),
        Authorization::StepUp { next } => {
            see_other(&format!("/account/verify?next={}", url_encode(&next)))
        }
        Authorization::Redirect { url } => redirect_out(headers, &url),
    }
}

fn error_page(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Sign-in error",
        &view::authorize_error(message),
    )
}

/// Sends the person to a client. Browsers apply the `form-action` policy of our pages to the
/// redirects that follow a form post (sign-in, step-up), so after one of our own pages the
/// hop to the client is a page that continues by itself instead of a redirect.
pub(crate) fn redirect_out(headers: &HeaderMap, url: &str) -> Response {
    let from_our_page = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "same-origin");
    if !from_our_page {
        return see_other(url);
    }
    page(StatusCode::OK, "Continue", &view::continue_to(url))
}
