//! The small part of OData that list endpoints take: `$filter` with `eq` and `startswith`
//! joined by `and`, `$top`, and `$skiptoken`.

use serde::Deserialize;
use serde_json::Value;
use trustplane_store::{parse_filter, ListQuery, Page};

use crate::error::ApiError;

/// Query parameters of a list endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(rename = "$filter")]
    pub filter: Option<String>,
    #[serde(rename = "$top")]
    pub top: Option<usize>,
    #[serde(rename = "$skiptoken")]
    pub skip_token: Option<String>,
}

const DEFAULT_TOP: usize = 100;
const MAX_TOP: usize = 999;

impl ListParams {
    pub fn to_query(&self) -> Result<ListQuery, ApiError> {
        let top = self.top.unwrap_or(DEFAULT_TOP);
        if top == 0 || top > MAX_TOP {
            return Err(ApiError::bad_request(format!(
                "$top must be 1 to {MAX_TOP}"
            )));
        }
        let filter = match &self.filter {
            Some(f) => parse_filter(f).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => Vec::new(),
        };
        Ok(ListQuery {
            filter,
            top,
            skip_token: self.skip_token.clone(),
        })
    }
}

/// A Graph-style collection: `{"value": [...], "@odata.nextLink": "..."}`.
pub fn collection<T: serde::Serialize>(page: Page<T>, path: &str, params: &ListParams) -> Value {
    let mut body = serde_json::json!({ "value": page.items });
    if let Some(token) = page.next {
        let mut link = format!(
            "{path}?$top={}&$skiptoken={}",
            params.top.unwrap_or(DEFAULT_TOP),
            encode(&token)
        );
        if let Some(f) = &params.filter {
            link.push_str(&format!("&$filter={}", encode(f)));
        }
        body["@odata.nextLink"] = Value::String(link);
    }
    body
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
