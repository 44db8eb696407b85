//! Turning Azure Resource Manager (and Microsoft Graph) responses into inventory documents,
//! so a collector stores exactly what it received.

use serde_json::Value;

use crate::inventory::{Provider, ResourceDoc, GLOBAL};

/// Normalises an Azure location (`East US` -> `eastus`); absent or `global` -> [`GLOBAL`].
pub fn arm_region(location: Option<&str>) -> String {
    let l: String = location
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if l.is_empty() || l == "global" {
        GLOBAL.to_string()
    } else {
        l
    }
}

/// One ARM (or Graph) object as a document; `raw` is the whole object.
pub fn arm_doc(account: &str, resource_type: &str, obj: &Value) -> ResourceDoc {
    let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(name);
    ResourceDoc::new(
        Provider::Azure,
        account,
        arm_region(obj.get("location").and_then(Value::as_str)),
        resource_type,
        id,
        name,
        obj.clone(),
    )
}

/// The documents of a response body: a list (`{"value": [...]}`), a bare array, or one
/// object. Paging is the collector's job: call this once per page.
pub fn arm_docs(account: &str, resource_type: &str, body: &Value) -> Vec<ResourceDoc> {
    let items: Vec<&Value> = match body {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => match o.get("value") {
            Some(Value::Array(a)) => a.iter().collect(),
            _ => vec![body],
        },
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|o| arm_doc(account, resource_type, o))
        .collect()
}
