//! SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, checked against the schema, and
//! evaluated on a resource's JSON. Bounded: the text's length is checked before it is read and
//! the nesting depth before each step down, so no input drives unbounded recursion.

use crate::entra::coerce_bool;
use crate::error::{Result, ScimError};
use crate::limits::{MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use crate::schema::{self, AttrDef, AttrRef, AttrType, ResourceKind};
use serde_json::Value;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// Reads an RFC 3339 date and time.
pub fn parse_date(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains.
    Co,
    /// Starts with.
    Sw,
    /// Ends with.
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// What a comparison reads.
#[derive(Debug, Clone, Copy)]
pub enum Operand {
    /// An attribute path from the resource's top.
    Attr(AttrRef),
    /// A sub-attribute of the element a value filter (`emails[...]`) is looking at.
    Sub(&'static AttrDef),
}

impl Operand {
    fn leaf(&self) -> &'static AttrDef {
        match self {
            Operand::Attr(r) => r.leaf(),
            Operand::Sub(d) => d,
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone)]
pub enum Filter {
    /// `attr pr`: the attribute has a value.
    Present(Operand),
    /// `attr op value`.
    Compare(Operand, CompareOp, Value),
    /// All of the parts hold.
    And(Vec<Filter>),
    /// Any of the parts holds.
    Or(Vec<Filter>),
    /// The part does not hold.
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued attribute matches the inner filter.
    ValuePath(AttrRef, Box<Filter>),
}

/// Parses a filter for resources of `kind`. Errors are `invalidFilter`.
pub fn parse(kind: ResourceKind, text: &str) -> Result<Filter> {
    let mut p = Parser::new(kind, text, None)?;
    let f = p.or_expr(0)?;
    p.finish()?;
    Ok(f)
}

/// Parses the inside of a value filter on the multi-valued attribute `attr` (the `...` of
/// `members[...]` in a PATCH path); the brackets count as one level of nesting.
pub fn parse_value_filter(kind: ResourceKind, attr: AttrRef, text: &str) -> Result<Filter> {
    let mut p = Parser::new(kind, text, Some(attr.attr))?;
    let f = p.or_expr(1)?;
    p.finish()?;
    Ok(f)
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::InvalidFilter(detail.into())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Str(String),
}

fn lex(text: &str) -> Result<Vec<Tok>> {
    let mut toks = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' | b')' | b'[' | b']' => {
                toks.push(match c {
                    b'(' => Tok::Open,
                    b')' => Tok::Close,
                    b'[' => Tok::OpenBracket,
                    _ => Tok::CloseBracket,
                });
                i += 1;
            }
            b'"' => {
                // A JSON string: find its end (skipping escaped characters), then let
                // serde_json decode the escapes.
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(invalid("unterminated string")),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                let raw = text.get(start..i).ok_or_else(|| invalid("bad string"))?;
                let s: String =
                    serde_json::from_str(raw).map_err(|_| invalid("bad string escape"))?;
                toks.push(Tok::Str(s));
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b'[' | b']' | b'"'
                    )
                {
                    i += 1;
                }
                let word = text.get(start..i).ok_or_else(|| invalid("bad character"))?;
                toks.push(Tok::Word(word.to_string()));
            }
        }
    }
    Ok(toks)
}

struct Parser {
    kind: ResourceKind,
    toks: Vec<Tok>,
    pos: usize,
    /// Inside a value filter: the multi-valued attribute whose sub-attributes are named.
    scope: Option<&'static AttrDef>,
}

impl Parser {
    fn new(kind: ResourceKind, text: &str, scope: Option<&'static AttrDef>) -> Result<Parser> {
        if text.len() > MAX_FILTER_LEN {
            return Err(invalid(format!(
                "filter longer than {MAX_FILTER_LEN} bytes"
            )));
        }
        Ok(Parser {
            kind,
            toks: lex(text)?,
            pos: 0,
            scope,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, tok: Tok) -> Result<()> {
        match self.next() {
            Some(t) if t == tok => Ok(()),
            _ => Err(invalid(format!("expected {tok:?}"))),
        }
    }

    fn finish(&self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(invalid(format!("unexpected {t:?}"))),
        }
    }

    /// Checked before every step down, so depth never exceeds the bound.
    fn deeper(depth: usize) -> Result<usize> {
        if depth >= MAX_FILTER_DEPTH {
            return Err(invalid(format!("nested deeper than {MAX_FILTER_DEPTH}")));
        }
        Ok(depth + 1)
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter> {
        // `a or b or c` is one flat node: chains cost no depth, in parsing or evaluation.
        let mut parts = vec![self.and_expr(depth)?];
        while self.peek_keyword("or") {
            self.pos += 1;
            parts.push(self.and_expr(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter> {
        let mut parts = vec![self.unary(depth)?];
        while self.peek_keyword("and") {
            self.pos += 1;
            parts.push(self.unary(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Filter> {
        if self.peek_keyword("not") && self.toks.get(self.pos + 1) == Some(&Tok::Open) {
            let inner_depth = Self::deeper(depth)?;
            self.pos += 2;
            let inner = self.or_expr(inner_depth)?;
            self.expect(Tok::Close)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Tok::Open) => {
                let inner_depth = Self::deeper(depth)?;
                let inner = self.or_expr(inner_depth)?;
                self.expect(Tok::Close)?;
                Ok(inner)
            }
            Some(Tok::Word(path)) => self.attr_expr(&path, depth),
            Some(t) => Err(invalid(format!("unexpected {t:?}"))),
            None => Err(invalid("unexpected end of filter")),
        }
    }

    fn operand(&self, path: &str) -> Result<Operand> {
        match self.scope {
            Some(parent) => parent
                .sub_attr(path)
                .map(Operand::Sub)
                .ok_or_else(|| invalid(format!("unknown sub-attribute '{}.{path}'", parent.name))),
            None => schema::resolve(self.kind, path)
                .map(Operand::Attr)
                .map_err(invalid),
        }
    }

    fn attr_expr(&mut self, path: &str, depth: usize) -> Result<Filter> {
        let operand = self.operand(path)?;
        if self.peek() == Some(&Tok::OpenBracket) {
            let Operand::Attr(r) = operand else {
                return Err(invalid("value filters do not nest"));
            };
            if r.sub.is_some() || r.attr.ty != AttrType::Complex || !r.attr.multi_valued {
                return Err(invalid(format!(
                    "'{}' is not a multi-valued complex attribute",
                    r.attr.name
                )));
            }
            let inner_depth = Self::deeper(depth)?;
            self.pos += 1;
            let outer = self.scope.replace(r.attr);
            let inner = self.or_expr(inner_depth);
            self.scope = outer;
            let inner = inner?;
            self.expect(Tok::CloseBracket)?;
            return Ok(Filter::ValuePath(r, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(operand));
            }
            Some(Tok::Word(w)) => {
                CompareOp::parse(&w).ok_or_else(|| invalid(format!("unknown operator '{w}'")))?
            }
            _ => return Err(invalid(format!("expected an operator after '{path}'"))),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) => serde_json::from_str::<Value>(&w)
                .ok()
                .filter(|v| v.is_boolean() || v.is_null() || v.is_number())
                .ok_or_else(|| invalid(format!("bad comparison value '{w}'")))?,
            _ => return Err(invalid(format!("expected a value after '{path}'"))),
        };
        let operand = default_to_value(operand)?;
        check_comparison(operand.leaf(), op, &value)?;
        Ok(Filter::Compare(operand, op, value))
    }
}

/// A comparison on a complex attribute reads its `value` sub-attribute (`emails eq "a@x.com"`).
fn default_to_value(operand: Operand) -> Result<Operand> {
    match operand {
        Operand::Attr(r) if r.leaf().ty == AttrType::Complex => {
            let sub = r.attr.sub_attr("value").ok_or_else(|| {
                invalid(format!(
                    "'{}' is complex and cannot be compared",
                    r.attr.name
                ))
            })?;
            Ok(Operand::Attr(AttrRef {
                sub: Some(sub),
                ..r
            }))
        }
        other => Ok(other),
    }
}

/// Refuses comparisons the attribute's type does not allow (RFC 7644 §3.4.2.2).
fn check_comparison(attr: &AttrDef, op: CompareOp, value: &Value) -> Result<()> {
    if value.is_null() {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(()),
            _ => Err(invalid("null is only compared with eq and ne")),
        };
    }
    match attr.ty {
        AttrType::Boolean => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return Err(invalid(format!(
                    "'{}' is a boolean: eq or ne only",
                    attr.name
                )));
            }
            coerce_bool(value)
                .map(|_| ())
                .ok_or_else(|| invalid(format!("'{}' is compared with a boolean", attr.name)))
        }
        AttrType::DateTime if !op.is_substring() => value
            .as_str()
            .and_then(parse_date)
            .map(|_| ())
            .ok_or_else(|| invalid(format!("'{}' is compared with a date", attr.name))),
        _ => value
            .is_string()
            .then_some(())
            .ok_or_else(|| invalid(format!("'{}' is compared with a string", attr.name))),
    }
}

impl Filter {
    /// Whether the resource (its SCIM JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        self.eval(resource, None)
    }

    /// Whether one element of a multi-valued attribute matches a value filter.
    pub fn matches_element(&self, resource: &Value, element: &Value) -> bool {
        self.eval(resource, Some(element))
    }

    fn eval(&self, root: &Value, element: Option<&Value>) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|f| f.eval(root, element)),
            Filter::Or(parts) => parts.iter().any(|f| f.eval(root, element)),
            Filter::Not(inner) => !inner.eval(root, element),
            Filter::Present(op) => values(root, element, op).into_iter().any(has_value),
            Filter::Compare(operand, op, expected) => {
                let found = values(root, element, operand);
                let leaf = operand.leaf();
                match (op, expected.is_null()) {
                    (CompareOp::Eq, true) => !found.into_iter().any(has_value),
                    (CompareOp::Ne, true) => found.into_iter().any(has_value),
                    (CompareOp::Ne, false) => !found
                        .into_iter()
                        .any(|v| compare(leaf, CompareOp::Eq, v, expected)),
                    _ => found.into_iter().any(|v| compare(leaf, *op, v, expected)),
                }
            }
            Filter::ValuePath(r, inner) => {
                elements(root, r).iter().any(|e| inner.eval(root, Some(e)))
            }
        }
    }
}

fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// The value of `r`'s attribute (not its sub-attribute) as a list: a multi-valued attribute's
/// elements, or the single value.
pub(crate) fn elements<'a>(root: &'a Value, r: &AttrRef) -> Vec<&'a Value> {
    let container = match r.extension {
        Some(ext) => root.get(ext.id),
        None => Some(root),
    };
    match container.and_then(|c| c.get(r.attr.name)) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(v) => vec![v],
    }
}

/// Every value an operand names (one per element for multi-valued attributes).
fn values<'a>(root: &'a Value, element: Option<&'a Value>, operand: &Operand) -> Vec<&'a Value> {
    match operand {
        Operand::Sub(def) => element.and_then(|e| e.get(def.name)).into_iter().collect(),
        Operand::Attr(r) => {
            let items = elements(root, r);
            match r.sub {
                None => items,
                Some(sub) => items.into_iter().filter_map(|e| e.get(sub.name)).collect(),
            }
        }
    }
}

fn compare(attr: &AttrDef, op: CompareOp, actual: &Value, expected: &Value) -> bool {
    match attr.ty {
        AttrType::Boolean => match (coerce_bool(actual), coerce_bool(expected)) {
            (Some(a), Some(b)) => match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                _ => false,
            },
            _ => false,
        },
        AttrType::DateTime if !op.is_substring() => {
            match (
                actual.as_str().and_then(parse_date),
                expected.as_str().and_then(parse_date),
            ) {
                (Some(a), Some(b)) => ordered(op, a.cmp(&b)),
                _ => false,
            }
        }
        _ => match (actual.as_str(), expected.as_str()) {
            (Some(a), Some(b)) if attr.case_exact => strings(op, a, b),
            (Some(a), Some(b)) => strings(op, &a.to_lowercase(), &b.to_lowercase()),
            _ => false,
        },
    }
}

fn strings(op: CompareOp, a: &str, b: &str) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ordered(op, a.cmp(b)),
    }
}

fn ordered(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        _ => false,
    }
}

impl Filter {
    /// If the filter is exactly `attr eq "value"` on `userName`, `externalId`, `id` or
    /// `displayName`, the attribute's name and the value: the lookups Entra makes, which the
    /// store can answer with an index instead of a scan.
    pub fn simple_equality(&self) -> Option<(&'static str, &str)> {
        match self {
            Filter::Compare(Operand::Attr(r), CompareOp::Eq, Value::String(v))
                if r.extension.is_none()
                    && r.sub.is_none()
                    && matches!(
                        r.attr.name,
                        "userName" | "externalId" | "id" | "displayName"
                    ) =>
            {
                Some((r.attr.name, v))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": "2819c223", "externalId": "Ext-1", "userName": "Bjensen@Example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "displayName": "Babs Jensen", "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@jensen.org", "type": "home"}],
            "meta": {"resourceType": "User", "created": "2011-08-01T18:29:49Z",
                     "lastModified": "2011-08-01T18:29:49.793Z"},
            ENTERPRISE_SCHEMA: {"department": "Tour Operations", "manager": {"value": "26118915"}}
        })
    }

    fn check(filter: &str) -> bool {
        parse(ResourceKind::User, filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(&user())
    }

    #[test]
    fn comparison_operators() {
        assert!(check(r#"userName eq "bjensen@example.com""#));
        assert!(check(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#));
        assert!(
            !check(r#"externalId eq "ext-1""#),
            "externalId is caseExact"
        );
        assert!(check(r#"externalId eq "Ext-1""#));
        assert!(check(r#"userName ne "x""#));
        assert!(check(r#"name.familyName co "ens""#));
        assert!(check(r#"userName sw "bjen""#));
        assert!(check(r#"userName ew "example.com""#));
        assert!(check(r#"displayName gt "A""#));
        assert!(check(r#"displayName lt "C""#));
        assert!(check(
            r#"displayName ge "Babs Jensen" and displayName le "Babs Jensen""#
        ));
        assert!(check("name.givenName pr"));
        assert!(!check("name.formatted pr"));
        assert!(check("active eq true"));
        assert!(!check("active eq false"));
        assert!(check("name.formatted eq null"));
    }

    #[test]
    fn multi_valued_and_value_filters() {
        assert!(check(r#"emails.value eq "babs@jensen.org""#));
        assert!(check(r#"emails co "jensen.org""#));
        assert!(check(
            r#"emails[type eq "work" and value co "@example.com"]"#
        ));
        assert!(!check(
            r#"emails[type eq "work" and value co "jensen.org"]"#
        ));
        assert!(check(r#"emails[not (type eq "work")]"#));
        assert!(check(r#"emails.type eq "home""#));
    }

    #[test]
    fn logic_and_grouping() {
        assert!(check(
            r#"userName eq "x" or (active eq true and name.familyName eq "jensen")"#
        ));
        assert!(!check(
            r#"(userName eq "x" or active eq false) and name.familyName eq "jensen""#
        ));
        assert!(check(r#"not (userName eq "x")"#));
        assert!(check(
            r#"userName eq "x" or userName eq "y" or id eq "2819c223""#
        ));
        // and binds tighter than or.
        assert!(check(r#"id eq "2819c223" or id eq "x" and id eq "y""#));
    }

    #[test]
    fn dates_compare_as_dates() {
        // .793Z is after 49Z even though a string comparison would say otherwise for "+00:00".
        assert!(check(r#"meta.lastModified gt "2011-08-01T18:29:49Z""#));
        assert!(check(r#"meta.lastModified lt "2011-08-01T20:29:50+02:00""#));
        assert!(check(r#"meta.created eq "2011-08-01T20:29:49+02:00""#));
        let e = parse(ResourceKind::User, r#"meta.created gt "yesterday""#).unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidFilter"));
    }

    #[test]
    fn extension_attributes() {
        assert!(check(&format!(
            r#"{ENTERPRISE_SCHEMA}:department eq "tour operations""#
        )));
        assert!(check(&format!(
            r#"{ENTERPRISE_SCHEMA}:manager.value eq "26118915""#
        )));
        assert!(check(&format!(r#"{USER_SCHEMA}:userName sw "b""#)));
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"nickName eq "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"userName eq "a" and"#,
            r#"active gt true"#,
            r#"active eq "maybe""#,
            r#"userName eq 5"#,
            r#"userName eq bare"#,
            r#"emails[type eq "work""#,
            r#"emails[type[value eq "x"]]"#,
            r#"userName[value eq "x"]"#,
            r#"userName eq "unterminated"#,
            r#"name eq "x""#,
            r#"userName gt null"#,
        ] {
            let e = parse(ResourceKind::User, bad).unwrap_err();
            assert_eq!(e.scim_type(), Some("invalidFilter"), "{bad}");
            assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn bounds_are_checked_before_reading() {
        let long = format!(r#"userName eq "{}""#, "a".repeat(MAX_FILTER_LEN));
        assert!(matches!(
            parse(ResourceKind::User, &long),
            Err(ScimError::InvalidFilter(_))
        ));
        let ok = format!(
            "{}userName eq \"a\"{}",
            "(".repeat(MAX_FILTER_DEPTH),
            ")".repeat(MAX_FILTER_DEPTH)
        );
        assert!(parse(ResourceKind::User, &ok).is_ok());
        let deep = format!("({ok})");
        assert!(matches!(
            parse(ResourceKind::User, &deep),
            Err(ScimError::InvalidFilter(_))
        ));
        // Thousands of nots within 4 KiB stop at the bound instead of overflowing the stack.
        let nots = "not (".repeat(800);
        assert!(parse(ResourceKind::User, &nots).is_err());
        // Long flat chains are fine: they cost no depth.
        let chain = vec![r#"id eq "x""#; 200].join(" or ");
        assert!(parse(ResourceKind::User, &chain).is_ok());
    }

    #[test]
    fn arbitrary_token_soup_never_panics() {
        // A fixed pseudo-random sequence, so a failure reproduces.
        let pieces = [
            "(",
            ")",
            "[",
            "]",
            " ",
            "not",
            "and",
            "or",
            "eq",
            "pr",
            "gt",
            "co",
            "\"x\"",
            "\"",
            "\\",
            "emails",
            "type",
            "value",
            "name.familyName",
            "meta.lastModified",
            "true",
            "null",
            "5",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            ".",
            "é",
        ];
        let mut seed: u64 = 0x5eed;
        for _ in 0..3_000 {
            let mut text = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 58) as usize + 1;
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
                text.push(' ');
            }
            if let Ok(f) = parse(ResourceKind::User, &text) {
                let _ = f.matches(&user());
            }
        }
    }

    #[test]
    fn entra_lookups_are_simple_equalities() {
        let f = parse(
            ResourceKind::User,
            r#"userName eq "Test_User_00aa00aa@contoso.com""#,
        )
        .unwrap();
        assert_eq!(
            f.simple_equality(),
            Some(("userName", "Test_User_00aa00aa@contoso.com"))
        );
        let f = parse(ResourceKind::Group, r#"displayName eq "Group1DisplayName""#).unwrap();
        assert_eq!(
            f.simple_equality(),
            Some(("displayName", "Group1DisplayName"))
        );
        let f = parse(ResourceKind::User, r#"userName sw "a""#).unwrap();
        assert_eq!(f.simple_equality(), None);
    }

    #[test]
    fn group_member_filters() {
        let g = json!({"displayName": "Sales", "members": [{"value": "u1"}, {"value": "u2"}]});
        let f = parse(ResourceKind::Group, r#"members[value eq "u2"]"#).unwrap();
        assert!(f.matches(&g));
        let f = parse(ResourceKind::Group, r#"members.value eq "u3""#).unwrap();
        assert!(!f.matches(&g));
        let f = parse(ResourceKind::Group, r#"displayName eq "sales""#).unwrap();
        assert!(f.matches(&g));
    }
}
