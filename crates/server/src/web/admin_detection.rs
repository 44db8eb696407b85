//! The console's detection pages: a person's timeline and the incidents. Both need
//! `auditLogs/read`, checked (and a refusal audited) like the audit page.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use trustplane_console::admin as view;
use trustplane_console::detection::{self, IncidentRow, TimelineRow};
use trustplane_monitor::timeline::{person_timeline, TimelineQuery};

use super::account::SignedIn;
use super::admin::auditor;
use super::html::page;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/{id}/timeline", get(timeline))
        .route("/admin/incidents", get(incidents))
}

/// Entries a timeline page shows.
const TIMELINE_PAGE: usize = 100;
/// Incidents the list shows.
const INCIDENTS_SHOWN: usize = 200;

#[derive(Deserialize)]
pub struct TimelineParams {
    cursor: Option<String>,
}

async fn timeline(
    State(state): State<AppState>,
    me: SignedIn,
    uri: Uri,
    Path(id): Path<String>,
    Query(p): Query<TimelineParams>,
) -> Response {
    if let Err(r) = auditor(&state, me, &uri, "GET").await {
        return r;
    }
    let user = match state.store.get_user(&id).await {
        Ok(u) => u,
        Err(_) => {
            return page(
                StatusCode::NOT_FOUND,
                "Not found",
                &view::refused("There is no such user."),
            )
        }
    };
    let query = TimelineQuery {
        top: TIMELINE_PAGE,
        cursor: p.cursor,
        ..TimelineQuery::default()
    };
    let found = match person_timeline(&state.store, &user.id, &query).await {
        Ok(f) => f,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows: Vec<TimelineRow<'_>> = found
        .value
        .iter()
        .map(|e| TimelineRow {
            time: &e.time,
            source: e.source.as_str(),
            category: &e.category,
            activity: &e.activity,
            result: &e.result,
            ip: e.ip_address.as_deref().unwrap_or(""),
            summary: &e.summary,
        })
        .collect();
    let next = found.next.map(|c| {
        format!(
            "/admin/users/{}/timeline?cursor={}",
            trustplane_idp::url_encode(&user.id),
            trustplane_idp::url_encode(&c)
        )
    });
    let body = detection::timeline(&user.user_principal_name, &user.id, &rows, next.as_deref());
    page(StatusCode::OK, "Timeline", &body)
}

async fn incidents(State(state): State<AppState>, me: SignedIn, uri: Uri) -> Response {
    if let Err(r) = auditor(&state, me, &uri, "GET").await {
        return r;
    }
    let list = match state
        .store
        .list_incidents(None, None, INCIDENTS_SHOWN)
        .await
    {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let last: Vec<String> = list
        .iter()
        .map(|i| i.last_activity_date_time.to_string())
        .collect();
    let rows: Vec<IncidentRow<'_>> = list
        .iter()
        .zip(&last)
        .map(|(i, last)| IncidentRow {
            id: &i.id,
            title: &i.display_name,
            severity: &i.severity,
            status: &i.status,
            alerts: i.alert_count,
            owner: i.assigned_to.as_deref().unwrap_or(""),
            last_activity: last,
        })
        .collect();
    page(StatusCode::OK, "Incidents", &detection::incidents(&rows))
}
