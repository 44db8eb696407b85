//! The list parameters of a SCIM request, as they arrive: a GET's query string or a
//! `POST .search` body (RFC 7644 §3.4.2, §3.4.3), read into the same [`ListQuery`].

use serde_json::Value;

use crate::error::{Result, ScimError};
use crate::list::{ListQuery, Projection};
use crate::schema::ResourceKind;

/// The query parameters, by name (the last of repeated ones).
fn params(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl ListQuery {
    /// A GET's query string.
    pub fn from_query_string(kind: ResourceKind, raw: Option<&str>) -> Result<ListQuery> {
        let p = params(raw);
        ListQuery::from_query(
            kind,
            param(&p, "filter"),
            param(&p, "startIndex"),
            param(&p, "count"),
            param(&p, "attributes"),
            param(&p, "excludedAttributes"),
        )
    }

    /// A `POST .search` body.
    pub fn from_search_body(kind: ResourceKind, body: &Value) -> Result<ListQuery> {
        let field = |name: &str| {
            body.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let text = |name: &str| -> Result<Option<String>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            ScimError::InvalidValue(format!("'{name}' must list names"))
                        })?
                        .join(","),
                )),
                Some(_) => Err(ScimError::InvalidValue(format!(
                    "'{name}' has the wrong type"
                ))),
            }
        };
        ListQuery::from_query(
            kind,
            text("filter")?.as_deref(),
            text("startIndex")?.as_deref(),
            text("count")?.as_deref(),
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
        )
    }
}

impl Projection {
    /// The `attributes` and `excludedAttributes` of a query string.
    pub fn from_query_string(kind: ResourceKind, raw: Option<&str>) -> Result<Projection> {
        let p = params(raw);
        Projection::from_query(
            kind,
            param(&p, "attributes"),
            param(&p, "excludedAttributes"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_search_body_reads_like_the_query_string() {
        let get = ListQuery::from_query_string(
            ResourceKind::User,
            Some("filter=userName%20eq%20%22a%40b.c%22&count=5"),
        )
        .unwrap();
        let post = ListQuery::from_search_body(
            ResourceKind::User,
            &json!({"filter": "userName eq \"a@b.c\"", "count": 5}),
        )
        .unwrap();
        assert_eq!(format!("{get:?}"), format!("{post:?}"));
        assert!(ListQuery::from_search_body(ResourceKind::User, &json!({"count": {}})).is_err());
        assert!(
            ListQuery::from_search_body(ResourceKind::User, &json!({"attributes": [1]})).is_err()
        );
    }
}
