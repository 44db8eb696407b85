//! Privileged roles in the user portal: "My roles" (activate an eligible role, end an
//! activation, withdraw a request) and "Approvals" (decide on others' requests).
//!
//! The pages call the same PIM engine as the API; what the engine refuses is shown on the
//! page with the engine's status. A role that requires MFA is activated only from a session
//! whose second factor is recent; otherwise the user is sent to step up and comes back here.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use trustplane_model::{to_ms, ActivationRequest, RequestState};

use super::account::SignedIn;
use super::cookies;
use super::html::{page, see_other};
use super::login::url_encode;
use crate::context::{ClientApp, RequestContext};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::pim::{Channel, NewRequest, PimError, SessionMfa};
use crate::server::AppState;
use trustplane_console::roles::{
    self as view, Draft, APPROVALS_PATH as APPROVALS, ROLES_PATH as ROLES,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/roles", get(roles))
        .route("/account/roles/activate", post(activate))
        .route("/account/roles/{id}/deactivate", post(deactivate))
        .route("/account/roles/{id}/cancel", post(cancel))
        .route("/account/approvals", get(approvals))
        .route("/account/approvals/{id}/{decision}", post(decide))
}

/// Role ids to display names, for the roles a page mentions.
async fn role_names(state: &AppState, ids: impl Iterator<Item = &str>) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for id in ids {
        if names.contains_key(id) {
            continue;
        }
        let name = match state.store.get_role_definition(id).await {
            Ok(r) => r.display_name,
            Err(_) => id.to_string(),
        };
        names.insert(id.to_string(), name);
    }
    names
}

/// "My roles", with `error` (and its status) when the last action was refused.
async fn roles_page(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    error: Option<(StatusCode, String)>,
) -> Response {
    roles_page_with(state, me, headers, error, &Draft::default()).await
}

/// "My roles" with a draft filled into its role's form; with `error` (and its status) when the last action was refused.
async fn roles_page_with(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    error: Option<(StatusCode, String)>,
    draft: &Draft,
) -> Response {
    let uid = me.user.id.as_str();
    let loaded = async {
        let eligible = state.pim.eligible(uid).await?;
        let active = state
            .store
            .list_pim_requests(Some(uid), &[RequestState::Active])
            .await?;
        let pending = state
            .store
            .list_pim_requests(
                Some(uid),
                &[RequestState::PendingApproval, RequestState::Approved],
            )
            .await?;
        Ok::<_, trustplane_store::StoreError>((eligible, active, pending))
    };
    let (eligible, active, pending) = match loaded.await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(headers);
    let now = state.store.clock().now_ms();
    let names = role_names(
        state,
        active
            .iter()
            .chain(&pending)
            .map(|r| r.role_definition_id.as_str()),
    )
    .await;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());

    let eligible: Vec<view::Eligible> = eligible.iter().map(view::Eligible::from_graph).collect();
    let active: Vec<view::Active> = active
        .iter()
        .map(|r| view::Active {
            id: r.id.clone(),
            role_name: name(&r.role_definition_id),
            scope: r.directory_scope_id.clone(),
            seconds_left: r.end_date_time.map(|e| ((to_ms(e) - now) / 1000).max(0)),
        })
        .collect();
    let pending: Vec<view::Pending> = pending
        .iter()
        .map(|r| view::Pending {
            id: r.id.clone(),
            role_name: name(&r.role_definition_id),
            duration_seconds: r.duration_seconds,
            awaiting_approval: r.state == RequestState::PendingApproval,
        })
        .collect();
    let (status, message) = match &error {
        Some((s, m)) => (*s, Some(m.as_str())),
        None => (StatusCode::OK, None),
    };
    let body = view::my_roles(&csrf, message, &eligible, &active, &pending, draft);
    cookies::with_csrf(page(status, "My roles", &body), &csrf, fresh)
}

async fn roles(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Query(draft): Query<Draft>,
) -> Response {
    roles_page_with(&state, &me, &headers, None, &draft).await
}

/// The page to come back to after a step-up, with what the person typed (see `Draft`).
fn draft_next(role_id: &str, f: &ActivateForm) -> String {
    let mut next = format!("{ROLES}?role={}", url_encode(role_id));
    for (k, v) in [
        ("minutes", &f.minutes),
        ("justification", &f.justification),
        ("ticket", &f.ticket),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            next.push_str(&format!("&{k}={}", url_encode(v)));
        }
    }
    // The step-up page takes `next` up to 2048 characters; a draft never costs the way back.
    if next.len() > 1500 {
        next = format!("{ROLES}?role={}", url_encode(role_id));
    }
    next
}

/// The activation form.
#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
    role: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    minutes: Option<String>,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
}

/// A form with the CSRF token only, or with a comment.
#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: Option<String>,
}

/// The engine's refusal, or a store failure, as a message for the page.
fn refusal(e: impl Into<ApiError>) -> (StatusCode, String) {
    let e = e.into();
    (e.status(), e.detail().to_string())
}

async fn activate(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    me: SignedIn,
    Form(f): Form<ActivateForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    let minutes = match f
        .minutes
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(n) if n > 0 && n <= 30 * 24 * 60 => Some(n),
            _ => {
                let message = "Minutes must be a whole number above zero.".to_string();
                return roles_page(
                    &state,
                    &me,
                    &headers,
                    Some((StatusCode::BAD_REQUEST, message)),
                )
                .await;
            }
        },
    };
    let scope = f
        .scope
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/".into());
    // A role that needs a second factor takes the session's, when it is recent.
    let mfa = if state.signin.second_factor_is_recent(&me.session) {
        SessionMfa::Proven
    } else {
        SessionMfa::Absent
    };
    let channel = Channel {
        client: ClientApp::Browser,
        request: &ctx,
    };
    if mfa == SessionMfa::Absent {
        let role = match state.store.get_role_definition(&f.role).await {
            Ok(r) => r,
            Err(e) => {
                return roles_page(&state, &me, &headers, Some(refusal(e))).await;
            }
        };
        // The role's settings or conditional access want a second factor: step up first.
        match state.pim.mfa_needed(&me.user, &role, &scope, channel).await {
            Ok(true) => {
                let next = draft_next(&role.id, &f);
                return see_other(&format!("/account/verify?next={}", url_encode(&next)));
            }
            Ok(false) => {}
            Err(e) => return roles_page(&state, &me, &headers, Some(refusal(e))).await,
        }
    }
    let body = NewRequest {
        role_definition_id: f.role,
        directory_scope_id: Some(scope),
        duration_seconds: minutes.map(|m| m * 60),
        start_date_time: None,
        justification: f.justification,
        ticket_number: f.ticket,
        mfa_code: None,
        recovery_code: None,
    };
    match state
        .pim
        .request(&me.user, &me.actor, body, mfa, channel)
        .await
    {
        Ok(_) => see_other(ROLES),
        Err(e) => roles_page(&state, &me, &headers, Some(refusal(e))).await,
    }
}

/// Ends one of the user's activations, or withdraws one of their requests.
async fn own_request(
    state: &AppState,
    me: SignedIn,
    headers: &HeaderMap,
    id: &str,
    csrf: &str,
    cancel: bool,
) -> Response {
    if let Some(r) = me.csrf_refusal(headers, csrf) {
        return r;
    }
    let done: Result<ActivationRequest, PimError> = if cancel {
        state.pim.cancel(&me.user, &me.actor, id).await
    } else {
        state.pim.end_early(&me.user, &me.actor, id, false).await
    };
    match done {
        Ok(_) => see_other(ROLES),
        Err(e) => roles_page(state, &me, headers, Some(refusal(e))).await,
    }
}

async fn deactivate(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    own_request(&state, me, &headers, &id, &f.csrf, false).await
}

async fn cancel(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    own_request(&state, me, &headers, &id, &f.csrf, true).await
}

/// "Approvals", with `error` when the last decision was refused.
async fn approvals_page(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    error: Option<(StatusCode, String)>,
) -> Response {
    let waiting = match state.pim.approvals_for(&me.user).await {
        Ok(w) => w,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (csrf, fresh) = cookies::csrf_token(headers);
    let names = role_names(state, waiting.iter().map(|r| r.role_definition_id.as_str())).await;
    let mut rows = Vec::with_capacity(waiting.len());
    for r in &waiting {
        let who = match state.store.get_user(&r.principal_id).await {
            Ok(u) => u.user_principal_name,
            Err(_) => r.principal_id.clone(),
        };
        rows.push(view::Approval {
            id: r.id.clone(),
            who,
            role_name: names
                .get(&r.role_definition_id)
                .cloned()
                .unwrap_or_else(|| r.role_definition_id.clone()),
            duration_seconds: r.duration_seconds,
            justification: r.justification.clone().unwrap_or_default(),
            ticket: r.ticket_number.clone().unwrap_or_default(),
        });
    }
    let (status, message) = match &error {
        Some((s, m)) => (*s, Some(m.as_str())),
        None => (StatusCode::OK, None),
    };
    let body = view::approvals(&csrf, message, &rows);
    cookies::with_csrf(page(status, "Approvals", &body), &csrf, fresh)
}

async fn approvals(State(state): State<AppState>, me: SignedIn, headers: HeaderMap) -> Response {
    approvals_page(&state, &me, &headers, None).await
}

async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    me: SignedIn,
    Path((id, decision)): Path<(String, String)>,
    Form(f): Form<CommentForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    let approve = match decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return ApiError::not_found("no such decision").into_response(),
    };
    let comment = f.comment.filter(|c| !c.trim().is_empty());
    match state
        .pim
        .decide(&me.user, &me.actor, &id, approve, comment)
        .await
    {
        Ok(_) => see_other(APPROVALS),
        Err(e) => approvals_page(&state, &me, &headers, Some(refusal(e))).await,
    }
}
