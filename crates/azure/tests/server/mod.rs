//! A local stand-in for Entra ID, Resource Manager and Microsoft Graph on 127.0.0.1: it serves
//! Microsoft's example responses from shared/data/azure at the real paths (subscription A),
//! variants derived from them for non-compliant and compliant cases (subscription B), a
//! client-credentials token endpoint, one 429 and paged lists; and role assignments kept in
//! memory at any scope (`role_assignments`), for granting and revoking access.
//!
//! Other crates' tests use it too, through `#[path = "../../azure/tests/server/mod.rs"]`
//! (with axum, serde_json and tokio as dev-dependencies): [`start`], then `Srv::base` as every
//! endpoint of `trustplane_azure::Options`, with [`ARM_TOKEN`] or a client secret for
//! [`TENANT`].
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

pub mod role_assignments;
pub mod variants;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Subscription A: Microsoft's examples as published.
pub const SUB_A: &str = "291bba3f-e0a5-47bc-a099-3bdcb2a50a05";
/// Subscription B: derived variants.
pub const SUB_B: &str = "72ac930a-f34e-42d8-b06d-dc2a9e12ed71";
/// Tenant of subscription A.
pub const TENANT: &str = "31c75423-32d6-4322-88b7-c478bdde4858";
/// The subscription of the published role-assignment example: no fixed data, for role
/// assignments made and revoked by tests.
pub const SUB_RBAC: &str = "a925f2f7-5c63-4b7b-8799-25a5f97bc3b2";
/// A principal id the directory does not know: a role-assignment PUT for it answers 400
/// `PrincipalNotFound`.
pub const UNKNOWN_PRINCIPAL: &str = "0badc0de-0000-4000-8000-000000000000";
pub const ARM_TOKEN: &str = "tok-arm";
pub const GRAPH_TOKEN: &str = "tok-graph";

/// Faults to inject.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mode {
    /// First pricings call of subscription A answers 429 with `Retry-After: 1`.
    pub throttle_pricings: bool,
    /// Every pricings call of subscription A answers 429.
    pub throttle_pricings_always: bool,
    /// The token endpoint answers 401 invalid_client.
    pub token_401: bool,
    /// The subscription list answers 403.
    pub subscriptions_403: bool,
    /// The NSG list of subscription A is cut-off JSON.
    pub malformed_nsg: bool,
    /// Every ARM and Graph answer is held this long (to measure parallelism).
    pub delay_ms: u64,
    /// The first role-assignment PUT answers 429 with `Retry-After: 1`.
    pub throttle_role_writes: bool,
}

pub struct Srv {
    pub base: String,
    pub mode: Mode,
    /// Decoded path -> number of requests.
    pub hits: Mutex<HashMap<String, u32>>,
    /// Form fields of each token request.
    pub token_forms: Mutex<Vec<HashMap<String, String>>>,
    /// Requests being answered now, and the most at once.
    pub in_flight: AtomicUsize,
    pub peak: AtomicUsize,
    /// Role assignments made by PUT or seeded (see `role_assignments`).
    pub assignments: Mutex<Vec<Value>>,
    /// Lower-case principal ids whose role-assignment PUT answers `PrincipalNotFound`.
    pub refused_principals: Mutex<HashSet<String>>,
    /// Role-assignment PUT and DELETE answer 403.
    pub deny_role_writes: AtomicBool,
    /// Role-assignment PUTs received.
    pub role_puts: AtomicUsize,
}

/// shared/data/azure, beside the clone.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/azure")
}

fn read(rel: &str) -> Value {
    let p = data_dir().join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}")))
        .unwrap()
}

/// The 200 (or 201) body of an x-ms-examples file.
pub fn arm(rel: &str) -> Value {
    let v = read(&format!("arm-examples/{rel}"));
    let r = &v["responses"];
    if r["200"].is_object() {
        r["200"]["body"].clone()
    } else {
        r["201"]["body"].clone()
    }
}

/// A Graph example body (only the strict-JSON `.json` ones; the two `.json5` bodies with
/// trailing commas are not served).
pub fn graph(rel: &str) -> Value {
    read(&format!("graph-examples/{rel}"))
}

/// The body of the n-th interaction of a cloud-custodian cassette.
pub fn cassette(rel: &str, n: usize) -> Value {
    let v = read(&format!("c7n-cassettes/{rel}"));
    match &v["interactions"][n]["response"]["body"]["data"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

/// Starts the server on a free loopback port.
pub async fn start(mode: Mode) -> Arc<Srv> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let srv = Arc::new(Srv {
        base: format!("http://{addr}"),
        mode,
        hits: Mutex::new(HashMap::new()),
        token_forms: Mutex::new(Vec::new()),
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        assignments: Mutex::new(Vec::new()),
        refused_principals: Mutex::new(HashSet::new()),
        deny_role_writes: AtomicBool::new(false),
        role_puts: AtomicUsize::new(0),
    });
    let app = axum::Router::new().fallback(handle).with_state(srv.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    srv
}

impl Srv {
    pub fn hits(&self, path: &str) -> u32 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Requests received, all paths together.
    pub fn total_hits(&self) -> u32 {
        self.hits.lock().unwrap().values().sum()
    }
}

/// `application/x-www-form-urlencoded` and percent-encoded paths.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(h, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn empty() -> Response {
    ok(json!({"value": []}))
}

async fn handle(
    State(s): State<Arc<Srv>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = decode(uri.path());
    let query = uri.query().map(decode).unwrap_or_default();
    let n = {
        let mut h = s.hits.lock().unwrap();
        let e = h.entry(path.clone()).or_insert(0);
        *e += 1;
        *e
    };
    let lp = path.to_ascii_lowercase();
    if method == Method::POST && lp.ends_with("/oauth2/v2.0/token") {
        let f = form(&body);
        s.token_forms.lock().unwrap().push(f.clone());
        if s.mode.token_401 {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided."})),
            )
                .into_response();
        }
        let token = match f.get("scope").map(String::as_str) {
            Some("https://management.azure.com/.default") => ARM_TOKEN,
            Some("https://graph.microsoft.com/.default") => GRAPH_TOKEN,
            _ => return arm_error(StatusCode::BAD_REQUEST, "invalid_scope", "bad scope"),
        };
        return ok(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token}));
    }
    if s.mode.delay_ms > 0 {
        let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        s.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(s.mode.delay_ms)).await;
        s.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    let is_graph = lp.starts_with("/v1.0/");
    let want = format!("Bearer {}", if is_graph { GRAPH_TOKEN } else { ARM_TOKEN });
    if headers.get("authorization").and_then(|h| h.to_str().ok()) != Some(want.as_str()) {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "bad token",
        );
    }
    if !is_graph && !query.contains("api-version=") {
        return arm_error(StatusCode::BAD_REQUEST, "MissingApiVersionParameter", &path);
    }
    if !is_graph {
        if let Some(r) = role_assignments::route(&s, &method, &path, &query, &body) {
            return r;
        }
    }
    if method != Method::GET {
        return arm_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &path);
    }
    if is_graph {
        return graph_route(&s, &lp, &query);
    }
    arm_route(&s, &lp, &query, n)
}

fn graph_route(s: &Srv, lp: &str, query: &str) -> Response {
    match lp {
        "/v1.0/policies/authorizationpolicy" => ok(graph("authorizationpolicy-get.json")),
        // No example in the data set: the documented shape, security defaults off.
        "/v1.0/policies/identitysecuritydefaultsenforcementpolicy" => ok(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms.",
            "isEnabled": false
        })),
        "/v1.0/users" => {
            // user-list.json split in two pages.
            let all = graph("user-list.json");
            let users = all["value"].as_array().unwrap();
            if query.contains("$skiptoken=users2") {
                ok(json!({"value": [users[1]]}))
            } else {
                ok(json!({"value": [users[0]],
                    "@odata.nextLink": format!("{}/v1.0/users?$skiptoken=users2", s.base)}))
            }
        }
        // What Graph answers for a tenant without Entra ID P1/P2.
        "/v1.0/reports/authenticationmethods/userregistrationdetails" => arm_error(
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        ),
        "/v1.0/directoryroles" => ok(graph("directoryrole-list.json")),
        "/v1.0/rolemanagement/directory/roleassignments" => {
            ok(graph("rbacapplication-list-roleassignments.example2.json"))
        }
        _ => arm_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", lp),
    }
}

fn subscriptions() -> Vec<Value> {
    arm("Microsoft.Resources/GetSubscriptions.json")["value"]
        .as_array()
        .unwrap()
        .clone()
}

fn arm_route(s: &Srv, lp: &str, query: &str, n: u32) -> Response {
    if lp == "/subscriptions" {
        if s.mode.subscriptions_403 {
            return arm_error(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                "The client does not have authorization to perform action 'Microsoft.Resources/subscriptions/read'.",
            );
        }
        // GetSubscriptions.json split in two pages (its own nextLink is the literal "...").
        let subs = subscriptions();
        return if query.contains("$skiptoken=subs2") {
            ok(json!({"value": [subs[1]]}))
        } else {
            ok(json!({"value": [subs[0]], "nextLink":
                format!("{}/subscriptions?api-version=2022-12-01&$skiptoken=subs2", s.base)}))
        };
    }
    for sub in subscriptions() {
        let id = sub["subscriptionId"].as_str().unwrap();
        if lp == format!("/subscriptions/{id}") {
            return ok(sub);
        }
    }
    // No resource-group list example in the data set: the documented shape, one group.
    if lp == format!("/subscriptions/{SUB_A}/resourcegroups") {
        return ok(
            json!({"value": [{"id": format!("/subscriptions/{SUB_A}/resourceGroups/rg1"),
            "name": "rg1", "type": "Microsoft.Resources/resourceGroups", "location": "eastus",
            "properties": {"provisioningState": "Succeeded"}}]}),
        );
    }
    if lp == format!("/subscriptions/{SUB_B}/resourcegroups") {
        return empty();
    }
    let a = format!("/subscriptions/{SUB_A}/providers/");
    let b = format!("/subscriptions/{SUB_B}/providers/");
    if let Some(rest) = lp.strip_prefix(&a) {
        return sub_a_list(s, rest, query, n);
    }
    if let Some(rest) = lp.strip_prefix(&b) {
        return variants::sub_b_list(rest);
    }
    child(lp)
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn sub_a_list(s: &Srv, rest: &str, query: &str, n: u32) -> Response {
    match rest {
        "microsoft.security/pricings" => {
            if (s.mode.throttle_pricings && n == 1) || s.mode.throttle_pricings_always {
                let mut r = arm_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "throttled",
                );
                r.headers_mut().insert("retry-after", "1".parse().unwrap());
                return r;
            }
            ok(arm("Microsoft.Security/ListPricings_example.json"))
        }
        "microsoft.security/securitycontacts" => ok(arm(
            "Microsoft.Security/GetSecurityContactsSubscription_example.json",
        )),
        "microsoft.security/autoprovisioningsettings" => ok(arm(
            "Microsoft.Security/GetAutoProvisioningSettingsSubscription_example.json",
        )),
        "microsoft.storage/storageaccounts" => {
            // StorageAccountList.json split in two pages.
            let all = arm("Microsoft.Storage/StorageAccountList.json");
            let v = all["value"].as_array().unwrap();
            if query.contains("$skiptoken=sto2") {
                ok(json!({"value": v[3..]}))
            } else {
                ok(json!({"value": v[..3], "nextLink": format!(
                    "{}/subscriptions/{SUB_A}/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01&$skiptoken=sto2",
                    s.base)}))
            }
        }
        // The example's nextLink points at management.azure.com: not followed here.
        "microsoft.keyvault/vaults" => ok(without(
            arm("Microsoft.KeyVault/listVaultByResourceGroup.json"),
            "nextLink",
        )),
        "microsoft.sql/servers" => ok(arm("Microsoft.Sql/ServerList.json")),
        "microsoft.network/networksecuritygroups" => {
            if s.mode.malformed_nsg {
                return (StatusCode::OK, "{\"value\": [{\"name\": \"nsg1\",").into_response();
            }
            ok(arm("Microsoft.Network/NetworkSecurityGroupListAll.json"))
        }
        "microsoft.network/networkwatchers" => {
            ok(arm("Microsoft.Network/NetworkWatcherListAll.json"))
        }
        "microsoft.compute/virtualmachines" => ok(arm(
            "Microsoft.Compute/VirtualMachine_ListBySubscription_ByLocation.json",
        )),
        // The example's nextLink points at a made-up host: not followed here.
        "microsoft.compute/disks" => ok(without(
            arm("Microsoft.Compute/Disk_ListBySubscription.json"),
            "nextLink",
        )),
        "microsoft.web/sites" => ok(arm("Microsoft.Web/ListWebApps.json")),
        "microsoft.insights/activitylogalerts" => ok(arm(
            "Microsoft.Insights/ActivityLogAlertRule_ListBySubscriptionId.json",
        )),
        "microsoft.insights/diagnosticsettings" => ok(arm(
            "Microsoft.Insights/listSubscriptionDiagnosticSettings.json",
        )),
        "microsoft.authorization/roledefinitions" => ok(json!({"value": [
            arm("Microsoft.Authorization/GetRoleDefinitionById.json")
        ]})),
        _ => empty(),
    }
}

/// Calls under one resource, for both subscriptions (variants are told apart by name).
fn child(lp: &str) -> Response {
    let b = lp.contains(&SUB_B.to_string());
    let not_found = || arm_error(StatusCode::NOT_FOUND, "ResourceNotFound", lp);
    if lp.ends_with("/blobservices/default") {
        return if b {
            ok(variants::blob_service(lp))
        } else {
            ok(arm("Microsoft.Storage/BlobServicesGet.json"))
        };
    }
    if lp.ends_with("/fileservices/default") {
        // No FileServices example in the data set.
        return not_found();
    }
    if lp.contains("/vaults/") && lp.ends_with("/keys") {
        return if b {
            ok(variants::keys(lp))
        } else {
            ok(arm("Microsoft.KeyVault/listKeys.json"))
        };
    }
    if lp.contains("/vaults/") && lp.ends_with("/secrets") {
        return if b {
            ok(variants::secrets(lp))
        } else {
            empty()
        };
    }
    if lp.contains("/vaults/") && lp.ends_with("/providers/microsoft.insights/diagnosticsettings") {
        return if b {
            empty()
        } else {
            ok(arm("Microsoft.Insights/listDiagnosticSettings.json"))
        };
    }
    if lp.ends_with("/auditingsettings/default") {
        return if b {
            ok(variants::auditing(lp))
        } else {
            ok(arm("Microsoft.Sql/ServerBlobAuditingGet.json"))
        };
    }
    if lp.ends_with("/firewallrules") {
        return if b {
            ok(variants::sql_firewall(lp))
        } else {
            empty()
        };
    }
    if lp.ends_with("/encryptionprotector/current") {
        // cloud-custodian's recording: interaction 1 customer-managed, 2 service-managed.
        let n = if b { 1 } else { 2 };
        return ok(cassette(
            "SqlServerTest.test_data_encryption_filter.json",
            n,
        ));
    }
    if lp.ends_with("/administrators") {
        return empty();
    }
    if lp.ends_with("/databases") {
        return if b {
            empty()
        } else {
            ok(variants::databases(lp))
        };
    }
    if lp.ends_with("/transparentdataencryption/current") {
        return ok(arm("Microsoft.Sql/TransparentDataEncryptionGet.json"));
    }
    if lp.ends_with("/config/web") {
        return if b {
            ok(variants::site_config())
        } else {
            ok(arm("Microsoft.Web/GetSiteConfig.json"))
        };
    }
    if lp.ends_with("/config/authsettingsv2") && b {
        return ok(
            json!({"id": lp, "name": "authsettingsV2", "type": "Microsoft.Web/sites/config",
            "properties": {"platform": {"enabled": true}}}),
        );
    }
    if lp.ends_with("/config/authsettingsv2") {
        // No example in the data set: the documented shape, authentication off.
        return ok(
            json!({"id": lp, "name": "authsettingsV2", "type": "Microsoft.Web/sites/config",
            "properties": {"platform": {"enabled": false}}}),
        );
    }
    if lp.ends_with("/providers/microsoft.network/virtualnetworkgateways") {
        return empty();
    }
    if lp.ends_with("/flowlogs") {
        return empty();
    }
    not_found()
}
