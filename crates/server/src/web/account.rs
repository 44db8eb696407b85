//! The user portal: home, security info (methods, with step-up), and sessions.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_model::{Actor, User};
use trustplane_store::Session;

use super::cookies::{self, SESSION};
use super::html::{csrf_field, error_box, esc, page, see_other};
use super::login::retry_after;
use super::login::{safe_next, url_encode};
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::server::AppState;
use crate::signin::{SecondFactor, SignInError};

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

const PASSWORD_PATH: &str = "/account/password";
const SECURITY_PATH: &str = "/account/security";
/// What a session that must first register a second factor may open.
const REGISTERING_PATHS: [&str; 6] = [
    SECURITY_PATH,
    "/account/totp/begin",
    "/account/totp/confirm",
    "/account/passkeys/begin",
    "/account/passkeys/finish",
    "/account/recovery-codes",
];

/// A signed-in user's session, record and audit identity.
pub(super) struct SignedIn {
    pub(super) session: Session,
    pub(super) user: User,
    pub(super) actor: Actor,
}

/// The signed-in user, or a redirect to the sign-in page that comes back here.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<SignedIn, Response> {
    let back = || {
        let here = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        see_other(&format!("/login?next={}", url_encode(here)))
    };
    let Some(token) = cookies::get(headers, SESSION) else {
        return Err(back());
    };
    match state.signin.session(&token).await {
        Ok(Some((session, user))) => {
            // A first sign-in goes one way: change the password that was set for the
            // person, then register a second factor where one is required, then go on. Each
            // step's page is reachable while the other is pending, or the two would send
            // the browser back and forth for ever.
            let changing_password = uri.path() == PASSWORD_PATH;
            // Signed in with a temporary access pass, the person never typed the password
            // and cannot change it by its current value: they register methods instead.
            let with_pass = session
                .info
                .amr
                .iter()
                .any(|a| a == trustplane_idp::signin::TAP_AMR);
            let must_change = !with_pass
                && match state.signin.must_change_password(&user.id).await {
                    Ok(must) => must,
                    Err(e) => return Err(ApiError::from(e).into_response()),
                };
            if must_change && !changing_password {
                return Err(see_other(PASSWORD_PATH));
            }
            // The password page belongs to the sequence only while a change is pending.
            if session.restriction.is_some()
                && !(changing_password && must_change)
                && !REGISTERING_PATHS.contains(&uri.path())
            {
                return Err(see_other(SECURITY_PATH));
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
        Ok(None) => {
            let mut r = back();
            cookies::clear(&mut r, SESSION);
            Err(r)
        }
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// The signed-in user behind a form post whose CSRF token checks out.
pub(super) async fn signed_in_form(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    csrf: &str,
) -> Result<SignedIn, Response> {
    let me = signed_in(state, headers, uri).await?;
    if !cookies::csrf_ok(headers, csrf) {
        return Err(refused());
    }
    Ok(me)
}

/// The portal's links, on every page.
pub(super) fn nav() -> &'static str {
    "<nav><a href=\"/\">Home</a><a href=\"/account/security\">Security info</a><a href=\"/account/password\">Password</a><a href=\"/account/sessions\">Sessions</a><a href=\"/account/roles\">My roles</a><a href=\"/account/approvals\">Approvals</a></nav>"
}

fn sign_out_form(csrf: &str) -> String {
    format!("<form method=\"post\" action=\"/logout\">{}<button type=\"submit\">Sign out</button></form>", csrf_field(csrf))
}

async fn home(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let body = format!(
        "{}<h1>Welcome, {}</h1><p>Signed in as <strong id=\"upn\">{}</strong> with {}.</p>{}",
        nav(),
        esc(&me.user.display_name),
        esc(&me.user.user_principal_name),
        esc(&me.session.info.amr.join(", ")),
        sign_out_form(&csrf)
    );
    cookies::with_csrf(page(StatusCode::OK, "Home", &body), &csrf, fresh)
}

async fn security(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let methods = match state.store.list_auth_methods(&me.user.id, None).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let mut rows = String::new();
    let unused_codes = methods
        .iter()
        .filter(|m| m.kind == "recoveryCode" && m.used_at.is_none())
        .count();
    for m in methods.iter().filter(|m| m.kind != "recoveryCode") {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/methods/{}/remove\">{}<button type=\"submit\">Remove</button></form></td></tr>",
            esc(&m.kind),
            esc(&m.label),
            esc(&m.id),
            csrf_field(&csrf)
        ));
    }
    let notice = if me.session.restriction.is_some() {
        "<p class=\"notice\" id=\"mfa-required\">Your organisation requires a second factor for your account. \
         Add an authenticator app or a passkey below to go on.</p>"
    } else {
        ""
    };
    let body = format!(
        "{}<h1>Security info</h1>{notice}<table><tr><th>Method</th><th>Name</th><th></th></tr>\
         <tr><td>password</td><td>Password</td><td></td></tr>{rows}</table>\
         <p>Recovery codes left: {unused_codes}</p>\
         <form method=\"post\" action=\"/account/totp/begin\">{c}<button type=\"submit\">Add an authenticator app</button></form>\
         <form method=\"post\" action=\"/account/recovery-codes\">{c}<button type=\"submit\">Make new recovery codes</button></form>\
         <p><button type=\"button\" id=\"passkey-register\" data-csrf=\"{}\">Add a passkey</button></p>\
         <script src=\"/static/passkey.js\"></script>",
        nav(),
        esc(&csrf),
        c = csrf_field(&csrf),
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
        Ok(false) => Err(see_other("/account/verify")),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

fn refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "<h1>Request refused</h1><p>Missing or wrong CSRF token.</p>",
    )
}

fn verify_form(csrf: &str, error: Option<&str>) -> String {
    verify_form_to(csrf, error, None)
}

/// The step-up form; `next` is where to go once verified (an authorization request, say).
fn verify_form_to(csrf: &str, error: Option<&str>, next: Option<&str>) -> String {
    let (why, hidden_next) = match next {
        Some(n) => (
            "Continuing needs a recent second factor.",
            format!("<input type=\"hidden\" name=\"next\" value=\"{}\">", esc(n)),
        ),
        None => (
            "Changing your security info needs a recent second factor.",
            String::new(),
        ),
    };
    format!(
        "{}<h1>Verify it is you</h1><p>{why}</p>{}\
         <form method=\"post\" action=\"/account/verify\">{}{hidden_next}\
         <label><input type=\"radio\" name=\"method\" value=\"totp\" checked> Authenticator app code</label>\
         <label><input type=\"radio\" name=\"method\" value=\"recoveryCode\"> Recovery code</label>\
         <label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" required>\
         <button type=\"submit\">Verify</button></form>",
        nav(),
        error_box(error),
        csrf_field(csrf)
    )
}

/// A form page for a signed-in user, with its CSRF token.
async fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    title: &str,
    form: fn(&str, Option<&str>) -> String,
) -> Response {
    if let Err(r) = signed_in(state, headers, uri).await {
        return r;
    }
    let (csrf, fresh) = cookies::csrf_token(headers);
    cookies::with_csrf(
        page(StatusCode::OK, title, &form(&csrf, None)),
        &csrf,
        fresh,
    )
}

#[derive(Deserialize)]
pub struct VerifyParams {
    next: Option<String>,
}

/// `next`, if given, checked: only this server's own paths.
fn verify_next(next: Option<&str>) -> Option<String> {
    next.map(|n| safe_next(Some(n)))
}

async fn verify_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<VerifyParams>,
) -> Response {
    let Some(next) = verify_next(q.next.as_deref()) else {
        return form_page(&state, &headers, &uri, "Verify", verify_form).await;
    };
    if let Err(r) = signed_in(&state, &headers, &uri).await {
        return r;
    }
    let (csrf, fresh) = cookies::csrf_token(&headers);
    cookies::with_csrf(
        page(
            StatusCode::OK,
            "Verify",
            &verify_form_to(&csrf, None, Some(&next)),
        ),
        &csrf,
        fresh,
    )
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
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<CodeForm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
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
            &verify_form_to(&f.csrf, Some("The code is not valid."), next.as_deref()),
        ),
        Err(e) if throttled(&e) => retry_after(
            page(
                refusal_status(&e),
                "Verify",
                &verify_form_to(&f.csrf, Some(&e.to_string()), next.as_deref()),
            ),
            &e,
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &format!("<p>{}</p>", esc(&e.to_string())),
        ),
    }
}

async fn totp_begin(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<CsrfForm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Err(r) = require_step_up(&state, &me).await {
        return r;
    }
    match state.signin.totp_begin(&me.user).await {
        Ok((handle, uri, svg)) => page(
            StatusCode::OK,
            "Authenticator app",
            &totp_page(&f.csrf, &handle, &uri, &svg, None),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &format!("<p>{}</p>", esc(&e.to_string())),
        ),
    }
}

fn totp_page(csrf: &str, handle: &str, uri: &str, svg: &str, error: Option<&str>) -> String {
    // The SVG is our own output from the QR encoder, not user input.
    format!(
        "{}<h1>Add an authenticator app</h1>{}<p>Scan this code with your authenticator app, or enter the key by hand.</p>\
         <div aria-label=\"QR code\">{svg}</div><p>Set-up link: <code id=\"otpauth\">{}</code></p>\
         <form method=\"post\" action=\"/account/totp/confirm\">{}\
         <input type=\"hidden\" name=\"handle\" value=\"{}\"><input type=\"hidden\" name=\"uri\" value=\"{}\">\
         <label for=\"code\">Code shown by the app</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button type=\"submit\">Confirm</button></form>",
        nav(),
        error_box(error),
        esc(uri),
        csrf_field(csrf),
        esc(handle),
        esc(uri)
    )
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
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<TotpConfirm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    match state
        .signin
        .totp_confirm(&me.actor, &me.user, &f.handle, &f.code, "Authenticator app")
        .await
    {
        Ok(_) => {
            // Registering a first factor counts as proving it now.
            let _ = state
                .store
                .mark_session_mfa(&me.session.info.id, &with_mfa(&me.session.info.amr, "otp"))
                .await;
            // A first sign-in that was held here for a second factor goes on now.
            if me.session.restriction.is_some() {
                see_other("/")
            } else {
                see_other(SECURITY_PATH)
            }
        }
        Err(SignInError::InvalidCode) => {
            let svg = trustplane_authn::totp::qr_svg(&f.uri).unwrap_or_default();
            page(
                StatusCode::UNAUTHORIZED,
                "Authenticator app",
                &totp_page(
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
            &format!(
                "<p>{}</p><p><a href=\"/account/security\">Back</a></p>",
                esc(&e.to_string())
            ),
        ),
    }
}

fn with_mfa(amr: &[String], method: &str) -> Vec<String> {
    let mut refs = amr.to_vec();
    for r in [method, "mfa"] {
        if !refs.iter().any(|x| x == r) {
            refs.push(r.to_string());
        }
    }
    refs
}

async fn recovery_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<CsrfForm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Err(r) = require_step_up(&state, &me).await {
        return r;
    }
    match state
        .signin
        .regenerate_recovery_codes(&me.actor, &me.user)
        .await
    {
        Ok(codes) => {
            let list: String = codes
                .iter()
                .map(|c| format!("<li><code>{}</code></li>", esc(c)))
                .collect();
            page(
                StatusCode::OK,
                "Recovery codes",
                &format!("{}<h1>Your recovery codes</h1><p>Each works once. Keep them somewhere safe: they are shown only now.</p><ol id=\"codes\">{list}</ol>", nav()),
            )
        }
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Error",
            &format!("<p>{}</p>", esc(&e.to_string())),
        ),
    }
}

async fn remove_method(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Err(r) = require_step_up(&state, &me).await {
        return r;
    }
    match state
        .store
        .delete_auth_method(&me.actor, &me.user.id, &id)
        .await
    {
        Ok(()) => see_other("/account/security"),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct JsonCsrf {
    csrf: String,
}

async fn passkey_begin(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Json(body): Json<JsonCsrf>,
) -> ApiResult<Response> {
    let me = signed_in(&state, &headers, &uri)
        .await
        .map_err(|_| ApiError::unauthorized())?;
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
    headers: HeaderMap,
    uri: Uri,
    Json(body): Json<PasskeyFinish>,
) -> ApiResult<Response> {
    let me = signed_in(&state, &headers, &uri)
        .await
        .map_err(|_| ApiError::unauthorized())?;
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
    state
        .store
        .mark_session_mfa(&me.session.info.id, &with_mfa(&me.session.info.amr, "hwk"))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

fn sign_in_api_error(e: SignInError) -> ApiError {
    match e {
        SignInError::Store(s) => s.into(),
        SignInError::Expired => ApiError::new(StatusCode::GONE, "Expired", e.to_string()),
        other => ApiError::bad_request(other.to_string()),
    }
}

async fn sessions(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let list = match state.store.list_sessions(&me.user.id).await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let mut rows = String::new();
    for s in list {
        let current = if s.info.id == me.session.info.id {
            " (this one)"
        } else {
            ""
        };
        rows.push_str(&format!(
            "<tr><td>{}{current}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/sessions/{}/revoke\">{}<button type=\"submit\">End</button></form></td></tr>",
            esc(&s.info.created_date_time.to_string()),
            esc(s.info.ip_address.as_deref().unwrap_or("")),
            esc(s.info.user_agent.as_deref().unwrap_or("")),
            esc(&s.info.id),
            csrf_field(&csrf)
        ));
    }
    let body = format!("{}<h1>Your sessions</h1><table><tr><th>Signed in</th><th>From</th><th>Browser</th><th></th></tr>{rows}</table>", nav());
    cookies::with_csrf(page(StatusCode::OK, "Sessions", &body), &csrf, fresh)
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    match state
        .store
        .revoke_session(&me.actor, &me.user.id, &id)
        .await
    {
        Ok(()) => see_other("/account/sessions"),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn password_form(csrf: &str, error: Option<&str>) -> String {
    format!(
        "{}<h1>Change your password</h1>{}<p>At least 8 characters; long passphrases are welcome. \
         Common passwords and your own name are refused.</p>\
         <form method=\"post\" action=\"/account/password\">{}\
         <label for=\"current\">Current password</label><input type=\"password\" id=\"current\" name=\"current\" autocomplete=\"current-password\" required>\
         <label for=\"new\">New password</label><input type=\"password\" id=\"new\" name=\"new\" autocomplete=\"new-password\" minlength=\"8\" required>\
         <label for=\"confirm\">New password again</label><input type=\"password\" id=\"confirm\" name=\"confirm\" autocomplete=\"new-password\" minlength=\"8\" required>\
         <button type=\"submit\">Change password</button></form>",
        nav(),
        error_box(error),
        csrf_field(csrf)
    )
}

async fn password_page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let must_change = match state.signin.must_change_password(&me.user.id).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(&headers);
    let mut body = password_form(&csrf, None);
    if must_change {
        body = body.replacen(
            "</h1>",
            "</h1><p class=\"notice\" id=\"must-change\">The password you signed in with was set for you. \
             Choose your own before you go on.</p>",
            1,
        );
    }
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
    uri: Uri,
    Form(f): Form<PasswordForm>,
) -> Response {
    let me = match signed_in_form(&state, &headers, &uri, &f.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
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
            &format!("<p>{}</p>", esc(&e.to_string())),
        ),
    }
}
