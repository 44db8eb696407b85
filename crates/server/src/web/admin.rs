//! The admin console's pages. The signed-in person acts with the roles they hold now, through
//! the same engine functions as the API (`idp::admin`, `idp::directory`): a page never
//! allows more than the API would, and every refusal is audited by the engine.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use trustplane_console::admin::{self as view, USERS_PATH};
use trustplane_idp::admin::{AccessError, Admin};
use trustplane_idp::directory::{self, DirectoryError};
use trustplane_model::Permission;
use trustplane_store::AuditQuery;

use super::account::SignedIn;
use super::cookies::{self, CsrfForm};
use super::html::{page, see_other};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/users", get(users))
        .route("/admin/users/{id}", get(user))
        .route("/admin/users/{id}/{action}", post(user_action))
        .route("/admin/audit", get(audit))
        .route("/admin/audit/verify", post(verify))
}

/// Most users a search shows.
const SEARCH_LIMIT: usize = 50;
/// Audit entries per page.
const AUDIT_PAGE: usize = 100;
/// Longest search or filter text read.
const MAX_TEXT: usize = 256;

/// The signed-in person as an administrator, with the roles they hold now.
async fn admin_of(
    state: &AppState,
    me: SignedIn,
    uri: &Uri,
    method: &str,
) -> Result<Admin, Response> {
    let roles = match state.store.effective_roles(&me.user.id).await {
        Ok(r) => r,
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    Ok(Admin {
        user: me.user,
        roles,
        actor: me.actor,
        request: format!("{method} {}", uri.path()),
    })
}

/// The console page for a refusal or failure of the engine.
fn failure(e: impl Into<DirectoryError>) -> Response {
    match e.into() {
        DirectoryError::Access(AccessError::Denied(reason)) => page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            &view::refused(&reason),
        ),
        other => ApiError::from(other).into_response(),
    }
}

/// The caller, if they may read the directory at all (the overview's check; the other pages'
/// engine functions check for themselves).
async fn reader(state: &AppState, me: SignedIn, uri: &Uri) -> Result<Admin, Response> {
    let admin = admin_of(state, me, uri, "GET").await?;
    admin
        .require(&state.store, Permission::DirectoryRead)
        .await
        .map_err(failure)?;
    Ok(admin)
}

async fn overview(State(state): State<AppState>, me: SignedIn, uri: Uri) -> Response {
    let admin = match reader(&state, me, &uri).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let roles: Vec<String> = admin.roles.iter().map(|r| r.display_name.clone()).collect();
    let body = view::overview(&admin.user.user_principal_name, &roles);
    page(StatusCode::OK, "Admin console", &body)
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    search: String,
}

async fn users(
    State(state): State<AppState>,
    me: SignedIn,
    uri: Uri,
    Query(q): Query<Search>,
) -> Response {
    let admin = match admin_of(&state, me, &uri, "GET").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let search: String = q.search.trim().chars().take(MAX_TEXT).collect();
    match directory::find_users(&state.store, &admin, &search, SEARCH_LIMIT).await {
        Ok((found, more)) => page(StatusCode::OK, "Users", &view::users(&search, &found, more)),
        Err(e) => failure(e),
    }
}

/// A user's page with `error` (and its status) from the last action.
async fn user_page(
    state: &AppState,
    headers: &HeaderMap,
    admin: &Admin,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    let o = match directory::user_overview(&state.store, admin, id).await {
        Ok(o) => o,
        Err(DirectoryError::Store(trustplane_store::StoreError::NotFound { .. })) => {
            return page(
                StatusCode::NOT_FOUND,
                "Not found",
                &view::refused("There is no such user."),
            )
        }
        Err(e) => return failure(e),
    };
    let (csrf, fresh) = cookies::csrf_token(headers);
    let (status, message) = match &error {
        Some((s, m)) => (*s, Some(m.as_str())),
        None => (StatusCode::OK, None),
    };
    let body = view::user_detail(&csrf, &o.user, &o.groups, &o.roles, o.sessions, message);
    cookies::with_csrf(page(status, &o.user.display_name, &body), &csrf, fresh)
}

async fn user(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let admin = match admin_of(&state, me, &uri, "GET").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    user_page(&state, &headers, &admin, &id, None).await
}

async fn user_action(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    let admin = match admin_of(&state, me, &uri, "POST").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let done = match action.as_str() {
        "disable" | "enable" => {
            let enabled = action == "enable";
            let change =
                directory::set_enabled(&state.store, &state.signin, &admin, &id, enabled).await;
            if change.as_ref().is_ok_and(|c| c.disabled()) {
                crate::routes::users::take_back_grants(&state).await;
            }
            change.map(|_| ())
        }
        "revoke" => directory::revoke_sessions(&state.store, &admin, &id)
            .await
            .map(|_| ()),
        _ => {
            return page(
                StatusCode::NOT_FOUND,
                "Not found",
                &view::refused("There is no such action."),
            )
        }
    };
    match done {
        Ok(()) => see_other(&format!("{USERS_PATH}/{}", trustplane_idp::url_encode(&id))),
        // A refusal (403 with the engine's reason) or a conflict, shown on the user's page.
        Err(e) => {
            let e = ApiError::from(e);
            user_page(
                &state,
                &headers,
                &admin,
                &id,
                Some((e.status(), e.detail().to_string())),
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct AuditParams {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    category: String,
    after: Option<i64>,
}

/// The audit page, with the chain check's outcome when one was asked for.
async fn audit_page(
    state: &AppState,
    headers: &HeaderMap,
    q: &AuditParams,
    check: Option<&view::ChainCheck>,
) -> Response {
    let text = |s: &str| -> String { s.trim().chars().take(MAX_TEXT).collect() };
    let (activity, category) = (text(&q.activity), text(&q.category));
    let query = AuditQuery {
        activity: Some(activity.clone()).filter(|a| !a.is_empty()),
        category: Some(category.clone()).filter(|c| !c.is_empty()),
        top: AUDIT_PAGE,
        after: q.after,
        ..AuditQuery::default()
    };
    let entries = match state.store.list_audit(&query).await {
        Ok(p) => p.items,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let next = (entries.len() == AUDIT_PAGE)
        .then(|| entries.last().map(|e| e.sequence))
        .flatten()
        .map(|after| {
            format!(
                "/admin/audit?activity={}&category={}&after={after}",
                trustplane_idp::url_encode(&activity),
                trustplane_idp::url_encode(&category)
            )
        });
    let (csrf, fresh) = cookies::csrf_token(headers);
    let filter = view::AuditFilter {
        activity: &activity,
        category: &category,
    };
    let body = view::audit(&csrf, &filter, &entries, next.as_deref(), check);
    cookies::with_csrf(page(StatusCode::OK, "Audit", &body), &csrf, fresh)
}

/// Signs in, then checks the caller may read the audit trail.
pub(super) async fn auditor(
    state: &AppState,
    me: SignedIn,
    uri: &Uri,
    method: &str,
) -> Result<(), Response> {
    let admin = admin_of(state, me, uri, method).await?;
    admin
        .require(&state.store, Permission::AuditRead)
        .await
        .map_err(failure)
}

async fn audit(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<AuditParams>,
) -> Response {
    if let Err(r) = auditor(&state, me, &uri, "GET").await {
        return r;
    }
    audit_page(&state, &headers, &q, None).await
}

async fn verify(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&headers, &f.csrf) {
        return r;
    }
    if let Err(r) = auditor(&state, me, &uri, "POST").await {
        return r;
    }
    let report = match state.store.verify_audit_chain().await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let check = view::ChainCheck {
        entries: report.entries_checked,
        problem: report.first_problem.map(|p| (p.sequence, p.reason)),
    };
    audit_page(&state, &headers, &AuditParams::default(), Some(&check)).await
}
