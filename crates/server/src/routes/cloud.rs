//! Connected clouds over HTTP: AWS accounts and Azure subscriptions scanned on a schedule
//! (`/api/v1/posture/accounts`, `/api/v1/posture/schedule`), and S3 prefixes of CloudTrail
//! objects polled for detection (`/api/v1/detect/sources`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_model::Permission;
use trustplane_store::{NewCloudAccount, NewLogSource, StoreError};

use crate::auth::Caller;
use crate::cloud::{check_aws, check_guid, check_url};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/posture/accounts",
            get(list_accounts).post(create_account),
        )
        .route(
            "/api/v1/posture/accounts/{id}",
            get(get_account).delete(delete_account),
        )
        .route("/api/v1/posture/accounts/{id}/scan", post(scan_account))
        .route("/api/v1/posture/accounts/{id}/scans", get(list_scans))
        .route(
            "/api/v1/posture/schedule",
            get(get_schedule).put(set_schedule),
        )
        .route(
            "/api/v1/detect/sources",
            get(list_sources).post(create_source),
        )
        .route(
            "/api/v1/detect/sources/{id}",
            get(get_source).delete(delete_source),
        )
        .route("/api/v1/detect/sources/{id}/poll", post(poll_source))
}

/// The OpenAPI description of these routes, merged into the node's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_accounts,
        create_account,
        get_account,
        delete_account,
        scan_account,
        list_scans,
        get_schedule,
        set_schedule,
        list_sources,
        create_source,
        get_source,
        delete_source,
        poll_source,
    ),
    components(schemas(ConnectAccount, Schedule, CreateLogSource))
)]
pub struct CloudApi;

/// A connection to make: an AWS account (`accountId`, optional `roleArn`, `regions`,
/// `endpointUrl`) or an Azure subscription (`subscriptionId`, `tenantId`, `clientId`,
/// `clientSecret`, optional endpoints).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectAccount {
    /// `aws` or `azure`.
    provider: String,
    /// A readable name [default: the account or subscription id].
    display_name: Option<String>,
    /// Scanned on the schedule [default: true].
    enabled: Option<bool>,
    /// AWS: the 12-digit account id.
    account_id: Option<String>,
    /// AWS: a role of that account to assume; without it the node's own credentials are used.
    role_arn: Option<String>,
    /// AWS: regions to scan [default: every enabled region].
    regions: Option<Vec<String>>,
    /// AWS: another endpoint (a VPC endpoint, an emulator).
    endpoint_url: Option<String>,
    /// Azure: the subscription id.
    subscription_id: Option<String>,
    /// Azure: the directory (tenant) id.
    tenant_id: Option<String>,
    /// Azure: the service principal's application (client) id.
    client_id: Option<String>,
    /// Azure: its client secret (stored sealed, never returned).
    client_secret: Option<String>,
    /// Azure: Resource Manager endpoint.
    arm_endpoint: Option<String>,
    /// Azure: Microsoft Graph endpoint.
    graph_endpoint: Option<String>,
    /// Azure: token endpoint.
    login_endpoint: Option<String>,
}

fn field_error(field: &'static str, message: &str) -> ApiError {
    ApiError::from(StoreError::Invalid {
        field,
        message: message.to_string(),
    })
}

/// Validates a connection and turns it into what the store keeps (the secret sealed).
fn new_account(state: &AppState, b: ConnectAccount) -> ApiResult<NewCloudAccount> {
    let only = |present: bool, field: &'static str, provider: &str| {
        if present {
            Err(field_error(
                field,
                &format!("is not a setting of {provider}"),
            ))
        } else {
            Ok(())
        }
    };
    match b.provider.as_str() {
        "aws" => {
            only(b.subscription_id.is_some(), "subscriptionId", "aws")?;
            only(b.tenant_id.is_some(), "tenantId", "aws")?;
            only(b.client_id.is_some(), "clientId", "aws")?;
            only(b.client_secret.is_some(), "clientSecret", "aws")?;
            only(b.arm_endpoint.is_some(), "armEndpoint", "aws")?;
            only(b.graph_endpoint.is_some(), "graphEndpoint", "aws")?;
            only(b.login_endpoint.is_some(), "loginEndpoint", "aws")?;
            let account = b
                .account_id
                .ok_or_else(|| field_error("accountId", "is required for aws"))?;
            let regions = b.regions.unwrap_or_default();
            check_aws(
                &account,
                b.role_arn.as_deref(),
                &regions,
                b.endpoint_url.as_deref(),
            )?;
            Ok(NewCloudAccount {
                provider: "aws".into(),
                display_name: b.display_name.unwrap_or_else(|| account.clone()),
                settings: json!({ "roleArn": b.role_arn, "regions": regions, "endpointUrl": b.endpoint_url }),
                account,
                sealed_secret: None,
                enabled: b.enabled.unwrap_or(true),
            })
        }
        "azure" => {
            only(b.account_id.is_some(), "accountId", "azure")?;
            only(b.role_arn.is_some(), "roleArn", "azure")?;
            only(b.regions.is_some(), "regions", "azure")?;
            only(b.endpoint_url.is_some(), "endpointUrl", "azure")?;
            let required = |v: Option<String>, field: &'static str| {
                v.filter(|s| !s.is_empty())
                    .ok_or_else(|| field_error(field, "is required for azure"))
            };
            let subscription = required(b.subscription_id, "subscriptionId")?.to_lowercase();
            let tenant = required(b.tenant_id, "tenantId")?.to_lowercase();
            let client = required(b.client_id, "clientId")?.to_lowercase();
            let secret = required(b.client_secret, "clientSecret")?;
            check_guid("subscriptionId", &subscription)?;
            check_guid("tenantId", &tenant)?;
            check_guid("clientId", &client)?;
            check_url("armEndpoint", b.arm_endpoint.as_deref())?;
            check_url("graphEndpoint", b.graph_endpoint.as_deref())?;
            check_url("loginEndpoint", b.login_endpoint.as_deref())?;
            let sealed = state.cloud.seal_secret("azure", &subscription, &secret)?;
            Ok(NewCloudAccount {
                provider: "azure".into(),
                display_name: b.display_name.unwrap_or_else(|| subscription.clone()),
                settings: json!({ "tenantId": tenant, "clientId": client, "armEndpoint": b.arm_endpoint, "graphEndpoint": b.graph_endpoint, "loginEndpoint": b.login_endpoint }),
                account: subscription,
                sealed_secret: Some(sealed),
                enabled: b.enabled.unwrap_or(true),
            })
        }
        _ => Err(field_error("provider", "must be aws or azure")),
    }
}

/// Connected AWS accounts and Azure subscriptions, with their last scan.
#[utoipa::path(get, path = "/api/v1/posture/accounts", tag = "posture", responses((status = 200)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_cloud_accounts().await? }),
    ))
}

/// Connects an AWS account or an Azure subscription for scheduled scans. An Azure client
/// secret is sealed at rest and never returned.
#[utoipa::path(post, path = "/api/v1/posture/accounts", tag = "posture", request_body = ConnectAccount,
    responses((status = 201), (status = 400), (status = 409)))]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ConnectAccount>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let new = new_account(&state, body)?;
    let account = state.store.create_cloud_account(&caller.actor, new).await?;
    Ok((StatusCode::CREATED, axum::Json(account)))
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/posture/accounts/{id}", tag = "posture", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(state.store.get_cloud_account(&id).await?))
}

/// Disconnects an account; its findings and scan history stay.
#[utoipa::path(delete, path = "/api/v1/posture/accounts/{id}", tag = "posture", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    state.store.delete_cloud_account(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Scans a connection now and answers with the scan: SUCCEEDED, PARTIAL (some services
/// could not be read; their checks are ERROR findings) or ERROR (nothing collected, no
/// finding changed).
#[utoipa::path(post, path = "/api/v1/posture/accounts/{id}/scan", tag = "posture", params(("id" = String, Path)),
    responses((status = 200), (status = 404), (status = 409, description = "a scan of it is running")))]
pub async fn scan_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    match state.cloud.scan(&caller.actor, &id).await? {
        Some(scan) => Ok(axum::Json(scan)),
        None => Err(ApiError::from(StoreError::Conflict(
            "a scan of this account is running".into(),
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanParams {
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// The scans of a connection, newest first.
#[utoipa::path(get, path = "/api/v1/posture/accounts/{id}/scans", tag = "posture", params(("id" = String, Path), ("$top" = Option<usize>, Query)),
    responses((status = 200), (status = 404)))]
pub async fn list_scans(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<ScanParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    state.store.get_cloud_account(&id).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_cloud_scans(&id, p.top.unwrap_or(50)).await? }),
    ))
}

/// How often each connection is scanned.
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    /// Seconds between scans of each connection (60 to a year).
    interval_secs: i64,
}

/// The scan interval.
#[utoipa::path(get, path = "/api/v1/posture/schedule", tag = "posture", responses((status = 200, body = Schedule)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(Schedule {
        interval_secs: state.store.scan_interval_secs().await?,
    }))
}

/// Changes the scan interval.
#[utoipa::path(put, path = "/api/v1/posture/schedule", tag = "posture", request_body = Schedule, responses((status = 200, body = Schedule), (status = 400)))]
pub async fn set_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Schedule>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    state
        .store
        .set_scan_interval_secs(&caller.actor, body.interval_secs)
        .await?;
    Ok(axum::Json(body))
}

/// An S3 prefix of CloudTrail objects to poll.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLogSource {
    /// A readable name [default: s3://bucket/prefix].
    display_name: Option<String>,
    /// The bucket.
    bucket: String,
    /// The key prefix, e.g. `AWSLogs/123456789012/CloudTrail/eu-west-1/`. Keys are read in
    /// order after the last one read: give one prefix per region (CloudTrail's keys grow in
    /// order within one region's prefix).
    #[serde(default)]
    prefix: String,
    /// The bucket's region.
    region: String,
    /// A role to assume for reading.
    role_arn: Option<String>,
    /// Another endpoint (a VPC endpoint, an emulator).
    endpoint_url: Option<String>,
    /// Seconds between polls [default: 60; at least 10].
    poll_interval_secs: Option<i64>,
    /// Polled at all [default: true].
    enabled: Option<bool>,
}

fn check_bucket(bucket: &str) -> ApiResult<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(field_error(
            "bucket",
            "must be an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)",
        ))
    }
}

/// S3 log sources with their cursor, counts and last error.
#[utoipa::path(get, path = "/api/v1/detect/sources", tag = "detection", responses((status = 200)))]
pub async fn list_sources(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_log_sources().await? }),
    ))
}

/// Adds an S3 prefix of CloudTrail objects; a background job polls it and runs every new
/// object through the detection pipeline.
#[utoipa::path(post, path = "/api/v1/detect/sources", tag = "detection", request_body = CreateLogSource,
    responses((status = 201), (status = 400)))]
pub async fn create_source(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateLogSource>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    check_bucket(&b.bucket)?;
    if b.prefix.len() > 1024 {
        return Err(field_error("prefix", "is longer than an S3 key can be"));
    }
    // The region and role follow the same rules as a connected AWS account's.
    let account = b
        .role_arn
        .as_deref()
        .and_then(|a| a.split(':').nth(4))
        .unwrap_or("000000000000")
        .to_string();
    check_aws(
        &account,
        b.role_arn.as_deref(),
        std::slice::from_ref(&b.region),
        b.endpoint_url.as_deref(),
    )
    .map_err(|e| match e {
        StoreError::Invalid {
            field: "accountId",
            message,
        } => ApiError::from(StoreError::Invalid {
            field: "roleArn",
            message: format!("not an IAM role ARN ({message})"),
        }),
        StoreError::Invalid {
            field: "regions",
            message,
        } => field_error("region", &message),
        other => ApiError::from(other),
    })?;
    let source = state
        .store
        .create_log_source(
            &caller.actor,
            NewLogSource {
                display_name: b
                    .display_name
                    .unwrap_or_else(|| format!("s3://{}/{}", b.bucket, b.prefix)),
                bucket: b.bucket,
                prefix: b.prefix,
                region: b.region,
                role_arn: b.role_arn,
                endpoint_url: b.endpoint_url,
                poll_interval_secs: b.poll_interval_secs.unwrap_or(60),
                enabled: b.enabled.unwrap_or(true),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(source)))
}

/// One log source.
#[utoipa::path(get, path = "/api/v1/detect/sources/{id}", tag = "detection", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(state.store.get_log_source(&id).await?))
}

/// Removes a log source; alerts raised from it stay.
#[utoipa::path(delete, path = "/api/v1/detect/sources/{id}", tag = "detection", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    state.store.delete_log_source(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Polls a source now (the background job also polls it every `pollIntervalSecs`): reads
/// the objects after its cursor and answers with what was read and raised.
#[utoipa::path(post, path = "/api/v1/detect/sources/{id}/poll", tag = "detection", params(("id" = String, Path)),
    responses((status = 200), (status = 404), (status = 409, description = "a poll of it is running")))]
pub async fn poll_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    match state.cloud.poll(&caller.actor, &id).await? {
        Some(report) => Ok(axum::Json(report)),
        None => Err(ApiError::from(StoreError::Conflict(
            "a poll of this source is running".into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap_or_default();
        for (path, methods) in [
            ("/api/v1/posture/accounts", &["get", "post"][..]),
            ("/api/v1/posture/accounts/{id}", &["get", "delete"]),
            ("/api/v1/posture/accounts/{id}/scan", &["post"]),
            ("/api/v1/posture/accounts/{id}/scans", &["get"]),
            ("/api/v1/posture/schedule", &["get", "put"]),
            ("/api/v1/detect/sources", &["get", "post"]),
            ("/api/v1/detect/sources/{id}", &["get", "delete"]),
            ("/api/v1/detect/sources/{id}/poll", &["post"]),
            // The existing document is still there.
            ("/api/v1/posture/findings", &["get"]),
        ] {
            for m in methods {
                assert!(doc["paths"][path][m].is_object(), "{m} {path} undocumented");
            }
        }
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["ConnectAccount"]["properties"]["clientSecret"].is_object());
        assert!(schemas["CreateLogSource"]["properties"]["bucket"].is_object());
    }
}
