//! The HTTP side of the identity provider: the bindings, signing-key rotation and the
//! auto-post form. What to answer is decided by [`trustplane_idp::saml_app::flow`].

use std::time::Duration;

use axum::extract::{Form, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use trustplane_model::Permission;
use trustplane_saml::{new_id, IdpMetadata};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;
use crate::web::html::{page, see_other};
use crate::web::login::{session_token, url_encode};
use trustplane_idp::saml_app::settings::{url_origin, NAMEID_EMAIL, NAMEID_PERSISTENT};
use trustplane_idp::saml_app::{RequestSignature, SamlError, Step};

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
        &trustplane_console::protocol::saml_refused(why),
    )
}

/// Renders a step of the flow.
fn render(step: Result<Step, SamlError>) -> Response {
    match step {
        Ok(Step::Refuse { status, message }) => refused(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &message,
        ),
        Ok(Step::Continue(path)) => see_other(&path),
        Ok(Step::SignIn { next }) => see_other(&format!("/login?next={}", url_encode(&next))),
        Ok(Step::StepUp { next }) => {
            see_other(&format!("/account/verify?next={}", url_encode(&next)))
        }
        Ok(Step::Post {
            acs,
            xml,
            relay_state,
        }) => post_form(&acs, &xml, relay_state.as_deref()).unwrap_or_else(|e| e.into_response()),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /saml/sso`: an AuthnRequest by the HTTP-Redirect binding.
pub async fn sso_redirect(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match trustplane_saml::parse_redirect(query.as_deref().unwrap_or("")) {
        Ok(r) => {
            let signature = r
                .signature
                .map_or(RequestSignature::None, RequestSignature::Redirect);
            render(state.saml.accept(r.request, r.relay_state, signature).await)
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
            render(state.saml.accept(r.request, r.relay_state, signature).await)
        }
        Err(e) => refused(
            StatusCode::BAD_REQUEST,
            &format!("The request is not valid: {e}."),
        ),
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
    render(
        state
            .saml
            .start(&app, params.relay_state, params.role)
            .await,
    )
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
    let session = session_token(&headers);
    render(
        state
            .saml
            .resume(&state.signin, &ctx, &params.r, session.as_deref())
            .await,
    )
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
