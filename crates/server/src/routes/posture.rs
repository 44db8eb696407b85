//! `/api/v1/posture`: scans uploaded as inventories (from `trustplane scan` or a collector),
//! assessed here against the built-in CIS benchmarks, and their findings over time.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_model::Permission;
use trustplane_posture::{Inventory, ResourceDoc};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/posture/scans", post(upload_scan))
        .route("/api/v1/posture/findings", get(list_findings))
}

/// Reads resource documents from a JSON array or NDJSON.
fn documents(body: &[u8]) -> ApiResult<Vec<ResourceDoc>> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("resource documents: {e}")));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| ApiError::bad_request(format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Assesses an inventory and records its findings; returns what changed and the scores.
#[utoipa::path(post, path = "/api/v1/posture/scans", tag = "posture", request_body(content = String, description = "resource documents, JSON array or NDJSON"),
    responses((status = 200, description = "summary and section scores"), (status = 400)))]
pub async fn upload_scan(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let docs = documents(&body)?;
    if docs.is_empty() {
        return Err(ApiError::bad_request("the inventory is empty"));
    }
    let inventory = Inventory::from_docs(docs);
    let (summary, accounts, scores) =
        trustplane_cloudops::assess_and_record(&state.store, &caller.actor, &inventory).await?;
    Ok(axum::Json(
        json!({ "summary": summary, "accounts": accounts, "sections": scores }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingParams {
    status: Option<String>,
    account: Option<String>,
    check: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// Findings with first-seen, last-seen and resolved times; filter by status (PASS, FAIL,
/// MANUAL, ERROR, RESOLVED), account and check.
#[utoipa::path(get, path = "/api/v1/posture/findings", tag = "posture", responses((status = 200)))]
pub async fn list_findings(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<FindingParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    let list = state
        .store
        .list_findings(
            p.status.as_deref(),
            p.account.as_deref(),
            p.check.as_deref(),
            p.top.unwrap_or(500),
        )
        .await?;
    Ok(axum::Json(json!({ "value": list })))
}
