//! Small helpers shared by the checks: reading JSON, ages, scopes, outcomes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use crate::finding::Evidence;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::finding::Status;
use crate::inventory::{Provider, ResourceDoc, GLOBAL};
use crate::registry::{CheckCtx, Outcome, Subject};

/// Walks a JSON pointer (`/a/b/0`) without allocating. `serde_json`'s own `pointer`
/// unescapes every segment into a new `String`; checks read millions of paths, and ours
/// contain no `~` escapes.
pub fn walk<'v>(v: &'v Value, ptr: &str) -> Option<&'v Value> {
    if ptr.is_empty() {
        return Some(v);
    }
    let mut cur = v;
    for seg in ptr.strip_prefix('/')?.split('/') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// [`walk`] as a method: `doc.raw.at("/properties/x")`.
pub trait At {
    /// The value at a JSON pointer.
    fn at(&self, ptr: &str) -> Option<&Value>;
}

impl At for Value {
    fn at(&self, ptr: &str) -> Option<&Value> {
        walk(self, ptr)
    }
}

/// Writes an evidence object straight to JSON text: `ev!({"key": value, key_var: value})`.
/// Values are anything `Serialize`. Skipping the intermediate `serde_json::Map` matters when
/// a scan produces millions of findings.
macro_rules! ev {
    ({ $($k:tt : $v:expr),* $(,)? }) => {{
        let mut w = $crate::checks::util::EvWriter::new();
        $( w.field($k, &$v); )*
        w.finish()
    }};
}
pub(crate) use ev;

/// The buffer behind [`ev!`].
pub struct EvWriter {
    buf: Vec<u8>,
    ok: bool,
}

impl Default for EvWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl EvWriter {
    /// Starts an object.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.push(b'{');
        EvWriter { buf, ok: true }
    }

    /// Adds `"key": value`.
    pub fn field<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        if self.buf.len() > 1 {
            self.buf.push(b',');
        }
        self.ok &= serde_json::to_writer(&mut self.buf, key).is_ok();
        self.buf.push(b':');
        self.ok &= serde_json::to_writer(&mut self.buf, value).is_ok();
    }

    /// Closes the object; `null` if a value could not be written.
    pub fn finish(mut self) -> Evidence {
        self.buf.push(b'}');
        match (self.ok, String::from_utf8(self.buf)) {
            (true, Ok(s)) => Evidence::from_json_text(s),
            _ => Evidence::default(),
        }
    }
}

/// An outcome message: static text or a formatted string.
pub type Msg = std::borrow::Cow<'static, str>;

/// Reads a string at a JSON pointer.
pub fn s<'v>(v: &'v Value, ptr: &str) -> Option<&'v str> {
    v.at(ptr).and_then(Value::as_str)
}

/// Reads a boolean at a JSON pointer; also accepts the strings "true"/"false" (Azure and the
/// credential report use both).
pub fn b(v: &Value, ptr: &str) -> Option<bool> {
    match v.at(ptr)? {
        Value::Bool(x) => Some(*x),
        Value::String(x) if x.eq_ignore_ascii_case("true") => Some(true),
        Value::String(x) if x.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Reads an integer at a JSON pointer (numbers or numeric strings).
pub fn i(v: &Value, ptr: &str) -> Option<i64> {
    match v.at(ptr)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(x) => x.parse().ok(),
        _ => None,
    }
}

/// Reads an array at a JSON pointer (empty when absent or not an array).
pub fn arr<'v>(v: &'v Value, ptr: &str) -> &'v [Value] {
    v.at(ptr)
        .and_then(Value::as_array)
        .map(|a| a.as_slice())
        .unwrap_or(&[])
}

/// A value that may be a single item or a list (IAM policy `Action`, `Resource`, ...).
pub fn one_or_many(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(x) => vec![x],
    }
}

/// Parses an RFC 3339 timestamp (or Unix seconds) to Unix seconds.
pub fn parse_time(v: &Value) -> Option<i64> {
    match v {
        Value::String(t) => OffsetDateTime::parse(t, &Rfc3339)
            .ok()
            .map(|d| d.unix_timestamp()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Whole days from `then` to now (negative when in the future).
pub fn days_since(ctx: &CheckCtx<'_>, then: i64) -> i64 {
    (ctx.options.now - then).div_euclid(86_400)
}

/// Age in days of the timestamp at a pointer, if there is one.
pub fn age_days(ctx: &CheckCtx<'_>, v: &Value, ptr: &str) -> Option<i64> {
    v.at(ptr).and_then(parse_time).map(|t| days_since(ctx, t))
}

/// Builds an outcome for a document.
pub fn doc_outcome<'a>(
    doc: &'a ResourceDoc,
    status: Status,
    message: impl Into<std::borrow::Cow<'static, str>>,
    evidence: Evidence,
) -> Outcome<'a> {
    Outcome {
        subject: Subject::Doc(doc),
        status,
        message: message.into(),
        evidence,
    }
}

/// Builds an outcome for an account (region `global`) or one region.
pub fn scope_outcome<'a>(
    provider: Provider,
    account: &str,
    region: &str,
    status: Status,
    message: impl Into<std::borrow::Cow<'static, str>>,
    evidence: Evidence,
) -> Outcome<'a> {
    Outcome {
        subject: Subject::Scope {
            provider,
            account: account.to_string(),
            region: region.to_string(),
        },
        status,
        message: message.into(),
        evidence,
    }
}

/// PASS when `ok`, FAIL otherwise.
pub fn pass_if(ok: bool) -> Status {
    if ok {
        Status::Pass
    } else {
        Status::Fail
    }
}

/// Runs `f` for every document of a type and records what it returns.
pub fn per_doc<'a>(
    ctx: &CheckCtx<'a>,
    resource_type: &str,
    out: &mut Vec<Outcome<'a>>,
    mut f: impl FnMut(&'a ResourceDoc) -> Option<(Status, Msg, Evidence)>,
) {
    for d in ctx.inventory.of_type(resource_type) {
        if let Some((st, msg, ev)) = f(d) {
            out.push(doc_outcome(d, st, msg, ev));
        }
    }
}

/// The service prefix of a type: `aws.iam.password_policy` -> `aws.iam.`.
fn service_prefix(t: &str) -> &str {
    match t.match_indices('.').nth(1) {
        Some((n, _)) => &t[..=n],
        None => t,
    }
}

/// Accounts of a provider in which the service of `resource_type` was collected (any
/// document of the same service), or whose collection of this type failed.
pub fn collected_accounts(
    ctx: &CheckCtx<'_>,
    provider: Provider,
    resource_type: &str,
) -> Vec<String> {
    let prefix = service_prefix(resource_type);
    let mut set = BTreeSet::new();
    for (t, accounts) in ctx.inventory.accounts_by_type() {
        if t.starts_with(prefix) && t.starts_with(provider.as_str()) {
            set.extend(accounts.iter().cloned());
        }
    }
    // An error counts only for the type itself: a failed credential report says nothing
    // about whether the account's roles were listed.
    for e in ctx.inventory.collection_errors() {
        if e.provider == provider && e.resource_types.iter().any(|t| t == resource_type) {
            set.insert(e.account.clone());
        }
    }
    set.into_iter().collect()
}

/// For an account-level setting (one document per account): calls `f` with the document, or
/// records ERROR for accounts where the service was collected but the document is missing.
pub fn per_account_singleton<'a>(
    ctx: &CheckCtx<'a>,
    provider: Provider,
    resource_type: &str,
    out: &mut Vec<Outcome<'a>>,
    mut f: impl FnMut(&'a ResourceDoc) -> (Status, Msg, Evidence),
) {
    let mut by_account: BTreeMap<&str, &'a ResourceDoc> = BTreeMap::new();
    for d in ctx.inventory.of_type(resource_type) {
        by_account.entry(d.account.as_str()).or_insert(d);
    }
    for a in collected_accounts(ctx, provider, resource_type) {
        match by_account.get(a.as_str()) {
            Some(d) => {
                let (st, msg, ev) = f(d);
                out.push(doc_outcome(d, st, msg, ev));
            }
            None => out.push(missing(provider, &a, GLOBAL, resource_type)),
        }
    }
}

/// ERROR outcome for a document that should exist but was not collected.
pub fn missing<'a>(
    provider: Provider,
    account: &str,
    region: &str,
    resource_type: &str,
) -> Outcome<'a> {
    scope_outcome(
        provider,
        account,
        region,
        Status::Error,
        format!("no `{resource_type}` document in the inventory"),
        ev!({"missing_type": resource_type}),
    )
}

/// Regions of an AWS account: from the `aws.ec2.regions` document (enabled regions) when
/// present, otherwise every non-global region any document of the account is in.
pub fn aws_regions(ctx: &CheckCtx<'_>, account: &str) -> Vec<String> {
    if let Some(d) = ctx
        .inventory
        .of_type("aws.ec2.regions")
        .find(|d| d.account == account)
    {
        let mut v: Vec<String> = arr(&d.raw, "/Regions")
            .iter()
            .filter(|r| s(r, "/OptInStatus") != Some("not-opted-in"))
            .filter_map(|r| s(r, "/RegionName").map(String::from))
            .collect();
        v.sort();
        v.dedup();
        return v;
    }
    ctx.inventory.regions_of(Provider::Aws, account)
}

/// For a per-region setting (one document per account and region): calls `f` with each
/// region's document, or records ERROR for regions without one.
pub fn per_region_singleton<'a>(
    ctx: &CheckCtx<'a>,
    resource_type: &str,
    out: &mut Vec<Outcome<'a>>,
    mut f: impl FnMut(&'a ResourceDoc) -> (Status, Msg, Evidence),
) {
    let mut by_scope: BTreeMap<(&str, &str), &'a ResourceDoc> = BTreeMap::new();
    for d in ctx.inventory.of_type(resource_type) {
        by_scope
            .entry((d.account.as_str(), d.region.as_str()))
            .or_insert(d);
    }
    for a in collected_accounts(ctx, Provider::Aws, resource_type) {
        for r in aws_regions(ctx, &a) {
            match by_scope.get(&(a.as_str(), r.as_str())) {
                Some(d) => {
                    let (st, msg, ev) = f(d);
                    out.push(doc_outcome(d, st, msg, ev));
                }
                None => out.push(missing(Provider::Aws, &a, &r, resource_type)),
            }
        }
    }
}

/// Normalises an Azure location (`East US` -> `eastus`).
pub fn norm_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The parent of an Azure resource id: the id cut before `/<segment>/`, lower-cased.
pub fn azure_parent(id: &str, segment: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let needle = format!("/{}/", segment.to_ascii_lowercase());
    lower.find(&needle).map(|n| lower[..n].to_string())
}

/// Declares an Azure check.
pub const fn azure(
    id: &'static str,
    title: &'static str,
    severity: crate::finding::Severity,
    needs: &'static [&'static str],
    run: crate::registry::CheckFn,
) -> crate::registry::CheckDef {
    crate::registry::CheckDef {
        id,
        title,
        provider: Provider::Azure,
        severity,
        needs,
        run,
        applies: None,
    }
}

/// Azure subscriptions in the inventory (accounts of ARM data, not Graph tenants).
pub fn azure_subscriptions(ctx: &CheckCtx<'_>) -> Vec<String> {
    let mut set = BTreeSet::new();
    for (t, accounts) in ctx.inventory.accounts_by_type() {
        if t.starts_with("azure.") && !t.starts_with("azure.entra.") {
            set.extend(accounts.iter().cloned());
        }
    }
    for e in ctx.inventory.collection_errors() {
        if e.provider == Provider::Azure
            && e.resource_types
                .iter()
                .any(|t| !t.starts_with("azure.entra."))
        {
            set.insert(e.account.clone());
        }
    }
    set.into_iter().collect()
}

/// The last segment of a JSON pointer, used as the evidence key.
fn leaf(ptr: &str) -> &str {
    ptr.rsplit('/').next().unwrap_or(ptr)
}

/// A per-document check on one property: `ok` decides, the value is the evidence.
pub fn prop_check<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    resource_type: &str,
    ptr: &str,
    ok: fn(Option<&Value>) -> bool,
    good: &'static str,
    bad: &'static str,
) {
    per_doc(ctx, resource_type, out, |d| {
        let v = d.raw.at(ptr).filter(|v| !v.is_null());
        let pass = ok(v);
        Some((
            pass_if(pass),
            Msg::Borrowed(if pass { good } else { bad }),
            {
                let key = leaf(ptr);
                ev!({ key: v })
            },
        ))
    });
}

/// `true` (boolean or string).
pub fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(x)) => *x,
        Some(Value::String(x)) => x.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `false` (boolean or string).
pub fn is_false(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(x)) => !*x,
        Some(Value::String(x)) => x.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

/// A non-empty array.
pub fn non_empty_array(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// Case-insensitive string equality with one of `wanted`.
pub fn str_in(v: Option<&Value>, wanted: &[&str]) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|x| wanted.iter().any(|w| w.eq_ignore_ascii_case(x)))
}

/// Index of documents of a type by lower-cased id.
pub fn by_lower_id<'a>(
    ctx: &CheckCtx<'a>,
    resource_type: &str,
) -> std::collections::HashMap<String, &'a ResourceDoc> {
    ctx.inventory
        .of_type(resource_type)
        .map(|d| (d.id.to_ascii_lowercase(), d))
        .collect()
}
