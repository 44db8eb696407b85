//! `/api/v1/audit`: the audit trail, by time, actor, target and activity.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use trustplane_model::{to_ms, Event, Permission};
use trustplane_store::AuditQuery;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/audit/verify", get(verify_audit))
        .route("/api/v1/auditLogs/signIns", get(list_sign_ins))
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    #[serde(default, with = "time::serde::rfc3339::option")]
    from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    to: Option<OffsetDateTime>,
    actor: Option<String>,
    target: Option<String>,
    activity: Option<String>,
    category: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
    #[serde(rename = "$skiptoken")]
    skip_token: Option<String>,
}

/// The sign-in log: every attempt, newest last; `actor` filters by user id.
#[utoipa::path(get, path = "/api/v1/auditLogs/signIns", tag = "audit",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("actor" = Option<String>, Query),
           ("$top" = Option<usize>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, body = Vec<Event>)))]
pub async fn list_sign_ins(
    state: State<AppState>,
    caller: Caller,
    Query(mut p): Query<AuditParams>,
) -> ApiResult<impl IntoResponse> {
    p.category = Some("signIn".into());
    audit_page(state, caller, p, "/api/v1/auditLogs/signIns").await
}

/// Lists audit entries in order; `from`/`to` are RFC 3339 times, `actor`/`target` object ids.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("actor" = Option<String>, Query),
           ("target" = Option<String>, Query), ("activity" = Option<String>, Query),
           ("$top" = Option<usize>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, body = Vec<Event>)))]
pub async fn list_audit(
    state: State<AppState>,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> ApiResult<impl IntoResponse> {
    audit_page(state, caller, p, "/api/v1/audit").await
}

/// One page of the audit trail; the next link repeats the filters.
async fn audit_page(
    State(state): State<AppState>,
    caller: Caller,
    p: AuditParams,
    path: &str,
) -> ApiResult<axum::Json<Value>> {
    caller.require(&state, Permission::AuditRead).await?;
    let top = p.top.unwrap_or(100);
    if top == 0 || top > 1000 {
        return Err(ApiError::bad_request("$top must be 1 to 1000"));
    }
    let after =
        match &p.skip_token {
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                ApiError::bad_request("$skiptoken is not a token this server issued")
            })?),
            None => None,
        };
    let q = AuditQuery {
        from: p.from.map(to_ms),
        to: p.to.map(to_ms),
        actor: p.actor.clone(),
        target: p.target.clone(),
        activity: p.activity.clone(),
        category: p.category.clone(),
        top,
        after,
    };
    let page = state.store.list_audit(&q).await?;
    let mut body = json!({ "value": page.items });
    if let Some(next) = page.next {
        let mut link = format!("{path}?$top={top}&$skiptoken={next}");
        for (k, v) in [
            ("actor", &p.actor),
            ("target", &p.target),
            ("activity", &p.activity),
            ("category", &p.category),
        ] {
            if let Some(v) = v {
                link.push_str(&format!("&{k}={}", v.replace(['&', '#', ' '], "")));
            }
        }
        for (k, t) in [("from", p.from), ("to", p.to)] {
            let utc = t.map(|t| t.to_offset(time::UtcOffset::UTC));
            if let Some(text) = utc.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }) {
                link.push_str(&format!("&{k}={text}"));
            }
        }
        body["@odata.nextLink"] = Value::String(link);
    }
    Ok(axum::Json(body))
}

/// Checks the whole chain and names the first entry that was altered or removed.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200)))]
pub async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(state.store.verify_audit_chain().await?))
}
