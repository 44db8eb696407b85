//! Helpers every service module shares: where a document belongs, error documents, JSON for
//! SDK values that have no `Serialize`.

use std::error::Error;
use std::future::Future;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::DateTime;
use serde_json::Value;
use trustplane_posture::{Provider, ResourceDoc, GLOBAL};

/// The account and region a collection runs for (`global` for IAM and S3 listings).
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub account: String,
    pub region: String,
    /// Per-resource fan-out inside one collection.
    pub fan_out: usize,
}

impl Scope {
    pub fn global(account: &str, fan_out: usize) -> Self {
        Scope {
            account: account.to_string(),
            region: GLOBAL.to_string(),
            fan_out,
        }
    }

    pub fn in_region(&self, region: &str) -> Self {
        Scope {
            region: region.to_string(),
            ..self.clone()
        }
    }

    /// A resource document in this scope.
    pub fn doc(&self, resource_type: &str, id: &str, name: &str, raw: Value) -> ResourceDoc {
        ResourceDoc::new(
            Provider::Aws,
            &self.account,
            &self.region,
            resource_type,
            id,
            name,
            raw,
        )
    }

    /// A `collection_error` document: `types` are unknown in this scope (or for one resource).
    pub fn error(
        &self,
        service: &str,
        types: &[&str],
        message: &str,
        resource_id: Option<&str>,
    ) -> ResourceDoc {
        ResourceDoc::collection_error(
            Provider::Aws,
            &self.account,
            &self.region,
            service,
            types,
            message,
            resource_id,
        )
    }

    /// Runs one collection; a failure becomes one error document for everything it would
    /// have produced, so posture reports ERROR rather than a silent PASS.
    pub async fn guarded<F>(&self, service: &str, types: &[&str], fut: F) -> Vec<ResourceDoc>
    where
        F: Future<Output = Result<Vec<ResourceDoc>, String>>,
    {
        match fut.await {
            Ok(docs) => docs,
            Err(message) => {
                tracing::warn!(account = %self.account, region = %self.region, service, %message, "collection failed");
                vec![self.error(service, types, &message, None)]
            }
        }
    }
}

/// One readable line for an SDK error: `Code: message` from the service when it answered,
/// else the chain of causes (`dispatch failure: io error: ... Connection refused`). The
/// SDK's own context formatter appends a `Debug` dump of the whole error, which is neither
/// one line for a terminal nor fit for a finding's message.
pub(crate) fn msg<E>(e: E) -> String
where
    E: Error + ProvideErrorMetadata,
{
    describe(&e)
}

/// [`msg`] for an error held by reference.
pub(crate) fn describe<E>(e: &E) -> String
where
    E: Error + ProvideErrorMetadata,
{
    if let Some(code) = e.code() {
        return match e.message().map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => one_line(&format!("{code}: {m}")),
            None => code.to_string(),
        };
    }
    chain(e)
}

/// The `Display` of an error and of each of its sources, joined with `: `, one line.
pub(crate) fn chain(e: &dyn Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn Error> = Some(e);
    while let Some(err) = cur {
        let text = one_line(&err.to_string());
        // Wrappers often repeat their source's text, or say nothing of their own.
        let generic = matches!(text.as_str(), "service error" | "unhandled error");
        if !text.is_empty() && !generic && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Whitespace (newlines included) collapsed to single spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The service error code (`NoSuchEntity`, `AccessDenied`, ...) of an SDK error.
pub(crate) fn code<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Option<&str>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code())
}

/// An SDK timestamp as RFC 3339 (what the AWS JSON APIs and the posture checks use).
pub(crate) fn ts(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map_or(Value::Null, Value::String)
}

/// An SDK enum (or any `as_str` value) as a JSON string.
pub(crate) fn en<T: AsRef<str>>(v: Option<&T>) -> Value {
    v.map_or(Value::Null, |x| Value::String(x.as_ref().to_string()))
}

/// Tags as the AWS `[{Key, Value}]` list.
pub(crate) fn tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Array(
        pairs
            .into_iter()
            .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// One collection (a service in a region, or a global listing), ready to run.
pub(crate) type Task = futures::future::BoxFuture<'static, Vec<ResourceDoc>>;

/// Wraps a collection so that its failure becomes an error document for `types`.
pub(crate) fn task<F, Fut>(
    scope: &Scope,
    service: &'static str,
    types: &'static [&'static str],
    f: F,
) -> Task
where
    F: FnOnce(Scope) -> Fut,
    Fut: Future<Output = Result<Vec<ResourceDoc>, String>> + Send + 'static,
{
    let fut = f(scope.clone());
    let scope = scope.clone();
    Box::pin(async move { scope.guarded(service, types, fut).await })
}
