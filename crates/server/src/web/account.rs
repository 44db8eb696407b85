//! The user portal: home, security info (methods, with step-up), and sessions.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_model::{Actor, User};
use trustplane_store::Session;

use super::cookies::{self, CsrfForm, SESSION};
use super::html::{csrf_refused, page, see_other};
use super::login::retry_after;
use super::login::{safe_next, url_encode};
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::server::AppState;
use crate::signin::{SecondFactor, SignInError};
use trustplane_console::html::message;
use trustplane_console::portal::{self as view, SECURITY_PATH};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/account/security", get(security))
        .route("/account/verify", get(verify_page).post(verify_submit))
        .route("/account/totp/begin", post(totp_begin))
        .route("/account/totp/confirm", post(totp_confirm))
        .route("/account/recovery-codes", post(recovery_codes))
        .route("/account/methods/{id}/remove", post(remove_method))
        .route("/account/passkeys/begin", post(passkey_begin))
        .route("/account/passkeys/finish", post(passkey_finish))
        .route(
            "/account/password",
            get(password_page).post(password_submit),
        )
        .route("/account/sessions", get(sessions))
        .route("/account/sessions/{id}/revoke", post(revoke))
}

/// A signed-in user's session, record and audit identity. As an extractor it answers a
/// redirect to the sign-in page (which comes back here) when there is no session, and the
/// detour a first sign-in must take first (see `console::portal::detour`).
pub(super) struct SignedIn {
    pub(super) session: Session,
    pub(super) user: User,
    pub(super) actor: Actor,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let uri = &parts.uri;
        let back = || {
            let here = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
            see_other(&format!("/login?next={}", url_encode(here)))
        };
        let Some(token) = cookies::get(&parts.headers, SESSION) else {
            return Err(back());
        };
        let (session, user) = match state.signin.session(&token).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let mut r = back();
                cookies::clear(&mut r, SESSION);
                return Err(r);
            }
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let must_change = state
            .signin
            .must_change_password_first(&session)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        if let Some(to) = view::detour(uri.path(), must_change, session.restriction.is_some()) {
            return Err(see_other(to));
        }
        let actor = Actor {
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
            ip_address: session.info.ip_address.clone(),
            user_agent: session.info.user_agent.clone(),
        };
        Ok(SignedIn {
            session,
            user,
            actor,
        })
    }
}

impl SignedIn {
    /// The refusal of a form post whose CSRF token does not check out, if it does not.
    pub(super) fn csrf_refusal(&self, headers: &HeaderMap, field: &str) -> Option<Response> {
        (!cookies::csrf_ok(headers, field)).then(csrf_refused)
    }
}

async fn home(State(state): State<AppState>, headers: HeaderMap, me: SignedIn) -> Response {
    let tiles = match trustplane_idp::saml_app::my_apps::my_apps(&state.store, &me.user).await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let shown: Vec<view::AppTile<'_>> = tiles
        .iter()
        .map(|t| view::AppTile {
            name: &t.name,
            detail: t.detail.as_deref(),
            url: &t.url,
        })
        .collect();
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let body = view::home(
        &csrf,
        &me.user.display_name,
        &me.user.user_principal_name,
        &me.session.info.amr,
        &shown,
    );
    cookies::with_csrf(page(StatusCode::OK, "Home", &body), &csrf, fresh)
}

async fn security(State(state): State<AppState>, me: SignedIn, headers: HeaderMap) -> Response {
    let methods = match state.store.list_auth_methods(&me.user.id, None).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let unused_codes = methods
        .iter()
        .filter(|m| m.kind == "recoveryCode" && m.used_at.is_none())
        .count();
    let listed: Vec<view::Method<'_>> = methods
        .iter()
        .filter(|m| m.kind != "recoveryCode")
        .map(|m| view::Method {
            id: &m.id,
            kind: &m.kind,
            label: &m.label,
        })
        .collect();
    let body = view::security_info(
        &csrf,
        &listed,
        unused_codes,
        me.session.restriction.is_some(),
    );
    cookies::with_csrf(page(StatusCode::OK, "Security info", &body), &csrf, fresh)
}

/// Whether a code or password was refused without being judged: too many failures, or too
/// much hashing under way.
fn throttled(e: &SignInError) -> bool {
    matches!(
        e,
        SignInError::RateLimited { .. } | SignInError::Locked | SignInError::Busy { .. }
    )
}

/// The status of such a refusal: 429, 403 once the account is locked, 503 when busy.
fn refusal_status(e: &SignInError) -> StatusCode {
    match e {
        SignInError::Locked => StatusCode::FORBIDDEN,
        SignInError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// Adding or removing methods needs a recent strong sign-in; otherwise, verify first.
async fn require_step_up(state: &AppState, me: &SignedIn) -> Result<(), Response> {
    match state.signin.may_change_methods(&me.session).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(see_other(view::VERIFY_PATH)),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

#[derive(Deserialize)]
pub struct VerifyParams {
    next: Option<String>,
}

/// `next`, if given, checked: only this server's own paths.
fn verify_next(next: Option<&str>) -> Option<String> {
    next.map(|n| safe_next(Some(n)))
}

async fn verify_page(_me: SignedIn, headers: HeaderMap, Query(q): Query<VerifyParams>) -> Response {
    let next = verify_next(q.next.as_deref());
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let body = view::verify_form(&csrf, None, next.as_deref());
    cookies::with_csrf(page(StatusCode::OK, "Verify", &body), &csrf, fresh)
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    method: String,
    code: String,
    next: Option<String>,
}

async fn verify_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    me: SignedIn,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    let factor = if f.method == "recoveryCode" {
        SecondFactor::RecoveryCode(f.code)
    } else {
        SecondFactor::Totp(f.code)
    };
    let next = verify_next(f.next.as_deref());
    match state
        .signin
        .step_up(&ctx, &me.session, &me.user, factor)
        .await
    {
        Ok(()) => see_other(next.as_deref().unwrap_or("/account/security")),
        Err(SignInError::InvalidCode) => page(
            StatusCode::UNAUTHORIZED,
            "Verify",
            &view::verify_form(&f.csrf, Some("The code is not valid."), next.as_deref()),
        ),
        Err(e) if throttled(&e) => retry_after(
            page(
                refusal_status(&e),
                "Verify",
                &view::verify_form(&f.csrf, Some(&e.to_string()), next.as_deref()),
            ),
            &e,
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &message(&e.to_string()),
        ),
    }
}

async fn totp_begin(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    if let Err(r) = require_step_up(&state, &me).await {
        return r;
    }
    match state.signin.totp_begin(&me.user).await {
        Ok((handle, uri, svg)) => page(
            StatusCode::OK,
            "Authenticator app",
            &view::totp_setup(&f.csrf, &handle, &uri, &svg, None),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &message(&e.to_string()),
        ),
    }
}

#[derive(Deserialize)]
pub struct TotpConfirm {
    csrf: String,
    handle: String,
    uri: String,
    code: String,
}

async fn totp_confirm(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Form(f): Form<TotpConfirm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    match state
        .signin
        .totp_confirm(&me.actor, &me.user, &f.handle, &f.code, "Authenticator app")
        .await
    {
        Ok(_) => {
            // Registering a first factor counts as proving it now.
            let _ = state.signin.mark_second_factor(&me.session, "otp").await;
            // A first sign-in that was held here for a second factor goes on now.
            if me.session.restriction.is_some() {
                see_other(view::HOME_PATH)
            } else {
                see_other(SECURITY_PATH)
            }
        }
        Err(SignInError::InvalidCode) => {
            let svg = trustplane_authn::totp::qr_svg(&f.uri).unwrap_or_default();
            page(
                StatusCode::UNAUTHORIZED,
                "Authenticator app",
                &view::totp_setup(
                    &f.csrf,
                    &f.handle,
                    &f.uri,
                    &svg,
                    Some("The code is not valid; try the next one."),
                ),
            )
        }
        Err(e) => page(
            StatusCode::BAD_REQUEST,
            "Error",
            &view::security_error(&e.to_string()),
        ),
    }
}

async fn recovery_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    me: SignedIn,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    if let Err(r) = require_step_up(&state, &me).await {
        return r;
    }
    match state
        .signin
        .regenerate_recovery_codes(&me.actor, &me.user)
        .await
    {
        Ok(codes) => page(
            StatusCode::OK,
            "Recovery codes",
            &view::recovery_codes(&codes),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &message(&e.to_string()),
        ),
    }
}

async fn remove_method(
    State(state): State<AppState>,
    headers: HeaderMap,
    me: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    if let Err(r) = require_step_up(&state, &me).await {
        return r;
    }
    match state
        .store
        .delete_auth_method(&me.actor, &me.user.id, &id)
        .await
    {
        Ok(()) => see_other(SECURITY_PATH),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct JsonCsrf {
    csrf: String,
}

async fn passkey_begin(
    State(state): State<AppState>,
    me: Result<SignedIn, Response>,
    headers: HeaderMap,
    Json(body): Json<JsonCsrf>,
) -> ApiResult<Response> {
    let me = me.map_err(|_| ApiError::unauthorized())?;
    if !cookies::csrf_ok(&headers, &body.csrf) {
        return Err(ApiError::forbidden("missing or wrong CSRF token"));
    }
    if require_step_up(&state, &me).await.is_err() {
        return Err(ApiError::forbidden(
            "verify with a second factor first (/account/verify)",
        ));
    }
    let (challenge, handle) = state
        .signin
        .passkey_register_begin(&me.user)
        .await
        .map_err(sign_in_api_error)?;
    Ok(axum::Json(json!({ "handle": handle, "publicKey": challenge })).into_response())
}

#[derive(Deserialize)]
pub struct PasskeyFinish {
    csrf: String,
    handle: String,
    label: Option<String>,
    credential: Value,
}

async fn passkey_finish(
    State(state): State<AppState>,
    me: Result<SignedIn, Response>,
    headers: HeaderMap,
    Json(body): Json<PasskeyFinish>,
) -> ApiResult<Response> {
    let me = me.map_err(|_| ApiError::unauthorized())?;
    if !cookies::csrf_ok(&headers, &body.csrf) {
        return Err(ApiError::forbidden("missing or wrong CSRF token"));
    }
    let label = body.label.unwrap_or_else(|| "Passkey".into());
    let id = state
        .signin
        .passkey_register_finish(&me.actor, &me.user, &body.handle, &body.credential, &label)
        .await
        .map_err(sign_in_api_error)?;
    // Registering a passkey proves it now, and lifts a registration-only restriction.
    state.signin.mark_second_factor(&me.session, "hwk").await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

fn sign_in_api_error(e: SignInError) -> ApiError {
    match e {
        SignInError::Store(s) => s.into(),
        SignInError::Expired => ApiError::new(StatusCode::GONE, "Expired", e.to_string()),
        other => ApiError::bad_request(other.to_string()),
    }
}

async fn sessions(State(state): State<AppState>, headers: HeaderMap, me: SignedIn) -> Response {
    let list = match state.store.list_sessions(&me.user.id).await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let rows: Vec<view::SessionRow<'_>> = list
        .iter()
        .map(|s| view::SessionRow {
            id: &s.info.id,
            signed_in: s.info.created_date_time.to_string(),
            address: s.info.ip_address.as_deref().unwrap_or(""),
            browser: s.info.user_agent.as_deref().unwrap_or(""),
            current: s.info.id == me.session.info.id,
        })
        .collect();
    let body = view::sessions(&csrf, &rows);
    cookies::with_csrf(page(StatusCode::OK, "Sessions", &body), &csrf, fresh)
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    me: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    match state
        .store
        .revoke_session(&me.actor, &me.user.id, &id)
        .await
    {
        Ok(()) => see_other(view::SESSIONS_PATH),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn password_form(csrf: &str, error: Option<&str>) -> String {
    view::password_form(csrf, error, false)
}

async fn password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    me: SignedIn,
) -> Response {
    let must_change = match state.signin.must_change_password(&me.user.id).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let body = view::password_form(&csrf, None, must_change);
    cookies::with_csrf(page(StatusCode::OK, "Password", &body), &csrf, fresh)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

async fn password_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    me: SignedIn,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    if f.new != f.confirm {
        return page(
            StatusCode::BAD_REQUEST,
            "Password",
            &password_form(&f.csrf, Some("The two new passwords differ.")),
        );
    }
    match state
        .signin
        .change_password(&ctx, &me.actor, &me.session, &me.user, &f.current, &f.new)
        .await
    {
        // A session still held for a second factor goes to register one next.
        Ok(()) if me.session.restriction.is_some() => see_other(SECURITY_PATH),
        Ok(()) => see_other("/"),
        Err(SignInError::InvalidCredentials) => page(
            StatusCode::UNAUTHORIZED,
            "Password",
            &password_form(&f.csrf, Some("The current password is incorrect.")),
        ),
        Err(e) if throttled(&e) => retry_after(
            page(
                refusal_status(&e),
                "Password",
                &password_form(&f.csrf, Some(&e.to_string())),
            ),
            &e,
        ),
        Err(SignInError::BadRequest(m)) => page(
            StatusCode::BAD_REQUEST,
            "Password",
            &password_form(&f.csrf, Some(&m)),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &message(&e.to_string()),
        ),
    }
}
