//! An outbound connection's settings: checked field by field when saved, and read back for
//! each run.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trustplane_store::{Store, StoreError, AWS_IDENTITY_STORE, AWS_SCIM};

/// The share of a connection's users a run may deactivate or delete without an
/// administrator's confirmation, by default (percent).
pub const DEFAULT_DELETE_THRESHOLD_PERCENT: u32 = 10;

/// Most scope groups a connection names.
pub const MAX_SCOPE_GROUPS: usize = 100;

/// Longest bearer token accepted for a SCIM endpoint.
const MAX_TOKEN_LEN: usize = 4096;

/// A scope group, by id with its name at the time it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeGroup {
    /// The group's id.
    pub id: String,
    /// Its name when the connection was saved.
    pub display_name: String,
}

/// What an outbound connection keeps in `settings` (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OutboundSettings {
    /// The Identity Store (`d-` and ten hex digits, or a UUID): `awsIdentityStore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_store_id: Option<String>,
    /// The Identity Center region: `awsIdentityStore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Another endpoint for the Identity Store API (tests: an emulator on loopback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// A role to assume first: `awsIdentityStore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The SCIM endpoint as AWS hands it out: `awsScim`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whose users and groups go out: empty means everyone and every group.
    #[serde(default)]
    pub scope_groups: Vec<ScopeGroup>,
    /// The share of the connection's users a run may deactivate or delete unconfirmed.
    pub delete_threshold_percent: u32,
}

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
    }
}

fn text(rest: &Map<String, Value>, field: &'static str) -> Result<Option<String>, StoreError> {
    match rest.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= 2048 => Ok(Some(s.trim().to_string())),
        Some(Value::String(_)) => Err(invalid(field, "is longer than 2048 characters")),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// `d-` and ten lowercase letters or digits (AWS issues hex; emulators any), or a lowercase
/// UUID.
fn valid_store_id(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("d-") {
        return rest.len() == 10
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    }
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| is_hex(p))
}

/// `eu-west-1`, `us-gov-west-1`: letters in dash-separated parts ending in a number.
fn valid_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && s.len() <= 32
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// An https URL, or plain http to a loopback address (emulators and test peers only).
fn check_url(field: &'static str, raw: &str) -> Result<String, StoreError> {
    let url =
        url::Url::parse(raw).map_err(|e| invalid(field, format!("`{raw}` is not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(h)) => h == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid(field, "has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(invalid(
                field,
                "must use https (plain http only to a loopback address, for tests)",
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(field, "must not hold credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Checks an outbound connection's settings as sent; returns what to keep and, for `awsScim`,
/// the bearer token to seal. Scope groups are named by id or display name and kept by id.
pub async fn parse(
    store: &Store,
    kind: &str,
    rest: &Map<String, Value>,
) -> Result<(OutboundSettings, Option<String>), StoreError> {
    let allowed: &[&str] = match kind {
        AWS_IDENTITY_STORE => &[
            "identityStoreId",
            "region",
            "endpoint",
            "roleArn",
            "scopeGroups",
            "deleteThresholdPercent",
        ],
        AWS_SCIM => &["url", "token", "scopeGroups", "deleteThresholdPercent"],
        _ => {
            return Err(invalid(
                "type",
                "must be scimInbound, awsIdentityStore or awsScim",
            ))
        }
    };
    if let Some(field) = rest.keys().find(|k| !allowed.contains(&k.as_str())) {
        let field: String = field.chars().take(64).collect();
        return Err(invalid(
            "settings",
            format!("`{field}` is not a setting of a {kind} connection"),
        ));
    }
    let mut s = OutboundSettings {
        delete_threshold_percent: DEFAULT_DELETE_THRESHOLD_PERCENT,
        ..Default::default()
    };
    let mut token = None;
    if kind == AWS_IDENTITY_STORE {
        let id = text(rest, "identityStoreId")?
            .ok_or_else(|| invalid("identityStoreId", "is required"))?;
        if !valid_store_id(&id) {
            return Err(invalid(
                "identityStoreId",
                "must be `d-` and ten lowercase letters or digits (d-1234567890), or a UUID",
            ));
        }
        s.identity_store_id = Some(id);
        let region = text(rest, "region")?.ok_or_else(|| invalid("region", "is required"))?;
        if !valid_region(&region) {
            return Err(invalid(
                "region",
                format!("`{region}` is not an AWS region (eu-west-1)"),
            ));
        }
        s.region = Some(region);
        if let Some(e) = text(rest, "endpoint")? {
            s.endpoint = Some(check_url("endpoint", &e)?);
        }
        if let Some(r) = text(rest, "roleArn")? {
            if !(r.starts_with("arn:aws") && r.contains(":role/")) {
                return Err(invalid("roleArn", "must be an IAM role ARN"));
            }
            s.role_arn = Some(r);
        }
    } else {
        let url = text(rest, "url")?.ok_or_else(|| invalid("url", "is required"))?;
        s.url = Some(check_url("url", &url)?);
        let t = match rest.get("token") {
            Some(Value::String(t)) => t.trim().to_string(),
            Some(_) => return Err(invalid("token", "must be a string")),
            None => return Err(invalid("token", "is required")),
        };
        if t.is_empty()
            || t.len() > MAX_TOKEN_LEN
            || t.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "token",
                "must be 1 to 4096 characters without spaces",
            ));
        }
        token = Some(t);
    }
    match rest.get("deleteThresholdPercent") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64() {
            Some(p) if (1..=100).contains(&p) => s.delete_threshold_percent = p as u32,
            _ => {
                return Err(invalid(
                    "deleteThresholdPercent",
                    "must be a whole number from 1 to 100",
                ))
            }
        },
    }
    match rest.get("scopeGroups") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_SCOPE_GROUPS {
                return Err(invalid("scopeGroups", "names at most 100 groups"));
            }
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| invalid("scopeGroups", "must list group ids or names"))?;
                let group = store.get_group(name).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => invalid(
                        "scopeGroups",
                        format!(
                            "no group has the id or name `{}`",
                            name.chars().take(256).collect::<String>()
                        ),
                    ),
                    other => other,
                })?;
                if !s.scope_groups.iter().any(|g| g.id == group.id) {
                    s.scope_groups.push(ScopeGroup {
                        id: group.id,
                        display_name: group.display_name,
                    });
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                "scopeGroups",
                "must be a list of group ids or names",
            ))
        }
    }
    Ok((s, token))
}

impl OutboundSettings {
    /// The settings kept with a connection.
    pub fn from_value(v: &Value) -> Result<Self, StoreError> {
        serde_json::from_value(v.clone())
            .map_err(|e| StoreError::Corrupt(format!("outbound settings: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_and_regions_are_checked() {
        assert!(valid_store_id("d-1234567890"));
        assert!(valid_store_id("0123abcd-0123-4567-89ab-0123456789ab"));
        assert!(!valid_store_id("d-123"));
        assert!(!valid_store_id("d-123456789Z"));
        assert!(!valid_store_id("../etc"));
        assert!(valid_region("eu-west-1"));
        assert!(valid_region("us-gov-west-1"));
        assert!(!valid_region("eu-west"));
        assert!(!valid_region("EU-west-1"));
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(check_url("url", "https://scim.eu-west-1.amazonaws.com/abc/scim/v2/").is_ok());
        assert!(check_url("url", "http://127.0.0.1:8080/scim/v2").is_ok());
        assert!(check_url("url", "http://localhost:8080/scim/v2").is_ok());
        assert!(check_url("url", "http://scim.example.com/scim/v2").is_err());
        assert!(check_url("url", "ftp://127.0.0.1/").is_err());
        assert!(check_url("url", "https://user:pw@scim.example.com/").is_err());
    }
}
