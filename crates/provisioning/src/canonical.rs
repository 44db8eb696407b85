//! Brings a client's JSON into the schema's shape before anything else reads it: attribute
//! names in the schema's spelling (RFC 7643 §2.1: names are case-insensitive), booleans sent as
//! strings turned into booleans (Microsoft Entra sends `"True"`), sizes bounded, and attributes
//! the service does not keep dropped (Entra sends whatever its mappings name).

use crate::entra::coerce_bool;
use crate::error::{Result, ScimError};
use crate::limits::{MAX_MULTI_VALUES, MAX_STRING_LEN};
use crate::schema::{self, AttrDef, AttrType, Mutability, ResourceKind};
use serde_json::{Map, Value};

/// What to do with read-only attributes (`id`, `meta`, ...) found in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    /// Ignore them, as RFC 7643 §7 asks of POST and PUT bodies.
    Ignore,
    /// Refuse with `mutability`, as a PATCH that names them must be.
    Refuse,
}

/// Canonicalises a resource body (or a path-less PATCH value object). Keys may be plain names,
/// `attr.sub` paths, schema-qualified paths, or an extension URI holding an object.
pub fn canonicalize(kind: ResourceKind, input: &Value, read_only: ReadOnly) -> Result<Value> {
    let obj = input
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("the resource must be a JSON object".into()))?;
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert("schemas".into(), schemas(value)?);
            continue;
        }
        if let Some(ext) = kind
            .extensions()
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(key))
        {
            let inner = value.as_object().ok_or_else(|| {
                ScimError::InvalidValue(format!("'{}' must be an object", ext.id))
            })?;
            for (k, v) in inner {
                let path = format!("{}:{k}", ext.id);
                put(kind, &mut out, &path, v, read_only)?;
            }
            continue;
        }
        if key.eq_ignore_ascii_case(kind.core().id) {
            // The core schema URI as a container: its attributes are top-level ones.
            let inner = value.as_object().ok_or_else(|| {
                ScimError::InvalidValue(format!("'{}' must be an object", kind.core().id))
            })?;
            for (k, v) in inner {
                put(kind, &mut out, k, v, read_only)?;
            }
            continue;
        }
        put(kind, &mut out, key, value, read_only)?;
    }
    Ok(Value::Object(out))
}

fn schemas(value: &Value) -> Result<Value> {
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::InvalidSyntax("'schemas' must be a list of URIs".into()))?;
    if list.len() > 8 || list.iter().any(|s| !s.is_string()) {
        return Err(ScimError::InvalidSyntax(
            "'schemas' must be a short list of URIs".into(),
        ));
    }
    Ok(value.clone())
}

/// Places one key's canonical value into `out`.
fn put(
    kind: ResourceKind,
    out: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    read_only: ReadOnly,
) -> Result<()> {
    let Ok(at) = schema::resolve(kind, key) else {
        // Not an attribute this service keeps: ignored, so a client's extra mappings do no harm.
        return Ok(());
    };
    if !at.writable() {
        return match read_only {
            ReadOnly::Ignore => Ok(()),
            ReadOnly::Refuse => Err(ScimError::Mutability(format!(
                "'{}' is read-only",
                at.leaf().name
            ))),
        };
    }
    let place = |container: &mut Map<String, Value>| -> Result<()> {
        match at.sub {
            None => {
                container.insert(at.attr.name.into(), value_of(at.attr, value)?);
                Ok(())
            }
            Some(sub) => with_object(container, at.attr.name, |parent| {
                parent.insert(sub.name.into(), value_of(sub, value)?);
                Ok(())
            }),
        }
    };
    match at.extension {
        Some(ext) => with_object(out, ext.id, place),
        None => place(out),
    }
}

/// Runs `f` on the object under `key`, made if missing or not an object.
pub(crate) fn with_object<T>(
    map: &mut Map<String, Value>,
    key: &str,
    f: impl FnOnce(&mut Map<String, Value>) -> Result<T>,
) -> Result<T> {
    let mut inner = match map.remove(key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let answer = f(&mut inner);
    map.insert(key.to_string(), Value::Object(inner));
    answer
}

/// The canonical form of a whole attribute value (a list for multi-valued attributes).
pub fn value_of(attr: &AttrDef, value: &Value) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if !attr.multi_valued {
        return single(attr, value);
    }
    // A lone value where a list belongs is read as a list of one, as lenient clients expect.
    let items: &[Value] = match value {
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    };
    if items.len() > MAX_MULTI_VALUES {
        return Err(ScimError::InvalidValue(format!(
            "'{}' has more than {MAX_MULTI_VALUES} values",
            attr.name
        )));
    }
    items
        .iter()
        .map(|v| single(attr, v))
        .collect::<Result<Vec<_>>>()
        .map(Value::Array)
}

/// The canonical form of one value of an attribute (an element, for multi-valued ones).
pub fn single(attr: &AttrDef, value: &Value) -> Result<Value> {
    let bad = |what: &str| ScimError::InvalidValue(format!("'{}' must be {what}", attr.name));
    match attr.ty {
        AttrType::Complex => {
            let obj = value.as_object().ok_or_else(|| bad("an object"))?;
            let mut out = Map::new();
            for (k, v) in obj {
                // Unknown and read-only sub-attributes (a member's `display`) are the
                // service's to set: ignored.
                if let Some(sub) = attr.sub_attr(k) {
                    if sub.mutability == Mutability::ReadWrite && !v.is_null() {
                        out.insert(sub.name.into(), single(sub, v)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        AttrType::Boolean => coerce_bool(value)
            .map(Value::Bool)
            .ok_or_else(|| bad("a boolean")),
        AttrType::String | AttrType::Reference => {
            let s = value.as_str().ok_or_else(|| bad("a string"))?;
            if s.len() > MAX_STRING_LEN {
                return Err(bad(&format!("at most {MAX_STRING_LEN} bytes")));
            }
            Ok(value.clone())
        }
        AttrType::DateTime => {
            let s = value.as_str().ok_or_else(|| bad("a date and time"))?;
            crate::filter::parse_date(s).ok_or_else(|| bad("an RFC 3339 date and time"))?;
            Ok(value.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_SCHEMA;
    use serde_json::json;

    #[test]
    fn names_are_respelled_and_unknowns_dropped() {
        let v = canonicalize(
            ResourceKind::User,
            &json!({"USERNAME": "a@x.com", "Name": {"GIVENNAME": "A", "nick": "x"}, "title": "CEO",
                    "active": "False", "id": "forged", "meta": {"created": "x"},
                    ENTERPRISE_SCHEMA: {"Department": "R&D"}}),
            ReadOnly::Ignore,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"userName": "a@x.com", "name": {"givenName": "A"}, "active": false,
                   ENTERPRISE_SCHEMA: {"department": "R&D"}})
        );
    }

    #[test]
    fn dotted_and_qualified_keys_land_in_place() {
        let v = canonicalize(
            ResourceKind::User,
            &json!({"name.familyName": "B", format!("{ENTERPRISE_SCHEMA}:employeeNumber"): "7"}),
            ReadOnly::Ignore,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"name": {"familyName": "B"}, ENTERPRISE_SCHEMA: {"employeeNumber": "7"}})
        );
    }

    #[test]
    fn wrong_types_and_sizes_are_invalid_values() {
        let long = "x".repeat(MAX_STRING_LEN + 1);
        for body in [
            json!({"userName": 5}),
            json!({"active": "maybe"}),
            json!({"userName": long}),
            json!({"emails": [{"value": 1}]}),
        ] {
            let e = canonicalize(ResourceKind::User, &body, ReadOnly::Ignore).unwrap_err();
            assert_eq!(e.scim_type(), Some("invalidValue"), "{body}");
        }
        let e =
            canonicalize(ResourceKind::User, &json!({"id": "x"}), ReadOnly::Refuse).unwrap_err();
        assert_eq!(e.scim_type(), Some("mutability"));
    }
}
