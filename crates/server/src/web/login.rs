//! `/login`, `/login/mfa`, `/logout`, the passkey script, and the same flow as JSON under
//! `/api/v1/auth` for clients that are not browsers.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::cookies::{self, CsrfForm, SESSION, SIGN_IN};
use super::html::{csrf_refused, page, see_other};
use crate::context::{ClientApp, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::server::AppState;
use crate::signin::{FirstStep, Issued, SecondFactor, SignInError};
use trustplane_console::signin::{self as signin_view, login_form, mfa_form};
use trustplane_idp::upstream::{Finished, UpstreamError, BINDING_COOKIE};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/login/mfa", get(mfa_page).post(mfa_submit))
        .route(
            trustplane_idp::upstream::CALLBACK_PATH,
            get(federated_callback),
        )
        .route("/login/federated/{provider}", get(federated_start))
        .route("/logout", post(logout))
        .route("/static/passkey.js", get(passkey_script))
        .route(trustplane_console::html::STYLESHEET_PATH, get(stylesheet))
        .route("/api/v1/auth/signIn", post(api_sign_in))
        .route("/api/v1/auth/secondFactor", post(api_second_factor))
        .route("/api/v1/auth/passkey/begin", post(api_passkey_begin))
        .route("/api/v1/auth/passkey/finish", post(api_passkey_finish))
        .route("/api/v1/auth/session", get(api_session))
        .route("/api/v1/auth/signOut", post(api_sign_out))
        .route("/api/v1/auth/basic", get(api_basic))
        .route("/api/v1/auth/authorize", post(api_authorize))
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
    error: Option<String>,
}

fn query_next(next: &str) -> String {
    url_encode(next)
}

pub use trustplane_console::next::safe_next;
pub use trustplane_idp::url_encode;

async fn login_page(headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let next = safe_next(q.next.as_deref());
    let error = q.error.as_deref().map(|_| signin_view::EXPIRED);
    cookies::with_csrf(
        page(StatusCode::OK, "Sign in", &login_form(&csrf, &next, error)),
        &csrf,
        fresh,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// Sets the session cookie and redirects.
fn signed_in(issued: &Issued, next: &str) -> Response {
    let mut r = see_other(next);
    cookies::set(&mut r, SESSION, &issued.token, "Lax", None);
    cookies::clear(&mut r, SIGN_IN);
    r
}

/// Adds `Retry-After` to a page answering a refusal that has a time.
pub(super) fn retry_after(mut r: Response, e: &SignInError) -> Response {
    if let Some(secs) = e.retry_after_secs() {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    r
}

async fn login_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !cookies::csrf_ok(&headers, &form.csrf) {
        return csrf_refused();
    }
    let next = safe_next(form.next.as_deref());
    // Home-realm discovery: a domain that signs in elsewhere goes there; a password typed
    // here is not looked at.
    match state.upstream.home_realm(&form.username).await {
        Ok(Some(provider)) => {
            return federated_redirect(&state, &provider.id, Some(&form.username), &next).await
        }
        Ok(None) => {}
        Err(e) => return federated_error(e),
    }
    match state
        .signin
        .password(&ctx, ClientApp::Browser, &form.username, &form.password)
        .await
    {
        Ok(FirstStep::Done(issued)) => signed_in(&issued, &next),
        Ok(FirstStep::SecondFactor { handle, .. }) => {
            let mut r = see_other(&format!("/login/mfa?next={}", query_next(&next)));
            cookies::set(&mut r, SIGN_IN, &handle, "Lax", Some(300));
            r
        }
        Err(e @ (SignInError::InvalidCredentials | SignInError::RateLimited { .. })) => {
            let status = if matches!(e, SignInError::RateLimited { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let body = login_form(&form.csrf, &next, Some(&e.to_string()));
            retry_after(page(status, "Sign in", &body), &e)
        }
        Err(e @ (SignInError::Busy { .. } | SignInError::DirectoryUnavailable)) => {
            let body = login_form(&form.csrf, &next, Some(&e.to_string()));
            retry_after(page(StatusCode::SERVICE_UNAVAILABLE, "Sign in", &body), &e)
        }
        Err(e @ SignInError::Blocked(_)) => {
            let body = signin_view::blocked(&e.to_string());
            page(StatusCode::FORBIDDEN, "Access blocked", &body)
        }
        Err(e) => server_error(e),
    }
}

/// Starts a sign-in at an upstream provider: the browser goes there, bound by a cookie.
async fn federated_redirect(
    state: &AppState,
    provider: &str,
    login_hint: Option<&str>,
    next: &str,
) -> Response {
    match state.upstream.start(provider, login_hint, next).await {
        Ok(started) => {
            let mut r = see_other(&started.authorization_url);
            let ttl = trustplane_idp::upstream::STARTED_TTL_MS / 1000;
            cookies::set(&mut r, BINDING_COOKIE, &started.binding, "Lax", Some(ttl));
            r
        }
        Err(e) => federated_error(e),
    }
}

/// `GET /login/federated/{provider}?next=`: "sign in with" a provider by id or name.
async fn federated_start(
    State(state): State<AppState>,
    crate::extract::Path(provider): crate::extract::Path<String>,
    Query(q): Query<NextParam>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    federated_redirect(&state, &provider, None, &next).await
}

#[derive(Deserialize)]
pub struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code (or an error).
async fn federated_callback(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Query(q): Query<CallbackParams>,
) -> Response {
    let binding = cookies::get(&headers, BINDING_COOKIE);
    // Refused at the provider (an `error`, no code): the started sign-in still ends here,
    // and the refusal is logged.
    let code = match q.error {
        Some(_) => String::new(),
        None => q.code.unwrap_or_default(),
    };
    let result = state
        .upstream
        .finish(
            &state.signin,
            &ctx,
            q.state.as_deref().unwrap_or_default(),
            &code,
            binding.as_deref(),
        )
        .await;
    let mut r = match result {
        Ok(Finished {
            step: FirstStep::Done(issued),
            next,
        }) => signed_in(&issued, &next),
        Ok(Finished {
            step: FirstStep::SecondFactor { handle, .. },
            next,
        }) => {
            let mut r = see_other(&format!("/login/mfa?next={}", query_next(&next)));
            cookies::set(&mut r, SIGN_IN, &handle, "Lax", Some(300));
            r
        }
        Err(e) => federated_error(e),
    };
    cookies::clear(&mut r, BINDING_COOKIE);
    r
}

/// An upstream sign-in's failure as a page.
fn federated_error(e: UpstreamError) -> Response {
    match e {
        UpstreamError::Expired => see_other("/login?error=expired"),
        UpstreamError::Refused(_) => page(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            &signin_view::federated_failed(&e.to_string()),
        ),
        UpstreamError::SignIn(e @ SignInError::Blocked(_)) => page(
            StatusCode::FORBIDDEN,
            "Access blocked",
            &signin_view::blocked(&e.to_string()),
        ),
        UpstreamError::SignIn(e @ SignInError::RateLimited { .. }) => retry_after(
            page(
                StatusCode::TOO_MANY_REQUESTS,
                "Sign-in failed",
                &signin_view::federated_failed(&e.to_string()),
            ),
            &e,
        ),
        UpstreamError::Provider(m) => {
            tracing::warn!(error = %m, "upstream identity provider unusable");
            page(
                StatusCode::BAD_GATEWAY,
                "Sign-in failed",
                &signin_view::federated_failed(
                    "Your organisation's identity provider cannot be reached; try again later.",
                ),
            )
        }
        UpstreamError::SignIn(e) => server_error(e),
        other => {
            tracing::error!(error = %other, "upstream sign-in failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                signin_view::UNAVAILABLE,
            )
        }
    }
}

fn server_error(e: SignInError) -> Response {
    tracing::error!(error = %e, "sign-in failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        signin_view::UNAVAILABLE,
    )
}

async fn mfa_page(headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    if cookies::get(&headers, SIGN_IN).is_none() {
        return see_other("/login?error=expired");
    }
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let next = safe_next(q.next.as_deref());
    cookies::with_csrf(
        page(StatusCode::OK, "Verify", &mfa_form(&csrf, &next, None)),
        &csrf,
        fresh,
    )
}

#[derive(Deserialize)]
pub struct MfaForm {
    method: String,
    code: String,
    csrf: String,
    next: Option<String>,
}

fn factor(method: &str, code: String) -> Option<SecondFactor> {
    match method {
        "totp" => Some(SecondFactor::Totp(code)),
        "recoveryCode" => Some(SecondFactor::RecoveryCode(code)),
        _ => None,
    }
}

async fn mfa_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Form(form): Form<MfaForm>,
) -> Response {
    if !cookies::csrf_ok(&headers, &form.csrf) {
        return csrf_refused();
    }
    let next = safe_next(form.next.as_deref());
    let Some(handle) = cookies::get(&headers, SIGN_IN) else {
        return see_other("/login?error=expired");
    };
    let Some(f) = factor(&form.method, form.code) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Verify",
            &mfa_form(&form.csrf, &next, Some("Choose a method.")),
        );
    };
    match state.signin.second_factor(&ctx, &handle, f).await {
        Ok(issued) => signed_in(&issued, &next),
        Err(SignInError::Expired) => {
            let mut r = see_other("/login?error=expired");
            cookies::clear(&mut r, SIGN_IN);
            r
        }
        Err(e @ (SignInError::InvalidCode | SignInError::RateLimited { .. })) => retry_after(
            page(
                StatusCode::UNAUTHORIZED,
                "Verify",
                &mfa_form(&form.csrf, &next, Some(&e.to_string())),
            ),
            &e,
        ),
        Err(e) => server_error(e),
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !cookies::csrf_ok(&headers, &form.csrf) {
        return csrf_refused();
    }
    if let Some(token) = cookies::get(&headers, SESSION) {
        if let Err(e) = state.signin.sign_out(&token).await {
            return ApiError::from(e).into_response();
        }
    }
    let mut r = see_other("/login");
    cookies::clear(&mut r, SESSION);
    r
}

async fn passkey_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        trustplane_console::PASSKEY_SCRIPT,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        trustplane_console::html::STYLESHEET,
    )
        .into_response()
}

// ---- JSON ----

fn api_error(e: SignInError) -> ApiError {
    e.into()
}

fn issued_json(issued: &Issued) -> Value {
    json!({
        "status": "signedIn",
        "sessionToken": issued.token,
        "session": issued.session.info,
        "userPrincipalName": issued.user.user_principal_name,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSignIn {
    username: String,
    password: String,
}

async fn api_sign_in(
    State(state): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<ApiSignIn>,
) -> ApiResult<Response> {
    let step = state
        .signin
        .password(
            &ctx,
            ClientApp::MobileAppsAndDesktopClients,
            &body.username,
            &body.password,
        )
        .await
        .map_err(api_error)?;
    Ok(match step {
        FirstStep::Done(issued) => axum::Json(issued_json(&issued)).into_response(),
        FirstStep::SecondFactor { handle, methods } => axum::Json(json!({
            "status": "secondFactorRequired",
            "signInId": handle,
            "methods": methods,
        }))
        .into_response(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSecondFactor {
    sign_in_id: String,
    method: String,
    code: String,
}

async fn api_second_factor(
    State(state): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<ApiSecondFactor>,
) -> ApiResult<Response> {
    let f = factor(&body.method, body.code)
        .ok_or_else(|| ApiError::bad_request("method must be `totp` or `recoveryCode`"))?;
    let issued = state
        .signin
        .second_factor(&ctx, &body.sign_in_id, f)
        .await
        .map_err(api_error)?;
    Ok(axum::Json(issued_json(&issued)).into_response())
}

async fn api_passkey_begin(State(state): State<AppState>) -> ApiResult<Response> {
    let (challenge, handle) = state.signin.passkey_begin().await.map_err(api_error)?;
    Ok(axum::Json(json!({ "signInId": handle, "publicKey": challenge })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiPasskeyFinish {
    sign_in_id: String,
    credential: Value,
    /// Set by the sign-in page: answer with a session cookie too.
    #[serde(default)]
    cookie: bool,
}

async fn api_passkey_finish(
    State(state): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<ApiPasskeyFinish>,
) -> ApiResult<Response> {
    let client = if body.cookie {
        ClientApp::Browser
    } else {
        ClientApp::MobileAppsAndDesktopClients
    };
    let issued = state
        .signin
        .passkey_finish(&ctx, client, &body.sign_in_id, &body.credential)
        .await
        .map_err(api_error)?;
    let mut r = axum::Json(issued_json(&issued)).into_response();
    if body.cookie {
        cookies::set(&mut r, SESSION, &issued.token, "Lax", None);
    }
    Ok(r)
}

/// The session token from `Authorization: Bearer` or the session cookie.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
        .or_else(|| cookies::get(headers, SESSION))
}

async fn api_session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let token = session_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let (session, user) = state
        .signin
        .session(&token)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(axum::Json(json!({ "session": session.info, "user": user })).into_response())
}

async fn api_sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let token = session_token(&headers).ok_or_else(ApiError::unauthorized)?;
    state.signin.sign_out(&token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A password-only legacy protocol (HTTP Basic), the kind conditional access calls `other`.
/// It exists so such clients are subject to policy, and the default policy blocks them.
async fn api_basic(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
) -> ApiResult<Response> {
    use base64::Engine;
    let (user, password) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| {
            text.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        })
        .ok_or_else(ApiError::unauthorized)?;
    match state
        .signin
        .password(&ctx, ClientApp::Other, &user, &password)
        .await
        .map_err(api_error)?
    {
        FirstStep::Done(issued) => Ok(axum::Json(issued_json(&issued)).into_response()),
        FirstStep::SecondFactor { .. } => Err(ApiError::forbidden(
            "a second factor is needed, which this protocol cannot provide",
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiAuthorize {
    app_id: String,
}

/// Whether the session may reach an application now: 200 allow, 401 with the controls to
/// step up to, 403 blocked (and for a session that must first register a second factor).
async fn api_authorize(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Json(body): Json<ApiAuthorize>,
) -> ApiResult<Response> {
    let token = session_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let (session, user) = state
        .signin
        .session(&token)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if session.restriction.is_some() {
        return Err(ApiError::forbidden(
            "register a second factor at /account/security first",
        ));
    }
    let decision = state
        .signin
        .authorize_app(&session, &user, &body.app_id, &ctx)
        .await?;
    Ok(match decision.outcome {
        trustplane_access::Outcome::Allow => {
            axum::Json(json!({ "result": "allow" })).into_response()
        }
        trustplane_access::Outcome::Grant => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "result": "stepUp", "requiredControls": decision.required })),
        )
            .into_response(),
        trustplane_access::Outcome::Block => (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "result": "block", "policies": decision.blocking })),
        )
            .into_response(),
    })
}
