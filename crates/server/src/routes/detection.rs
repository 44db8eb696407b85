//! Detection over HTTP: log push, alerts, responses, response policies, and a person's
//! cross-cloud timeline.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_model::Permission;
use trustplane_monitor::timeline::{self, ExportFormat, Subject, TimelineQuery};
use trustplane_store::ResponsePolicy;

use crate::auth::Caller;
use crate::detection::IngestError;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/detect/ingest", post(ingest))
        .route("/api/v1/detect/ownEvents", post(own_events))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/acknowledge", post(acknowledge))
        .route("/api/v1/alerts/{id}/resolve", post(resolve))
        .route("/api/v1/alerts/{id}/respond", post(respond))
        .route(
            "/api/v1/responsePolicies",
            get(list_policies).post(create_policy),
        )
        .route("/api/v1/users/{id}/timeline", get(timeline))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// A name for the source, shown as the records' origin.
    source: Option<String>,
}

/// Pushes log data: CloudTrail `{"Records":[...]}`, Azure `{"records":[...]}`, a JSON array or
/// NDJSON, gzipped or not. Malformed records are counted, never fatal; data that inflates past
/// the push limit or holds too many records is refused whole with 413.
#[utoipa::path(post, path = "/api/v1/detect/ingest", tag = "detection", params(("source" = Option<String>, Query)),
    responses((status = 200, description = "records, malformed, resolved, matches, newAlerts"), (status = 400), (status = 413)))]
pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<IngestParams>,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let source = p.source.unwrap_or_else(|| "push".into());
    let limits = state.detection.limits().push;
    match state.detection.ingest(body.to_vec(), &source, limits).await {
        Ok(report) => Ok(axum::Json(report)),
        Err(IngestError::Read(e)) if e.is_over_limit() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the pushed log data was refused: {e}"),
        )),
        Err(IngestError::Read(e)) => Err(ApiError::bad_request(format!(
            "the pushed log data cannot be read: {e}"
        ))),
        Err(IngestError::Store(e)) => Err(e.into()),
    }
}

/// Runs Trustplane's own new sign-in and audit events through the rules now (a background
/// job also does this every few seconds).
#[utoipa::path(post, path = "/api/v1/detect/ownEvents", tag = "detection", responses((status = 200)))]
pub async fn own_events(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    Ok(axum::Json(state.detection.process_own_events().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    status: Option<String>,
    person: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// Alerts, newest first; filter by `status` and `person` (user id or UPN).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "detection", responses((status = 200)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<AlertParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    let person = match &p.person {
        Some(x) => Some(state.store.get_user(x).await?.id),
        None => None,
    };
    let alerts = state
        .store
        .list_alerts(p.status.as_deref(), person.as_deref(), p.top.unwrap_or(100))
        .await?;
    Ok(axum::Json(json!({ "value": alerts })))
}

/// One alert with its evidence.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "detection", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(state.store.get_alert(&id).await?))
}

/// Marks an alert as seen.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "detection", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    Ok(axum::Json(
        state
            .store
            .set_alert_status(&caller.actor, &id, "acknowledged")
            .await?,
    ))
}

/// Closes an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "detection", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    Ok(axum::Json(
        state
            .store
            .set_alert_status(&caller.actor, &id, "resolved")
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RespondBody {
    /// endSessions, disableUser, endElevations or webhook.
    action: String,
    /// For a one-off webhook.
    webhook_url: Option<String>,
}

/// Takes an action on an alert's person: end their sessions, disable them, or call a webhook.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/respond", tag = "detection", params(("id" = String, Path)), request_body = RespondBody,
    responses((status = 200), (status = 400), (status = 404)))]
pub async fn respond(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<RespondBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let alert = state.store.get_alert(&id).await?;
    // Taken by hand, ending someone's sessions or disabling them is the same change as
    // through the users API, and so needs the same tier (alerts can be raised by pushed logs).
    if let ("endSessions" | "disableUser", Some(person)) = (body.action.as_str(), &alert.person_id)
    {
        if let Ok(user) = state.store.get_user(person).await {
            caller
                .require_tier_over(&state.store, &user, "sessions or enabled state")
                .await?;
        }
    }
    let outcome = state
        .detection
        .act(
            &caller.actor,
            &alert,
            &body.action,
            body.webhook_url.as_deref(),
            None,
        )
        .await?;
    Ok(axum::Json(
        json!({ "action": body.action, "outcome": outcome }),
    ))
}

/// Response policies.
#[utoipa::path(get, path = "/api/v1/responsePolicies", tag = "detection", responses((status = 200)))]
pub async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    let policies: Vec<ResponsePolicy> = state
        .store
        .response_policies()
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    Ok(axum::Json(json!({ "value": policies })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateResponsePolicy {
    /// informational, low, medium, high or critical.
    min_level: String,
    /// Only this rule's alerts.
    rule_id: Option<String>,
    /// endSessions, disableUser, endElevations or webhook.
    action: String,
    /// Act at once (true) or offer the action (false).
    automatic: bool,
    /// For webhooks.
    webhook_url: Option<String>,
    /// For webhooks: the HMAC-SHA256 key (stored sealed, never returned).
    webhook_secret: Option<String>,
}

/// Adds a response policy.
#[utoipa::path(post, path = "/api/v1/responsePolicies", tag = "detection", request_body = CreateResponsePolicy, responses((status = 201), (status = 400)))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateResponsePolicy>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    if !["informational", "low", "medium", "high", "critical"].contains(&body.min_level.as_str()) {
        return Err(ApiError::bad_request(
            "minLevel must be informational, low, medium, high or critical",
        ));
    }
    if !["endSessions", "disableUser", "endElevations", "webhook"].contains(&body.action.as_str()) {
        return Err(ApiError::bad_request(
            "action must be endSessions, disableUser, endElevations or webhook",
        ));
    }
    if body.action == "webhook"
        && !body
            .webhook_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(ApiError::bad_request(
            "a webhook needs webhookUrl (http or https)",
        ));
    }
    let sealed = match &body.webhook_secret {
        Some(s) => Some(state.detection.seal_secret(s)?),
        None => None,
    };
    let policy = ResponsePolicy {
        id: String::new(),
        min_level: body.min_level,
        rule_id: body.rule_id,
        action: body.action,
        automatic: body.automatic,
        webhook_url: body.webhook_url,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(
            state
                .store
                .add_response_policy(&caller.actor, policy, sealed)
                .await?,
        ),
    ))
}

/// A person's activity across AWS, Azure and Trustplane, oldest first.
/// Query of `GET /api/v1/users/{id}/timeline`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// Entries at or after this time (RFC 3339).
    from: Option<String>,
    /// Entries before this time (RFC 3339).
    to: Option<String>,
    /// Comma-separated sources: trustplane, aws, azure.
    source: Option<String>,
    /// Comma-separated categories: signIn, federation, pim, cloudActivity, ...
    category: Option<String>,
    /// Page size (1 to 1000).
    top: Option<usize>,
    /// The `next` of the previous page.
    cursor: Option<String>,
    /// Export every entry in the window instead of a page: `ndjson` or `ocsf`.
    format: Option<String>,
}

/// A person's timeline across Trustplane, AWS and Azure, oldest first: a page, or with
/// `format` the whole window streamed as NDJSON (timeline entries, or OCSF events).
#[utoipa::path(get, path = "/api/v1/users/{id}/timeline", tag = "detection",
    params(("id" = String, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("source" = Option<String>, Query), ("category" = Option<String>, Query),
        ("top" = Option<usize>, Query), ("cursor" = Option<String>, Query), ("format" = Option<String>, Query)),
    responses((status = 200, description = "value and next; or NDJSON with `format`"), (status = 400), (status = 404)))]
pub async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<TimelineParams>,
    RawQuery(raw): RawQuery,
) -> ApiResult<axum::response::Response> {
    caller.require(&state, Permission::AuditRead).await?;
    let user = state.store.get_user(&id).await?;
    let format = p
        .format
        .as_deref()
        .map(ExportFormat::parse)
        .transpose()
        .map_err(ApiError::from)?;
    let top = if format.is_some() {
        Some(timeline::MAX_PAGE)
    } else {
        p.top
    };
    let query = TimelineQuery::parse(
        p.from.as_deref(),
        p.to.as_deref(),
        p.source.as_deref(),
        p.category.as_deref(),
        top,
        p.cursor,
    )
    .map_err(ApiError::from)?;
    let Some(format) = format else {
        let page = timeline::person_timeline(&state.store, &user.id, &query)
            .await
            .map_err(ApiError::from)?;
        let mut body = json!({ "value": page.value });
        if let Some(next) = page.next {
            // The same query with the new cursor, as every collection of the API pages.
            let mut pairs: Vec<&str> = raw
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
                .collect();
            let cursor = format!("cursor={next}");
            pairs.push(&cursor);
            body["@odata.nextLink"] = json!(format!(
                "/api/v1/users/{}/timeline?{}",
                user.id,
                pairs.join("&")
            ));
        }
        return Ok(axum::Json(body).into_response());
    };
    // The export streams page after page: memory stays at one page whatever the window holds.
    let subject = Subject {
        id: user.id.clone(),
        upn: user.user_principal_name.clone(),
    };
    let store = state.store.clone();
    let pages = futures_util::stream::unfold(Some(query), move |query| {
        let (store, subject, person) = (store.clone(), subject.clone(), user.id.clone());
        async move {
            let mut query = query?;
            match timeline::person_timeline(&store, &person, &query).await {
                Ok(page) => {
                    let lines = format.lines(&page.value, &subject);
                    let next = page.next.map(|c| {
                        query.cursor = Some(c);
                        query
                    });
                    Some((Ok::<_, std::io::Error>(Bytes::from(lines)), next))
                }
                Err(e) => {
                    // Headers are gone: cut the body short so the client sees an error.
                    tracing::error!(error = %e, "timeline export failed");
                    Some((
                        Err(std::io::Error::other("the timeline export failed")),
                        None,
                    ))
                }
            }
        }
    });
    let name = match format {
        ExportFormat::Ndjson => "timeline.ndjson",
        ExportFormat::Ocsf => "timeline.ocsf.ndjson",
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(pages),
    )
        .into_response())
}
