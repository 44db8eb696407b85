//! Listing (RFC 7644 §3.4.2): the `ListResponse` message, `startIndex`/`count` paging, and the
//! `attributes`/`excludedAttributes` projection. The store does the finding; this crate decides
//! what a page holds and how it is shown.

use crate::error::{Result, ScimError};
use crate::filter::{self, Filter};
use crate::limits::{MAX_FILTER_LEN, MAX_PAGE_SIZE};
use crate::schema::{self, AttrRef, ResourceKind};
use serde_json::{json, Map, Value};

/// The schema URI of a list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Most attribute names in `attributes` or `excludedAttributes`.
const MAX_PROJECTED: usize = 64;

/// Which slice of the results a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based index of the first result.
    pub start_index: usize,
    /// How many results at most; never above [`MAX_PAGE_SIZE`].
    pub count: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            start_index: 1,
            count: MAX_PAGE_SIZE,
        }
    }
}

impl Page {
    /// Reads the query parameters. Per RFC 7644 §3.4.2.4 a `startIndex` below 1 means 1 and a
    /// negative `count` means 0; a `count` above the maximum is capped, not refused.
    pub fn from_query(start_index: Option<&str>, count: Option<&str>) -> Result<Page> {
        let number = |name: &str, s: &str| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::InvalidValue(format!("'{name}' must be an integer")))
        };
        let start = match start_index {
            Some(s) => number("startIndex", s)?.max(1),
            None => 1,
        };
        let count = match count {
            Some(s) => number("count", s)?.clamp(0, MAX_PAGE_SIZE as i64),
            None => MAX_PAGE_SIZE as i64,
        };
        Ok(Page {
            start_index: usize::try_from(start).unwrap_or(usize::MAX),
            count: usize::try_from(count).unwrap_or(0),
        })
    }

    /// How many results to skip.
    pub fn offset(&self) -> usize {
        self.start_index.saturating_sub(1)
    }

    /// The page's part of a full result list.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.offset().min(items.len());
        let end = start.saturating_add(self.count).min(items.len());
        items.get(start..end).unwrap_or_default()
    }
}

/// The `ListResponse` for one page of results out of `total`.
pub fn list_response(resources: Vec<Value>, total: usize, page: &Page) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": page.start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Which attributes a response shows (RFC 7644 §3.4.2.5). `id` and `schemas` always stay.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    include: Option<Vec<AttrRef>>,
    exclude: Vec<AttrRef>,
}

impl Projection {
    /// Reads the comma-separated `attributes` and `excludedAttributes` parameters. Names the
    /// schema does not know are ignored, as they would match nothing.
    pub fn from_query(
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection> {
        let read = |raw: &str| -> Result<Vec<AttrRef>> {
            if raw.len() > MAX_FILTER_LEN {
                return Err(ScimError::InvalidValue("attribute list too long".into()));
            }
            let names: Vec<&str> = raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if names.len() > MAX_PROJECTED {
                return Err(ScimError::InvalidValue(format!(
                    "more than {MAX_PROJECTED} attributes named"
                )));
            }
            Ok(names
                .into_iter()
                .filter_map(|n| schema::resolve(kind, n).ok())
                .collect())
        };
        Ok(Projection {
            include: attributes.map(read).transpose()?,
            exclude: excluded.map(read).transpose()?.unwrap_or_default(),
        })
    }

    /// The resource as the request asked to see it.
    pub fn apply(&self, resource: &Value) -> Value {
        let Some(src) = resource.as_object() else {
            return resource.clone();
        };
        let mut out = match &self.include {
            None => src.clone(),
            Some(list) => {
                let mut out = Map::new();
                for key in ["schemas", "id"] {
                    if let Some(v) = src.get(key) {
                        out.insert(key.into(), v.clone());
                    }
                }
                for r in list {
                    copy(src, &mut out, r);
                }
                out
            }
        };
        for r in &self.exclude {
            if r.attr.name != "id" {
                remove(&mut out, r);
            }
        }
        Value::Object(out)
    }
}

fn copy(src: &Map<String, Value>, out: &mut Map<String, Value>, r: &AttrRef) {
    let (from, to) = match r.extension {
        Some(ext) => {
            let Some(Value::Object(inner)) = src.get(ext.id) else {
                return;
            };
            let slot = out
                .entry(ext.id.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(to) = slot else { return };
            (inner, to)
        }
        None => (src, out),
    };
    let Some(value) = from.get(r.attr.name) else {
        return;
    };
    let Some(sub) = r.sub else {
        to.insert(r.attr.name.into(), value.clone());
        return;
    };
    // Only the named sub-attribute, merged with any already copied.
    let pick = |v: &Value| -> Map<String, Value> {
        v.get(sub.name)
            .map(|s| Map::from_iter([(sub.name.to_string(), s.clone())]))
            .unwrap_or_default()
    };
    match (value, to.get_mut(r.attr.name)) {
        (Value::Array(items), Some(Value::Array(have))) => {
            for (item, have) in items.iter().zip(have.iter_mut()) {
                if let Value::Object(h) = have {
                    h.extend(pick(item));
                }
            }
        }
        (Value::Array(items), _) => {
            let picked = items.iter().map(|i| Value::Object(pick(i))).collect();
            to.insert(r.attr.name.into(), Value::Array(picked));
        }
        (v, Some(Value::Object(have))) => have.extend(pick(v)),
        (v, _) => {
            to.insert(r.attr.name.into(), Value::Object(pick(v)));
        }
    }
}

fn remove(out: &mut Map<String, Value>, r: &AttrRef) {
    let container = match r.extension {
        Some(ext) => match out.get_mut(ext.id) {
            Some(Value::Object(inner)) => inner,
            _ => return,
        },
        None => out,
    };
    match r.sub {
        None => {
            container.remove(r.attr.name);
        }
        Some(sub) => match container.get_mut(r.attr.name) {
            Some(Value::Array(items)) => items.iter_mut().for_each(|i| {
                if let Value::Object(o) = i {
                    o.remove(sub.name);
                }
            }),
            Some(Value::Object(o)) => {
                o.remove(sub.name);
            }
            _ => {}
        },
    }
}

/// A whole list request: filter, page and projection, read from the query parameters.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// The page.
    pub page: Page,
    /// What to show.
    pub projection: Projection,
}

impl ListQuery {
    /// Reads `filter`, `startIndex`, `count`, `attributes` and `excludedAttributes`.
    pub fn from_query(
        kind: ResourceKind,
        filter: Option<&str>,
        start_index: Option<&str>,
        count: Option<&str>,
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
    ) -> Result<ListQuery> {
        Ok(ListQuery {
            filter: filter
                .filter(|f| !f.trim().is_empty())
                .map(|f| filter::parse(kind, f))
                .transpose()?,
            page: Page::from_query(start_index, count)?,
            projection: Projection::from_query(kind, attributes, excluded_attributes)?,
        })
    }

    /// Runs the query over resources held in memory (in the store's order) and renders the
    /// list response. A store that filters and pages itself calls [`list_response`] instead.
    pub fn run(&self, resources: &[Value]) -> Value {
        let matched: Vec<&Value> = resources
            .iter()
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
            .collect();
        let page = self
            .page
            .slice(&matched)
            .iter()
            .map(|r| self.projection.apply(r))
            .collect();
        list_response(page, matched.len(), &self.page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_SCHEMA, USER_SCHEMA};

    #[test]
    fn paging_arithmetic() {
        assert_eq!(Page::from_query(None, None).unwrap(), Page::default());
        let p = Page::from_query(Some("0"), Some("-5")).unwrap();
        assert_eq!((p.start_index, p.count), (1, 0));
        let p = Page::from_query(Some("3"), Some("100000")).unwrap();
        assert_eq!((p.start_index, p.count), (3, MAX_PAGE_SIZE));
        assert!(Page::from_query(Some("x"), None).is_err());
        let items: Vec<u32> = (1..=10).collect();
        let p = Page::from_query(Some("9"), Some("5")).unwrap();
        assert_eq!(p.slice(&items), &[9, 10]);
        let p = Page::from_query(Some("11"), Some("5")).unwrap();
        assert!(p.slice(&items).is_empty());
        let p = Page::from_query(Some("2"), Some("0")).unwrap();
        assert!(p.slice(&items).is_empty());
        let p = Page::from_query(Some("99999999999999999999"), None);
        assert!(p.is_err());
    }

    #[test]
    fn list_response_shape() {
        let page = Page::from_query(Some("2"), Some("1")).unwrap();
        let v = list_response(vec![json!({"id": "b"})], 3, &page);
        assert_eq!(
            v,
            json!({"schemas": [LIST_SCHEMA], "totalResults": 3, "startIndex": 2,
                   "itemsPerPage": 1, "Resources": [{"id": "b"}]})
        );
    }

    fn user() -> Value {
        json!({"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "id": "1", "userName": "a",
               "name": {"givenName": "A", "familyName": "B"},
               "emails": [{"value": "a@x.com", "type": "work"}, {"value": "a@y.com", "type": "home"}],
               "meta": {"resourceType": "User"},
               ENTERPRISE_SCHEMA: {"department": "D", "employeeNumber": "7"}})
    }

    #[test]
    fn attributes_keep_id_and_schemas() {
        let p = Projection::from_query(
            ResourceKind::User,
            Some("userName, name.familyName,emails.value,EMAILS.type,nope,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        )
        .unwrap();
        assert_eq!(
            p.apply(&user()),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "id": "1", "userName": "a",
                   "name": {"familyName": "B"},
                   "emails": [{"value": "a@x.com", "type": "work"}, {"value": "a@y.com", "type": "home"}],
                   ENTERPRISE_SCHEMA: {"department": "D"}})
        );
    }

    #[test]
    fn excluded_attributes_never_drop_id() {
        let p = Projection::from_query(
            ResourceKind::User,
            None,
            Some("id,emails,name.givenName,meta"),
        )
        .unwrap();
        let v = p.apply(&user());
        assert_eq!(v["id"], "1");
        assert!(v.get("emails").is_none() && v.get("meta").is_none());
        assert_eq!(v["name"], json!({"familyName": "B"}));
    }

    #[test]
    fn query_runs_filter_page_and_projection() {
        let users: Vec<Value> = (1..=5)
            .map(|i| {
                json!({"schemas": [USER_SCHEMA], "id": i.to_string(),
                             "userName": format!("user{i}"), "active": i % 2 == 1})
            })
            .collect();
        let q = ListQuery::from_query(
            ResourceKind::User,
            Some("active eq true"),
            Some("2"),
            Some("1"),
            Some("userName"),
            None,
        )
        .unwrap();
        let v = q.run(&users);
        assert_eq!(v["totalResults"], 3);
        assert_eq!(v["itemsPerPage"], 1);
        assert_eq!(
            v["Resources"],
            json!([{"schemas": [USER_SCHEMA], "id": "3", "userName": "user3"}])
        );
        let e = ListQuery::from_query(ResourceKind::User, Some("bad"), None, None, None, None)
            .unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidFilter"));
    }
}
