//! PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove` operations applied to a resource's
//! JSON, all or nothing. The request is read and bounded before anything is applied, and the
//! operations run on a copy that replaces the resource only if every one succeeded and the
//! result is still a valid resource.

use crate::canonical::{self, canonicalize, with_object, ReadOnly};
use crate::error::{Result, ScimError};
use crate::filter::{self, CompareOp, Filter, Operand};
use crate::limits::{MAX_PATCH_OPERATIONS, MAX_PATH_LEN};
use crate::resources::{Group, User};
use crate::schema::{self, AttrDef, AttrRef, AttrType, ResourceKind, COMMON};
use serde_json::{Map, Value};

/// The schema URI of a PATCH request.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Add values (appending to lists, merging into objects).
    Add,
    /// Replace values.
    Replace,
    /// Remove values.
    Remove,
}

impl OpKind {
    /// The operation's name as RFC 7644 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// What to do.
    pub op: OpKind,
    /// Where; `None` for a path-less `add` or `replace` with an object value.
    pub path: Option<String>,
    /// The value, if the operation has one.
    pub value: Option<Value>,
}

/// A PATCH request: its operations, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations.
    pub operations: Vec<Operation>,
}

impl PatchRequest {
    /// Reads a PATCH body. More than [`MAX_PATCH_OPERATIONS`] operations are refused whole,
    /// before any is read.
    pub fn from_json(body: &Value) -> Result<PatchRequest> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::InvalidSyntax("the body must be a JSON object".into()))?;
        let field = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        if let Some(schemas) = field("schemas") {
            let listed = schemas
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA)));
            if !listed {
                return Err(ScimError::InvalidSyntax(format!(
                    "'schemas' must list {PATCH_SCHEMA}"
                )));
            }
        }
        let ops = field("Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::InvalidSyntax("'Operations' must be a list".into()))?;
        if ops.len() > MAX_PATCH_OPERATIONS {
            return Err(ScimError::TooMany(format!(
                "{} operations; at most {MAX_PATCH_OPERATIONS} are accepted in one request",
                ops.len()
            )));
        }
        if ops.is_empty() {
            return Err(ScimError::InvalidSyntax("'Operations' is empty".into()));
        }
        let operations = ops.iter().map(read_operation).collect::<Result<Vec<_>>>()?;
        Ok(PatchRequest { operations })
    }
}

fn read_operation(raw: &Value) -> Result<Operation> {
    let obj = raw
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("an operation must be an object".into()))?;
    let field = |name: &str| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let name = field("op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::InvalidSyntax("an operation needs 'op'".into()))?;
    let op = crate::entra::parse_op(name)
        .ok_or_else(|| ScimError::InvalidSyntax(format!("unknown operation '{name}'")))?;
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) if p.len() > MAX_PATH_LEN => {
            return Err(ScimError::InvalidPath(format!(
                "path longer than {MAX_PATH_LEN} bytes"
            )))
        }
        Some(Value::String(p)) => Some(p.trim().to_string()),
        Some(_) => return Err(ScimError::InvalidPath("'path' must be a string".into())),
    };
    let value = field("value").cloned();
    if op != OpKind::Remove && value.is_none() {
        return Err(ScimError::InvalidValue(format!(
            "'{}' needs a value",
            op.as_str()
        )));
    }
    Ok(Operation { op, path, value })
}

/// A parsed PATCH path: `attr[.sub]` or `attr[filter][.sub]`.
struct Path {
    at: AttrRef,
    filter: Option<Filter>,
}

fn parse_path(kind: ResourceKind, path: &str) -> Result<Path> {
    let invalid = |d: String| ScimError::InvalidPath(d);
    let Some(open) = path.find('[') else {
        return Ok(Path {
            at: schema::resolve(kind, path).map_err(invalid)?,
            filter: None,
        });
    };
    let (head, rest) = path.split_at(open);
    let at = schema::resolve(kind, head).map_err(invalid)?;
    if at.sub.is_some() || at.attr.ty != AttrType::Complex || !at.attr.multi_valued {
        return Err(invalid(format!(
            "'{head}' is not a multi-valued complex attribute"
        )));
    }
    // The closing bracket is the first one outside a quoted string.
    let close =
        closing_bracket(rest).ok_or_else(|| invalid(format!("no closing ']' in '{path}'")))?;
    let inside = rest.get(1..close).unwrap_or_default();
    let after = rest.get(close + 1..).unwrap_or_default();
    let filter = filter::parse_value_filter(kind, at, inside)
        .map_err(|e| invalid(format!("bad filter in path: {}", e.detail())))?;
    let sub = match after {
        "" => None,
        s => {
            let name = s
                .strip_prefix('.')
                .ok_or_else(|| invalid(format!("unexpected '{s}' after ']'")))?;
            Some(
                at.attr
                    .sub_attr(name)
                    .ok_or_else(|| invalid(format!("unknown sub-attribute '{name}'")))?,
            )
        }
    };
    Ok(Path {
        at: AttrRef { sub, ..at },
        filter: Some(filter),
    })
}

fn closing_bracket(s: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

/// Applies the request to a resource's SCIM JSON, all or nothing: the input is not changed,
/// and an error means no operation took effect.
pub fn apply(kind: ResourceKind, resource: &Value, request: &PatchRequest) -> Result<Value> {
    let mut root = resource
        .as_object()
        .cloned()
        .ok_or_else(|| ScimError::InvalidSyntax("the resource must be a JSON object".into()))?;
    for op in &request.operations {
        apply_one(kind, &mut root, op)?;
    }
    Ok(Value::Object(root))
}

/// Patches a user: the result is read back as a User, so a patch that leaves it invalid
/// (no `userName`, a mistyped value) fails whole. `id` and `meta` are kept.
pub fn patch_user(user: &User, request: &PatchRequest) -> Result<User> {
    let patched = apply(ResourceKind::User, &user.to_json(), request)?;
    let mut out = User::from_json(&patched)?;
    out.id = user.id.clone();
    out.meta = user.meta.clone();
    Ok(out)
}

/// Patches a group, as [`patch_user`] does a user.
pub fn patch_group(group: &Group, request: &PatchRequest) -> Result<Group> {
    let patched = apply(ResourceKind::Group, &group.to_json(), request)?;
    let mut out = Group::from_json(&patched)?;
    out.id = group.id.clone();
    out.meta = group.meta.clone();
    Ok(out)
}

/// The member ids a patch added and removed, for the store to apply as edge changes.
pub fn member_changes(before: &Group, after: &Group) -> (Vec<String>, Vec<String>) {
    let old = before.member_ids();
    let new = after.member_ids();
    let added = new.iter().filter(|m| !old.contains(m)).cloned().collect();
    let removed = old.iter().filter(|m| !new.contains(m)).cloned().collect();
    (added, removed)
}

fn apply_one(kind: ResourceKind, root: &mut Map<String, Value>, op: &Operation) -> Result<()> {
    let Some(path) = op.path.as_deref() else {
        return match (op.op, &op.value) {
            (OpKind::Remove, _) => Err(ScimError::NoTarget("remove needs a path".into())),
            (_, Some(Value::Object(fields))) => {
                // Keys that are paths through a value filter (`emails[type eq "work"].value`,
                // as Entra may send) are applied as if each came with that path; the operation
                // they form has a path, so this goes one level deep at most.
                let mut plain = Map::new();
                for (key, v) in fields {
                    if !key.contains('[') {
                        plain.insert(key.clone(), v.clone());
                        continue;
                    }
                    if key.len() > MAX_PATH_LEN {
                        return Err(ScimError::InvalidPath(format!(
                            "path longer than {MAX_PATH_LEN} bytes"
                        )));
                    }
                    let one = Operation {
                        op: op.op,
                        path: Some(key.clone()),
                        value: Some(v.clone()),
                    };
                    apply_one(kind, root, &one)?;
                }
                merge_object(kind, root, &Value::Object(plain), op.op)
            }
            (_, Some(value)) => merge_object(kind, root, value, op.op),
            (_, None) => Err(ScimError::InvalidValue("missing value".into())),
        };
    };
    // A whole extension named as the path: its value is that extension's object.
    if let Some(ext) = kind
        .extensions()
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(path))
    {
        return match (op.op, &op.value) {
            (OpKind::Remove, _) => {
                root.remove(ext.id);
                Ok(())
            }
            (_, Some(value)) => {
                let mut wrapped = Map::new();
                wrapped.insert(ext.id.into(), value.clone());
                merge_object(kind, root, &Value::Object(wrapped), op.op)
            }
            (_, None) => Err(ScimError::InvalidValue("missing value".into())),
        };
    }
    if schema::is_unkept(kind, path) {
        return Ok(());
    }
    let Path { at, filter } = parse_path(kind, path)?;
    if !at.writable() {
        return Err(ScimError::Mutability(format!(
            "'{}' is read-only",
            at.leaf().name
        )));
    }
    let value = op.value.as_ref();
    match at.extension {
        Some(ext) => with_object(root, ext.id, |c| {
            at_path(c, &at, filter.as_ref(), op.op, value)
        }),
        None => at_path(root, &at, filter.as_ref(), op.op, value),
    }
}

/// A path-less `add` or `replace`: each attribute of the object is set as if named by a path.
fn merge_object(
    kind: ResourceKind,
    root: &mut Map<String, Value>,
    value: &Value,
    op: OpKind,
) -> Result<()> {
    if !value.is_object() {
        return Err(ScimError::InvalidValue(
            "an operation without a path needs an object value".into(),
        ));
    }
    let canonical = canonicalize(kind, value, ReadOnly::Refuse)?;
    let Value::Object(fields) = canonical else {
        return Ok(());
    };
    for (key, v) in fields {
        if key == "schemas" {
            continue;
        }
        if let Some(ext) = kind.extensions().iter().find(|s| s.id == key) {
            let Value::Object(inner) = v else { continue };
            with_object(root, ext.id, |c| {
                for (name, v) in inner {
                    if let Some(def) = ext.attributes.iter().find(|a| a.name == name) {
                        set_attr(c, def, v, op);
                    }
                }
                Ok(())
            })?;
            continue;
        }
        let def = COMMON
            .iter()
            .chain(kind.core().attributes)
            .find(|a| a.name == key);
        if let Some(def) = def {
            set_attr(root, def, v, op);
        }
    }
    Ok(())
}

/// Sets an attribute from an already canonical value.
fn set_attr(container: &mut Map<String, Value>, def: &AttrDef, value: Value, op: OpKind) {
    if value.is_null() {
        container.remove(def.name);
        return;
    }
    match (def.multi_valued, def.ty, op) {
        (true, _, OpKind::Add) => {
            let mut items = match container.remove(def.name) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            if let Value::Array(new) = value {
                for item in new {
                    if !items.iter().any(|old| same_element(def, old, &item)) {
                        items.push(item);
                    }
                }
            }
            let newest_primary = items.iter().rposition(is_primary);
            demote_primaries(&mut items, newest_primary);
            container.insert(def.name.into(), Value::Array(items));
        }
        // Replacing a complex attribute keeps the sub-attributes the value leaves out
        // (RFC 7644 §3.5.2.3); adding to one merges the same way.
        (false, AttrType::Complex, _) => {
            let mut merged = match container.remove(def.name) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            if let Value::Object(new) = value {
                merged.extend(new);
            }
            container.insert(def.name.into(), Value::Object(merged));
        }
        _ => {
            container.insert(def.name.into(), value);
        }
    }
}

/// Whether two elements of a multi-valued attribute are the same value: by `value` where the
/// attribute has a case-exact one (a member id), else whole.
fn same_element(def: &AttrDef, a: &Value, b: &Value) -> bool {
    match def.sub_attr("value") {
        Some(v) if v.case_exact => a.get("value").is_some() && a.get("value") == b.get("value"),
        _ => a == b,
    }
}

fn at_path(
    container: &mut Map<String, Value>,
    at: &AttrRef,
    filter: Option<&Filter>,
    op: OpKind,
    value: Option<&Value>,
) -> Result<()> {
    let attr = at.attr;
    let required = || value.ok_or_else(|| ScimError::InvalidValue("missing value".into()));
    match (filter, at.sub) {
        (Some(f), sub) => with_filter(container, attr, sub, f, op, value),
        (None, None) => match op {
            // The directory always holds a required attribute (a display name, an enabled
            // state): removing it would not leave it unassigned, so it is refused.
            OpKind::Remove if attr.required => Err(ScimError::Mutability(format!(
                "'{}' is required and cannot be removed",
                attr.name
            ))),
            OpKind::Remove => {
                match value {
                    // `remove` of `members` with a value list (as Entra sends) removes those.
                    Some(v) if attr.multi_valued && !v.is_null() => {
                        let gone = canonical::value_of(attr, v)?;
                        let gone = gone.as_array().cloned().unwrap_or_default();
                        if let Some(Value::Array(items)) = container.get_mut(attr.name) {
                            items.retain(|e| !gone.iter().any(|g| same_element(attr, e, g)));
                        }
                    }
                    _ => {
                        container.remove(attr.name);
                    }
                }
                drop_if_empty(container, attr.name);
                Ok(())
            }
            _ => {
                let v = canonical::value_of(attr, required()?)?;
                set_attr(container, attr, v, op);
                Ok(())
            }
        },
        (None, Some(sub)) if !attr.multi_valued => {
            match op {
                OpKind::Remove => {
                    if let Some(Value::Object(o)) = container.get_mut(attr.name) {
                        o.remove(sub.name);
                    }
                }
                _ => {
                    let v = canonical::single(sub, required()?)?;
                    with_object(container, attr.name, |o| {
                        o.insert(sub.name.into(), v);
                        Ok(())
                    })?;
                }
            }
            drop_if_empty(container, attr.name);
            Ok(())
        }
        (None, Some(sub)) => Err(ScimError::InvalidPath(format!(
            "'{}.{}' needs a filter to say which value",
            attr.name, sub.name
        ))),
    }
}

/// An operation on the elements of a multi-valued attribute that a value filter selects.
fn with_filter(
    container: &mut Map<String, Value>,
    attr: &'static AttrDef,
    sub: Option<&'static AttrDef>,
    filter: &Filter,
    op: OpKind,
    value: Option<&Value>,
) -> Result<()> {
    let mut items = match container.remove(attr.name) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| filter.matches_element(&Value::Null, e))
        .map(|(i, _)| i)
        .collect();
    let outcome = (|| {
        if op == OpKind::Remove {
            // Removing what is already gone is not an error: provisioning clients retry.
            match sub {
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !matched.contains(&(i - 1))
                    });
                }
                Some(s) => {
                    for &i in &matched {
                        if let Some(Value::Object(o)) = items.get_mut(i) {
                            o.remove(s.name);
                        }
                    }
                }
            }
            return Ok(());
        }
        let value = value.ok_or_else(|| ScimError::InvalidValue("missing value".into()))?;
        // What the value turns into: the sub-attribute, or the fields of a whole element.
        let fields: Map<String, Value> = match sub {
            Some(s) => {
                let mut m = Map::new();
                m.insert(s.name.into(), canonical::single(s, value)?);
                m
            }
            None => match canonical::single(attr, value)? {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        };
        if matched.is_empty() {
            // `add` to `emails[type eq "work"].value` with no work address yet (as Entra
            // sends) makes one from the filter's equalities; `replace` has nothing to change.
            let seed = match (op, equalities(filter)) {
                (OpKind::Add, Some(seed)) => seed,
                _ => {
                    return Err(ScimError::NoTarget(format!(
                        "no value of '{}' matches the filter",
                        attr.name
                    )))
                }
            };
            let mut element = seed;
            element.extend(fields);
            let primary = is_primary(&Value::Object(element.clone()));
            items.push(Value::Object(element));
            if primary {
                let newest = items.len() - 1;
                demote_primaries(&mut items, Some(newest));
            }
            return Ok(());
        }
        for &i in &matched {
            if let Some(Value::Object(o)) = items.get_mut(i) {
                o.extend(fields.clone());
            }
        }
        if fields.get("primary") == Some(&Value::Bool(true)) {
            demote_primaries(&mut items, matched.last().copied());
        }
        Ok(())
    })();
    container.insert(attr.name.into(), Value::Array(items));
    drop_if_empty(container, attr.name);
    outcome
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

/// At most one value may be primary (RFC 7643 §2.4): the one just set keeps it, as RFC 7644
/// §3.5.2 asks, and the others lose it.
fn demote_primaries(items: &mut [Value], keep: Option<usize>) {
    let Some(keep) = keep else { return };
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep && is_primary(item) {
            if let Value::Object(o) = item {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

/// The `sub eq value` parts of a filter made only of them (joined by `and`), as an element.
fn equalities(filter: &Filter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let parts: &[Filter] = match filter {
        Filter::And(parts) => parts,
        one => std::slice::from_ref(one),
    };
    for part in parts {
        match part {
            Filter::Compare(Operand::Sub(def), CompareOp::Eq, v) if !v.is_null() => {
                out.insert(def.name.into(), v.clone());
            }
            _ => return None,
        }
    }
    Some(out)
}

/// An attribute left empty is unassigned (RFC 7644 §3.5.2.2).
fn drop_if_empty(container: &mut Map<String, Value>, name: &str) {
    let empty = match container.get(name) {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    };
    if empty {
        container.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn req(ops: Value) -> PatchRequest {
        PatchRequest::from_json(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops})).unwrap()
    }

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA], "id": "u1", "userName": "a@x.com", "active": true,
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x.com", "type": "work", "primary": true},
                       {"value": "a@home.org", "type": "home"}],
            "meta": {"resourceType": "User"}
        })
    }

    fn run(ops: Value) -> Result<Value> {
        apply(ResourceKind::User, &user(), &req(ops))
    }

    #[test]
    fn replace_simple_sub_and_filtered_paths() {
        let out = run(json!([
            {"op": "replace", "path": "displayName", "value": "Alice"},
            {"op": "replace", "path": "name.familyName", "value": "C"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"}
        ]))
        .unwrap();
        assert_eq!(out["displayName"], "Alice");
        assert_eq!(out["name"], json!({"givenName": "A", "familyName": "C"}));
        assert_eq!(
            out["emails"][0],
            json!({"value": "new@x.com", "type": "work", "primary": true})
        );
        assert_eq!(out["emails"][1]["value"], "a@home.org");
    }

    #[test]
    fn pathless_add_and_replace_merge_objects() {
        let out = run(json!([
            {"op": "replace", "value": {"active": false, "name": {"givenName": "Z"},
                                        "displayName": "Z B"}},
            {"op": "add", "value": {"emails": [{"value": "z@other.org", "type": "other"}],
                                    ENTERPRISE_SCHEMA: {"department": "Ops"}}}
        ]))
        .unwrap();
        assert_eq!(out["active"], false);
        assert_eq!(out["name"], json!({"givenName": "Z", "familyName": "B"}));
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(3));
        assert_eq!(out[ENTERPRISE_SCHEMA]["department"], "Ops");
    }

    #[test]
    fn a_new_primary_value_demotes_the_old_one() {
        let out = run(json!([{"op": "add", "path": "emails",
                              "value": [{"value": "n@x.com", "type": "other", "primary": true}]}]))
        .unwrap();
        assert_eq!(out["emails"][0]["primary"], false);
        assert_eq!(out["emails"][2]["primary"], true);
        let out = run(
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary",
                              "value": "True"}]),
        )
        .unwrap();
        assert_eq!(out["emails"][0]["primary"], false);
        assert_eq!(out["emails"][1]["primary"], true);
        let before = User::from_json(&user()).unwrap();
        let r =
            req(json!([{"op": "add", "path": "emails[type eq \"home\"].primary", "value": true}]));
        let after = patch_user(&before, &r).unwrap();
        assert_eq!(
            after
                .emails
                .iter()
                .filter(|e| e.primary == Some(true))
                .count(),
            1
        );
        assert_eq!(after.emails[1].primary, Some(true));
        // An element made through a filter still needs its value.
        let r =
            req(json!([{"op": "add", "path": "emails[type eq \"other\"].primary", "value": true}]));
        assert_eq!(
            patch_user(&before, &r).unwrap_err().scim_type(),
            Some("invalidValue")
        );
    }

    #[test]
    fn replace_of_multi_valued_without_filter_replaces_all() {
        let out =
            run(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}]))
                .unwrap();
        assert_eq!(out["emails"], json!([{"value": "only@x.com"}]));
    }

    #[test]
    fn remove_paths() {
        let out = run(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "emails[type eq \"home\"]"}
        ]))
        .unwrap();
        // displayName and active are required: the directory always holds them.
        for path in ["displayName", "active"] {
            let e = run(json!([{"op": "remove", "path": path}])).unwrap_err();
            assert_eq!(e.scim_type(), Some("mutability"), "{path}");
        }
        assert_eq!(out["name"], json!({"familyName": "B"}));
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(1));
        let out = run(json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(out.get("emails").is_none());
        // Removing what does not exist is a no-op.
        run(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}])).unwrap();
    }

    #[test]
    fn add_through_a_filter_that_matches_nothing_creates_the_element() {
        let out = run(json!([
            {"op": "add", "path": "emails[type eq \"other\"].value", "value": "o@x.com"}
        ]))
        .unwrap();
        assert_eq!(
            out["emails"][2],
            json!({"type": "other", "value": "o@x.com"})
        );
        let e = run(json!([
            {"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x.com"}
        ]))
        .unwrap_err();
        assert_eq!(e.scim_type(), Some("noTarget"));
    }

    #[test]
    fn standard_attributes_not_kept_are_skipped_not_refused() {
        let out = run(json!([
            {"op": "Add", "path": "title", "value": "CEO"},
            {"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Oslo"},
            {"op": "Replace", "value": {"preferredLanguage": "nb-NO", "displayName": "D"}}
        ]))
        .unwrap();
        assert_eq!(out["displayName"], "D");
        assert!(out.get("title").is_none() && out.get("phoneNumbers").is_none());
        let e = run(json!([{"op": "replace", "path": "password", "value": "x"}])).unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidPath"));
    }

    #[test]
    fn extension_paths() {
        let out = run(json!([
            {"op": "add", "path": format!("{ENTERPRISE_SCHEMA}:employeeNumber"), "value": "42"},
            {"op": "add", "path": format!("{ENTERPRISE_SCHEMA}:manager"), "value": {"value": "m"}}
        ]))
        .unwrap();
        assert_eq!(
            out[ENTERPRISE_SCHEMA],
            json!({"employeeNumber": "42", "manager": {"value": "m"}})
        );
        let out = apply(
            ResourceKind::User,
            &out,
            &req(json!([{"op": "remove", "path": format!("{ENTERPRISE_SCHEMA}:manager")}])),
        )
        .unwrap();
        assert_eq!(out[ENTERPRISE_SCHEMA], json!({"employeeNumber": "42"}));
    }

    #[test]
    fn errors_have_the_right_scim_types() {
        let cases = [
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "value": {"id": "x"}}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "favouriteColour", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq ]", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"work\"]x", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails.value", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
                "invalidValue",
            ),
            (
                json!([{"op": "replace", "path": "userName", "value": 7}]),
                "invalidValue",
            ),
            (
                json!([{"op": "replace", "value": "not an object"}]),
                "invalidValue",
            ),
            (json!([{"op": "remove"}]), "noTarget"),
        ];
        for (ops, want) in cases {
            let e = run(ops.clone()).unwrap_err();
            assert_eq!(e.scim_type(), Some(want), "{ops}");
        }
    }

    #[test]
    fn a_failing_operation_leaves_nothing_applied() {
        let before = User::from_json(&user()).unwrap();
        let r = req(json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "id", "value": "forged"}
        ]));
        assert!(patch_user(&before, &r).is_err());
        // The input is untouched; callers store only an Ok result.
        assert_eq!(before.display_name, None);
        // Removing a required attribute fails the whole request too.
        let r = req(json!([{"op": "remove", "path": "userName"}]));
        assert_eq!(
            patch_user(&before, &r).unwrap_err().scim_type(),
            Some("mutability")
        );
    }

    #[test]
    fn arbitrary_operations_never_panic_and_fail_whole() {
        let paths = [
            Value::Null,
            json!("emails"),
            json!("emails[type eq \"work\"]"),
            json!("emails[type eq \"work\"].value"),
            json!("emails[value co \"@\" and not (type eq \"home\")].primary"),
            json!("name"),
            json!("name.givenName"),
            json!("active"),
            json!("userName"),
            json!("meta.created"),
            json!(format!("{ENTERPRISE_SCHEMA}:manager.value")),
            json!(ENTERPRISE_SCHEMA),
            json!("emails["),
            json!("title"),
        ];
        let values = [
            Value::Null,
            json!("z@x.com"),
            json!("False"),
            json!(true),
            json!(7),
            json!([{"value": "q@x.com", "type": "work", "primary": true}]),
            json!({"givenName": "G", "value": "v"}),
            json!({"active": "True", "name.familyName": "F",
                   "emails[type eq \"work\"].value": "w@x.com"}),
        ];
        let kinds = ["add", "Replace", "remove"];
        let before = User::from_json(&user()).unwrap();
        let mut seed: u64 = 0xfeed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut applied = 0;
        for _ in 0..2_000 {
            let count = next(4) + 1;
            let ops: Vec<Value> = (0..count)
                .map(|_| {
                    let mut op = json!({"op": kinds[next(kinds.len())]});
                    let path = &paths[next(paths.len())];
                    if !path.is_null() {
                        op["path"] = path.clone();
                    }
                    op["value"] = values[next(values.len())].clone();
                    op
                })
                .collect();
            let Ok(r) = PatchRequest::from_json(&json!({"Operations": ops})) else {
                continue;
            };
            if let Ok(after) = patch_user(&before, &r) {
                applied += 1;
                assert_eq!(after.id, before.id);
                assert!(
                    after
                        .emails
                        .iter()
                        .filter(|e| e.primary == Some(true))
                        .count()
                        <= 1
                );
            }
        }
        assert!(applied > 100, "only {applied} requests applied");
    }

    #[test]
    fn request_shape_and_bounds() {
        let op = json!({"op": "add", "path": "displayName", "value": "x"});
        let many = vec![op.clone(); MAX_PATCH_OPERATIONS + 1];
        let e = PatchRequest::from_json(&json!({"schemas": [PATCH_SCHEMA], "Operations": many}))
            .unwrap_err();
        assert_eq!(e.scim_type(), Some("tooMany"));
        let enough = vec![op; MAX_PATCH_OPERATIONS];
        assert!(PatchRequest::from_json(&json!({"Operations": enough})).is_ok());
        for bad in [
            json!({"Operations": []}),
            json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "value": {}}]}),
            json!({"Operations": [{"op": "move", "path": "a"}]}),
            json!({"Operations": [{"path": "a"}]}),
            json!([]),
        ] {
            let e = PatchRequest::from_json(&bad).unwrap_err();
            assert_eq!(e.scim_type(), Some("invalidSyntax"), "{bad}");
        }
        let e = PatchRequest::from_json(&json!({"Operations": [{"op": "add", "path": "a"}]}))
            .unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidValue"));
        let long = "a".repeat(MAX_PATH_LEN + 1);
        let e = PatchRequest::from_json(&json!({"Operations": [{"op": "remove", "path": long}]}))
            .unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidPath"));
    }

    #[test]
    fn group_members_add_and_remove() {
        let g = Group::from_json(&json!({"schemas": [GROUP_SCHEMA], "displayName": "G",
            "members": [{"value": "u1"}, {"value": "u2"}]}))
        .unwrap();
        let r = req(json!([
            {"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"}
        ]));
        let after = patch_group(&g, &r).unwrap();
        assert_eq!(after.member_ids(), vec!["u1", "u3"]);
        assert_eq!(
            member_changes(&g, &after),
            (vec!["u3".to_string()], vec!["u2".to_string()])
        );
        let e = patch_group(&g, &req(json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}])))
            .unwrap_err();
        assert_eq!(e.scim_type(), Some("mutability"));
    }
}
