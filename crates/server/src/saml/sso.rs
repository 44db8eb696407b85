//! The HTTP side of the identity provider: the bindings, the pending request sealed into
//! the resume URL, signing and the auto-post form. What the assertion says is decided by
//! [`trustplane_idp::saml_app::sso`].

use std::time::Duration;

use axum::extract::{Form, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use trustplane_access::Outcome as CaOutcome;
use trustplane_model::{
    from_ms, to_ms, Actor, Application, Event, Outcome, Permission, Target, User,
};
use trustplane_saml::{
    build_response, build_status_response, new_id, AuthnRequest, Certificate, IdpMetadata, Refusal,
    ResponseParams, StatusParams,
};
use trustplane_store::Session;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;
use crate::web::html::{esc, page, see_other};
use crate::web::login::{session_token, url_encode};
use trustplane_idp::saml_app::settings::{url_origin, NAMEID_EMAIL, NAMEID_PERSISTENT};
use trustplane_idp::saml_app::sso;

/// A checked request waiting for the person, sealed into the URL they come back to.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The application's object id.
    app: String,
    /// The request answered (absent for IdP-initiated sign-on).
    request_id: Option<String>,
    /// The registered ACS the response goes to.
    acs: String,
    relay_state: Option<String>,
    /// `ForceAuthn`: only a sign-in made after this time counts.
    signed_in_after: Option<i64>,
    /// AWS console: the one role asked for (a portal tile per role), instead of all.
    #[serde(default)]
    aws_role: Option<String>,
    expires_at: i64,
}

const PENDING_CONTEXT: &str = "saml-pending";
/// Long enough to sign in and step up, short enough that a leaked URL soon stops working.
const PENDING_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// How far a request's `IssueInstant` may be from our clock.
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
/// `RelayState` is at most 80 bytes by the bindings specification; some SPs send more.
const MAX_RELAY_STATE: usize = 1024;

/// `GET /saml/metadata`: the IdP's metadata, with every published signing certificate.
pub async fn metadata(State(state): State<AppState>) -> ApiResult<Response> {
    let keys = state.saml.ring.current().await?;
    let certificates = keys
        .published
        .iter()
        .filter_map(|k| STANDARD.decode(&k.public_key).ok())
        .collect();
    let xml = IdpMetadata {
        entity_id: state.saml.entity_id.clone(),
        sso_url: state.saml.sso_url.clone(),
        signing_certificates: certificates,
        name_id_formats: vec![NAMEID_PERSISTENT.into(), NAMEID_EMAIL.into()],
    }
    .to_xml();
    Ok((
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response())
}

fn refused(status: StatusCode, why: &str) -> Response {
    page(
        status,
        "Sign-in refused",
        &format!("<h1>This sign-in cannot go on</h1><p>{}</p>", esc(why)),
    )
}

/// Which signature came with a request.
enum RequestSignature {
    None,
    Redirect(trustplane_saml::RedirectSignature),
    Post(trustplane_saml::XmlSignature),
}

impl RequestSignature {
    fn verify(&self, certs: &[Certificate]) -> Option<trustplane_saml::Result<()>> {
        match self {
            RequestSignature::None => None,
            RequestSignature::Redirect(s) => Some(s.verify(certs)),
            RequestSignature::Post(s) => Some(s.verify(certs)),
        }
    }
}

/// `GET /saml/sso`: an AuthnRequest by the HTTP-Redirect binding.
pub async fn sso_redirect(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match trustplane_saml::parse_redirect(query.as_deref().unwrap_or("")) {
        Ok(r) => {
            let signature = r
                .signature
                .map_or(RequestSignature::None, RequestSignature::Redirect);
            accept(&state, r.request, r.relay_state, signature).await
        }
        Err(e) => refused(
            StatusCode::BAD_REQUEST,
            &format!("The request is not valid: {e}."),
        ),
    }
}

/// The HTTP-POST binding's form.
#[derive(Deserialize)]
pub struct SsoForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST /saml/sso`: an AuthnRequest by the HTTP-POST binding.
pub async fn sso_post(State(state): State<AppState>, Form(form): Form<SsoForm>) -> Response {
    match trustplane_saml::parse_post(&form.saml_request, form.relay_state.as_deref()) {
        Ok(r) => {
            let signature = r
                .signature
                .map_or(RequestSignature::None, RequestSignature::Post);
            accept(&state, r.request, r.relay_state, signature).await
        }
        Err(e) => refused(
            StatusCode::BAD_REQUEST,
            &format!("The request is not valid: {e}."),
        ),
    }
}

async fn find_sp(state: &AppState, entity_id: &str) -> Result<Option<Application>, ApiError> {
    Ok(sso::find_sp(&state.store, entity_id).await?)
}

/// Checks an SP-initiated request and sends the browser on to `/saml/resume`. Nothing is
/// issued here: a request that fails any check gets an error page and no redirect to the SP,
/// since its ACS URL cannot be trusted.
async fn accept(
    state: &AppState,
    request: AuthnRequest,
    relay_state: Option<String>,
    signature: RequestSignature,
) -> Response {
    let app = match find_sp(state, &request.issuer).await {
        Ok(Some(app)) => app,
        Ok(None) => {
            return refused(
                StatusCode::BAD_REQUEST,
                "The service provider that sent you here is not known to Trustplane.",
            )
        }
        Err(e) => return e.into_response(),
    };
    let Some(settings) = sso::settings_of(&app) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "The application is not set up for SAML sign-on.",
        );
    };
    let sp = settings.sp_metadata(&app.app_id);
    let acs = match sp.acs_for(&request) {
        Ok(acs) => acs.location.clone(),
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match signature.verify(&sp.signing_certificates) {
        Some(Ok(())) => {}
        Some(Err(e)) if !sp.signing_certificates.is_empty() => {
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("The request's signature is not valid: {e}."),
            )
        }
        // A signature we have no certificate for proves nothing, and is not required.
        Some(Err(_)) | None => {
            if settings.require_signed_requests {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "This service provider must sign its requests.",
                );
            }
        }
    }
    if let Some(destination) = &request.destination {
        if destination != &state.saml.sso_url {
            return refused(
                StatusCode::BAD_REQUEST,
                "The request was meant for another identity provider.",
            );
        }
    }
    let now = state.store.clock().now_ms();
    let issued = to_ms(request.issue_instant);
    if (now - issued).abs() > MAX_SKEW_MS {
        return refused(
            StatusCode::BAD_REQUEST,
            "The request is too old or from the future (check the service provider's clock).",
        );
    }
    if relay_state
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RELAY_STATE)
    {
        return refused(StatusCode::BAD_REQUEST, "RelayState is too long.");
    }
    let pending = Pending {
        app: app.id,
        request_id: Some(request.id),
        acs,
        relay_state,
        signed_in_after: request.force_authn.then_some(now),
        aws_role: None,
        expires_at: now + PENDING_LIFETIME_MS,
    };
    send_to_resume(state, &pending)
}

fn resume_path(state: &AppState, pending: &Pending) -> Result<String, ApiError> {
    let plain = serde_json::to_vec(pending).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let sealed = state
        .sealer
        .seal(PENDING_CONTEXT, &plain)
        .map_err(|_| ApiError::bad_request("cannot seal the request"))?;
    Ok(format!("/saml/resume?r={}", url_encode(&sealed)))
}

fn send_to_resume(state: &AppState, pending: &Pending) -> Response {
    match resume_path(state, pending) {
        Ok(path) => see_other(&path),
        Err(e) => e.into_response(),
    }
}

/// `RelayState` for IdP-initiated sign-on, and for the AWS console the one role to sign in
/// with (AWS then skips its role picker).
#[derive(Deserialize)]
pub struct StartParams {
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
    role: Option<String>,
}

/// `GET /saml/start/{app}`: IdP-initiated sign-on (the portal's link), by appId or object id.
pub async fn idp_initiated(
    State(state): State<AppState>,
    Path(app): Path<String>,
    Query(params): Query<StartParams>,
) -> Response {
    let found = match state.store.get_application(&app).await {
        Ok(a) => Some(a),
        Err(_) => find_sp(&state, &app).await.ok().flatten(),
    };
    let Some(app) = found else {
        return refused(StatusCode::NOT_FOUND, "There is no such application.");
    };
    let Some(settings) = sso::settings_of(&app) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "The application is not set up for SAML sign-on.",
        );
    };
    let Some(acs) = settings.sp_metadata(&app.app_id).default_acs().cloned() else {
        return refused(StatusCode::BAD_REQUEST, "The application has no ACS.");
    };
    if params
        .relay_state
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RELAY_STATE)
    {
        return refused(StatusCode::BAD_REQUEST, "RelayState is too long.");
    }
    let now = state.store.clock().now_ms();
    let pending = Pending {
        app: app.id,
        request_id: None,
        acs: acs.location,
        relay_state: params.relay_state,
        signed_in_after: None,
        aws_role: params.role,
        expires_at: now + PENDING_LIFETIME_MS,
    };
    send_to_resume(&state, &pending)
}

/// The sealed request.
#[derive(Deserialize)]
pub struct ResumeParams {
    r: String,
}

/// `GET /saml/resume`: answers a checked request once the person is signed in.
pub async fn resume(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Query(params): Query<ResumeParams>,
) -> Response {
    let pending: Pending = match state
        .sealer
        .open(PENDING_CONTEXT, &params.r)
        .ok()
        .and_then(|plain| serde_json::from_slice(&plain).ok())
    {
        Some(p) => p,
        None => return refused(StatusCode::BAD_REQUEST, "The sign-in link is not valid."),
    };
    let now = state.store.clock().now_ms();
    if pending.expires_at <= now {
        return refused(
            StatusCode::BAD_REQUEST,
            "The sign-in took too long. Go back to the application and start again.",
        );
    }
    let here = format!("/saml/resume?r={}", url_encode(&params.r));
    let to_login = || see_other(&format!("/login?next={}", url_encode(&here)));
    let session = match session_token(&headers) {
        Some(token) => match state.signin.session(&token).await {
            Ok(s) => s,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let Some((session, user)) = session else {
        return to_login();
    };
    if pending
        .signed_in_after
        .is_some_and(|after| session.created_at < after)
    {
        return to_login();
    }
    if session.restriction.is_some() {
        return see_other("/account/security");
    }
    match respond(&state, &ctx, &session, &user, &pending, &here).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Conditional access, then the signed response (or a refusal) for a signed-in person.
async fn respond(
    state: &AppState,
    ctx: &RequestContext,
    session: &Session,
    user: &User,
    pending: &Pending,
    here: &str,
) -> Result<Response, ApiError> {
    let app = state.store.get_application(&pending.app).await?;
    let Some(settings) = sso::settings_of(&app) else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "The application is no longer set up for SAML sign-on.",
        ));
    };
    let decision = state
        .signin
        .authorize_app(session, user, &app.app_id, ctx)
        .await?;
    match decision.outcome {
        CaOutcome::Allow => {}
        CaOutcome::Grant => {
            return Ok(see_other(&format!(
                "/account/verify?next={}",
                url_encode(here)
            )))
        }
        CaOutcome::Block => {
            let why = format!(
                "blocked by conditional access: {}",
                decision.blocking.join(", ")
            );
            return refuse(
                state,
                ctx,
                user,
                &app,
                pending,
                Refusal::RequestDenied,
                &why,
            )
            .await;
        }
    }
    let assertion = match sso::decide(&state.store, user, &settings, pending.aws_role.as_deref())
        .await?
    {
        sso::Decision::Issue(a) => a,
        sso::Decision::Refuse(why @ sso::Refused::NoAwsRole) => {
            let why = why.to_string();
            refuse(
                state,
                ctx,
                user,
                &app,
                pending,
                Refusal::RequestDenied,
                &why,
            )
            .await?;
            return Ok(refused(
                StatusCode::FORBIDDEN,
                "You hold no AWS role that this application grants. Ask for one, or activate an eligible role first.",
            ));
        }
        sso::Decision::Refuse(why) => {
            let why = why.to_string();
            return refuse(
                state,
                ctx,
                user,
                &app,
                pending,
                Refusal::RequestDenied,
                &why,
            )
            .await;
        }
    };
    // Each request is answered once: a replayed request id gets nothing.
    if let Some(id) = &pending.request_id {
        let once = format!("saml:{}:{id}", app.app_id);
        if !state
            .store
            .use_once(&once, pending.expires_at + MAX_SKEW_MS)
            .await?
        {
            return Ok(refused(
                StatusCode::BAD_REQUEST,
                "This sign-in request was answered already.",
            ));
        }
    }
    let keys = state.saml.ring.current().await?;
    let now = state.store.clock().now_ms();
    let id = |_: ()| new_id().map_err(|e| ApiError::bad_request(e.to_string()));
    let params = ResponseParams {
        response_id: id(())?,
        assertion_id: id(())?,
        issue_instant: from_ms(now),
        issuer: state.saml.entity_id.clone(),
        destination: pending.acs.clone(),
        in_response_to: pending.request_id.clone(),
        audience: app.app_id.clone(),
        name_id: assertion.name_id,
        name_id_format: assertion.name_id_format,
        session_index: session_index(&session.info.id),
        // AWS also reads this as the end of the console session; with a time-bound role it
        // ends the session when the activation does, whatever DurationSeconds a CLI asks for.
        session_not_on_or_after: assertion
            .aws_time_left_secs
            .map(|left| from_ms(now + i64::from(left) * 1000)),
        authn_instant: from_ms(session.created_at),
        authn_context_class_ref: if session.mfa_at.is_some() {
            "https://refeds.org/profile/mfa".into()
        } else {
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into()
        },
        // A minute of leeway for SP clocks that run behind.
        not_before: from_ms(now - 60_000),
        not_on_or_after: from_ms(now + i64::from(settings.assertion_lifetime_seconds) * 1000),
        attributes: assertion.attributes,
        sign_assertion: settings.sign_assertion,
        sign_response: settings.sign_response,
    };
    let xml = build_response(&params, &keys.signer)
        .map_err(|e| ApiError::bad_request(format!("cannot build the response: {e}")))?;
    let attribute_names: Vec<&str> = params.attributes.iter().map(|a| a.name.as_str()).collect();
    state
        .store
        .record_event(issue_event(
            ctx,
            user,
            &app,
            Outcome::Success,
            None,
            json!({
                "protocol": "saml",
                "inResponseTo": pending.request_id,
                "assertionId": params.assertion_id,
                "attributes": attribute_names,
                "awsRoles": assertion.aws_roles,
                "conditionalAccess": decision.log,
            }),
        ))
        .await?;
    post_form(&pending.acs, &xml, pending.relay_state.as_deref())
}

/// Posts a status response without an assertion, and records why.
async fn refuse(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    app: &Application,
    pending: &Pending,
    refusal: Refusal,
    why: &str,
) -> Result<Response, ApiError> {
    state
        .store
        .record_event(issue_event(
            ctx,
            user,
            app,
            Outcome::Failure,
            Some(why),
            json!({ "protocol": "saml", "inResponseTo": pending.request_id }),
        ))
        .await?;
    let keys = state.saml.ring.current().await?;
    let xml = build_status_response(
        &StatusParams {
            response_id: new_id().map_err(|e| ApiError::bad_request(e.to_string()))?,
            issue_instant: from_ms(state.store.clock().now_ms()),
            issuer: state.saml.entity_id.clone(),
            destination: pending.acs.clone(),
            in_response_to: pending.request_id.clone(),
            refusal,
            message: Some(why.into()),
        },
        &keys.signer,
    )
    .map_err(|e| ApiError::bad_request(format!("cannot build the response: {e}")))?;
    post_form(&pending.acs, &xml, pending.relay_state.as_deref())
}

/// The session as SPs see it: a digest, so that the session id itself never leaves.
fn session_index(session_id: &str) -> String {
    let digest = Sha256::digest(session_id.as_bytes());
    format!("_{}", hex::encode(&digest[..16]))
}

fn issue_event(
    ctx: &RequestContext,
    user: &User,
    app: &Application,
    result: Outcome,
    reason: Option<&str>,
    details: serde_json::Value,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "federation".into(),
        activity: "saml.response".into(),
        initiated_by: Actor {
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
            ip_address: ctx.ip.map(|i| i.to_string()),
            user_agent: ctx.user_agent.clone(),
        },
        target: Some(Target {
            kind: "application".into(),
            id: app.app_id.clone(),
            display_name: Some(app.display_name.clone()),
        }),
        result,
        result_reason: reason.map(str::to_string),
        before: None,
        after: Some(details),
    }
}

/// The auto-submitting form, with a CSP that lets exactly this form post to the SP.
fn post_form(acs: &str, xml: &str, relay_state: Option<&str>) -> Result<Response, ApiError> {
    // 160 random bits in characters a CSP nonce allows.
    let nonce = new_id().map_err(|e| ApiError::bad_request(e.to_string()))?;
    let html = trustplane_saml::post_form(acs, &STANDARD.encode(xml), relay_state, &nonce);
    let mut response = (StatusCode::OK, html).into_response();
    let origin = url_origin(acs).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; form-action {origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// Body of `POST /api/v1/saml/signingKeys/rotate`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old certificate stays in the metadata (default 168 hours), so SPs can
    /// import the new one first.
    overlap_hours: Option<u32>,
}

/// Makes a new SAML signing key; the old certificate stays published for the overlap.
#[utoipa::path(post, path = "/api/v1/saml/signingKeys/rotate", tag = "federation", request_body = RotateKey,
    responses((status = 200, description = "the new key's id"), (status = 403)))]
pub async fn rotate_signing_key(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RotateKey>,
) -> ApiResult<Response> {
    caller
        .require(&state, Permission::ApplicationsWrite)
        .await?;
    let hours = u64::from(body.overlap_hours.unwrap_or(168));
    let id = state
        .saml
        .ring
        .rotate(&caller.actor, Duration::from_secs(hours * 3600))
        .await?;
    Ok(axum::Json(json!({ "id": id, "overlapHours": hours })).into_response())
}
