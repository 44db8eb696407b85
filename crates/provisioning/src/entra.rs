//! What Microsoft Entra's provisioning service sends that a strict reader would refuse
//! (Microsoft's "Known issues and resolutions with SCIM 2.0 protocol compliance"): operation
//! names in any case (`Replace`), booleans as strings (`"False"`). Accepted here, in one place.

use serde_json::Value;

/// A boolean, or a string that spells one in any case (`"True"`, `"false"`).
pub fn coerce_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A PATCH operation name in any case (`add`, `Add`, `REPLACE`).
pub fn parse_op(name: &str) -> Option<crate::patch::OpKind> {
    use crate::patch::OpKind;
    [OpKind::Add, OpKind::Replace, OpKind::Remove]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(name))
}
