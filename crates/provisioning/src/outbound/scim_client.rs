//! IAM Identity Center's SCIM endpoint as a [`Target`], within AWS's documented limits: look-ups
//! by `eq` filters only (`userName`, `externalId`, `displayName`), one email per user, and
//! group PATCH with `add` and `remove` only (a rename is an `add` of `displayName`, which RFC
//! 7644 §3.5.2.1 defines as replacing a single value).

use std::time::Duration;

use serde_json::{json, Value};

use super::target::{BoxFuture, OutGroup, OutUser, Target, TargetError, TargetGroup, TargetUser};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Largest answer read from the endpoint.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Page size when listing (AWS answers at most 100).
const PAGE: usize = 100;
/// Most pages read when listing (a million objects).
const MAX_PAGES: usize = 10_000;
/// Per-call timeout.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one SCIM endpoint.
pub struct ScimClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base)
            .finish()
    }
}

/// A filter value as a SCIM string literal.
fn quoted(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn user_body(u: &OutUser) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "externalId": u.external_id,
        "userName": u.user_name,
        "name": {"givenName": u.given_name, "familyName": u.family_name},
        "displayName": u.display_name,
        "active": u.active,
    });
    if let Some(mail) = &u.email {
        body["emails"] = json!([{"value": mail, "type": "work", "primary": true}]);
    }
    body
}

impl ScimClient {
    /// A client for `base` (the endpoint URL as AWS hands it out) with its bearer token.
    pub fn new(base: &str, token: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(ScimClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// One call; the answer's JSON (`Null` for an empty body).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, TargetError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Accept", "application/scim+json")
            .query(query);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(b.to_string());
        }
        let mut resp = req.send().await.map_err(|e| {
            TargetError::Unavailable(format!(
                "{method} {path}: cannot reach the SCIM endpoint ({e})"
            ))
        })?;
        let status = resp.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| TargetError::Unavailable(format!("{method} {path}: {e}")))?
        {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(TargetError::Rejected(format!(
                    "{method} {path}: the answer is over 16 MiB"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let json: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(json);
        }
        let detail = json["detail"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
        let why = format!("{method} {path}: {} {detail}", status.as_u16());
        Err(match status.as_u16() {
            429 | 503 => TargetError::Throttled(why),
            404 => TargetError::NotFound(why),
            401 | 403 => TargetError::Unavailable(why),
            _ => TargetError::Rejected(why),
        })
    }

    async fn find(
        &self,
        path: &str,
        filters: &[(&str, &str)],
    ) -> Result<Option<String>, TargetError> {
        for (attribute, value) in filters {
            let filter = format!("{attribute} eq {}", quoted(value));
            let found = self
                .call(reqwest::Method::GET, path, &[("filter", filter)], None)
                .await?;
            if let Some(id) = found["Resources"]
                .as_array()
                .and_then(|r| r.first())
                .and_then(|r| r["id"].as_str())
            {
                return Ok(Some(id.to_string()));
            }
        }
        Ok(None)
    }

    async fn list(&self, path: &str) -> Result<Vec<Value>, TargetError> {
        let mut out = Vec::new();
        let mut start = 1usize;
        for _ in 0..MAX_PAGES {
            let page = self
                .call(
                    reqwest::Method::GET,
                    path,
                    &[
                        ("startIndex", start.to_string()),
                        ("count", PAGE.to_string()),
                    ],
                    None,
                )
                .await?;
            let items = page["Resources"].as_array().cloned().unwrap_or_default();
            let n = items.len();
            out.extend(items);
            let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
            start += n;
            if n == 0 || start > total {
                break;
            }
        }
        Ok(out)
    }

    /// PATCH on a group with these operations (AWS takes `add` and `remove` only).
    async fn patch_group(&self, id: &str, operations: Value) -> Result<(), TargetError> {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": operations});
        self.call(
            reqwest::Method::PATCH,
            &Self::path_of("Groups", id),
            &[],
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    fn created_id(v: &Value) -> Result<String, TargetError> {
        v["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| TargetError::Rejected("the SCIM endpoint answered without an id".into()))
    }

    fn path_of(kind: &str, id: &str) -> String {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        format!("/{kind}/{id}")
    }
}

impl Target for ScimClient {
    fn keeps_active(&self) -> bool {
        true
    }

    fn find_user<'a>(
        &'a self,
        u: &'a OutUser,
    ) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        Box::pin(async move {
            self.find(
                "/Users",
                &[("externalId", &u.external_id), ("userName", &u.user_name)],
            )
            .await
        })
    }

    fn create_user<'a>(&'a self, u: &'a OutUser) -> BoxFuture<'a, Result<String, TargetError>> {
        Box::pin(async move {
            let made = self
                .call(reqwest::Method::POST, "/Users", &[], Some(&user_body(u)))
                .await?;
            Self::created_id(&made)
        })
    }

    fn update_user<'a>(
        &'a self,
        id: &'a str,
        u: &'a OutUser,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            let mut body = user_body(u);
            body["id"] = json!(id);
            self.call(
                reqwest::Method::PUT,
                &Self::path_of("Users", id),
                &[],
                Some(&body),
            )
            .await
            .map(|_| ())
        })
    }

    fn delete_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            self.call(
                reqwest::Method::DELETE,
                &Self::path_of("Users", id),
                &[],
                None,
            )
            .await
            .map(|_| ())
        })
    }

    fn find_group<'a>(
        &'a self,
        g: &'a OutGroup,
    ) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        Box::pin(async move {
            self.find(
                "/Groups",
                &[
                    ("externalId", &g.external_id),
                    ("displayName", &g.display_name),
                ],
            )
            .await
        })
    }

    fn create_group<'a>(&'a self, g: &'a OutGroup) -> BoxFuture<'a, Result<String, TargetError>> {
        Box::pin(async move {
            let body = json!({"schemas": [GROUP_SCHEMA], "externalId": g.external_id,
                "displayName": g.display_name});
            let made = self
                .call(reqwest::Method::POST, "/Groups", &[], Some(&body))
                .await?;
            Self::created_id(&made)
        })
    }

    fn update_group<'a>(
        &'a self,
        id: &'a str,
        g: &'a OutGroup,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(self.patch_group(
            id,
            json!([{"op": "add", "path": "displayName", "value": g.display_name}]),
        ))
    }

    fn delete_group<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            self.call(
                reqwest::Method::DELETE,
                &Self::path_of("Groups", id),
                &[],
                None,
            )
            .await
            .map(|_| ())
        })
    }

    fn add_member<'a>(
        &'a self,
        group: &'a str,
        user: &'a str,
        _new_user: bool,
    ) -> BoxFuture<'a, Result<String, TargetError>> {
        // Adding a member who is one already changes nothing (RFC 7644 §3.5.2.1), so a retry
        // never duplicates a membership.
        Box::pin(async move {
            let add = json!([{"op": "add", "path": "members", "value": [{"value": user}]}]);
            self.patch_group(group, add)
                .await
                .map(|()| user.to_string())
        })
    }

    fn remove_member<'a>(
        &'a self,
        group: &'a str,
        user: &'a str,
        _membership: &'a str,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(self.patch_group(
            group,
            json!([{"op": "remove", "path": format!("members[value eq {}]", quoted(user))}]),
        ))
    }

    fn list_users(&self) -> BoxFuture<'_, Result<Vec<TargetUser>, TargetError>> {
        Box::pin(async move {
            Ok(self
                .list("/Users")
                .await?
                .iter()
                .filter_map(|u| {
                    Some(TargetUser {
                        id: u["id"].as_str()?.to_string(),
                        external_id: u["externalId"].as_str().map(str::to_string),
                        user_name: u["userName"].as_str().unwrap_or_default().to_string(),
                        display_name: u["displayName"].as_str().unwrap_or_default().to_string(),
                        active: u["active"].as_bool(),
                    })
                })
                .collect())
        })
    }

    fn list_groups(&self) -> BoxFuture<'_, Result<Vec<TargetGroup>, TargetError>> {
        Box::pin(async move {
            Ok(self
                .list("/Groups")
                .await?
                .iter()
                .filter_map(|g| {
                    Some(TargetGroup {
                        id: g["id"].as_str()?.to_string(),
                        display_name: g["displayName"].as_str().unwrap_or_default().to_string(),
                    })
                })
                .collect())
        })
    }

    fn list_members<'a>(
        &'a self,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, TargetError>> {
        Box::pin(async move {
            let g = self
                .call(
                    reqwest::Method::GET,
                    &Self::path_of("Groups", group),
                    &[],
                    None,
                )
                .await?;
            Ok(g["members"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|m| m["value"].as_str())
                        .map(|v| (v.to_string(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default())
        })
    }
}
