//! Requests (GETs, and the PUTs and DELETEs of `rbac`) with bounded parallelism, 429/503
//! retries that honour `Retry-After`, and paging that never sends a token to a host other
//! than the configured endpoint.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::{chain, CallError};
use crate::options::{Progress, ProgressHook};

/// Pages followed at most for one list; a server that always answers with a `nextLink`
/// must not keep us busy for ever.
const MAX_PAGES: usize = 10_000;

/// Which paging field a service uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Paging {
    /// Resource Manager: `nextLink`.
    Arm,
    /// Microsoft Graph: `@odata.nextLink`.
    Graph,
}

impl Paging {
    fn field(self) -> &'static str {
        match self {
            Paging::Arm => "nextLink",
            Paging::Graph => "@odata.nextLink",
        }
    }
}

pub(crate) struct Http {
    client: reqwest::Client,
    progress: Option<ProgressHook>,
    permits: Semaphore,
    max_retries: u32,
    max_retry_wait: Duration,
}

impl Http {
    pub(crate) fn new(
        client: reqwest::Client,
        concurrency: usize,
        max_retries: u32,
        max_retry_wait: Duration,
    ) -> Self {
        Http {
            client,
            progress: None,
            permits: Semaphore::new(concurrency.max(1)),
            max_retries,
            max_retry_wait,
        }
    }

    /// Reports every request to `hook`.
    pub(crate) fn with_progress(mut self, hook: Option<ProgressHook>) -> Self {
        self.progress = hook;
        self
    }

    /// The client, for calls outside the retry loop (the token endpoint).
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// One GET returning JSON; any non-success status is an error.
    pub(crate) async fn get(&self, url: &Url, token: &str) -> Result<Value, CallError> {
        let (status, bytes) = self.send(Method::GET, url, token, None).await?;
        if status.is_success() {
            serde_json::from_slice(&bytes)
                .map_err(|e| CallError::Body(format!("invalid JSON: {e}")))
        } else {
            Err(CallError::Status {
                status: status.as_u16(),
                code: error_code(&bytes),
                message: error_message(&bytes),
            })
        }
    }

    /// One request with an optional JSON body, retried on 429/503; the final status and body
    /// are returned whatever the status, for the caller to interpret. Only requests that are
    /// safe to repeat may be sent through here.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        token: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), CallError> {
        if let Some(h) = &self.progress {
            (h.0)(Progress::Started);
        }
        let result = self.send_once(method, url, token, body).await;
        if let Some(h) = &self.progress {
            (h.0)(Progress::Finished);
        }
        result
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        token: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), CallError> {
        let mut attempt = 0u32;
        loop {
            let resp = {
                // The permit is held for the request only, not while waiting to retry.
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| CallError::Transport(e.to_string()))?;
                let mut req = self
                    .client
                    .request(method.clone(), url.clone())
                    .bearer_auth(token)
                    .header("accept", "application/json");
                if let Some(b) = body {
                    req = req.json(b);
                }
                let resp = req
                    .send()
                    .await
                    .map_err(|e| CallError::Transport(chain(&e)))?;
                let status = resp.status();
                if is_retryable(status) && attempt < self.max_retries {
                    Err(retry_after(resp.headers()))
                } else {
                    let bytes = resp
                        .bytes()
                        .await
                        .map_err(|e| CallError::Transport(chain(&e)))?;
                    Ok((status, bytes.to_vec()))
                }
            };
            match resp {
                Err(asked) => {
                    let wait = asked
                        .unwrap_or_else(|| backoff(attempt))
                        .min(self.max_retry_wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Ok(answer) => return Ok(answer),
            }
        }
    }

    /// Every item of a list, following `nextLink` / `@odata.nextLink`. A body that is a bare
    /// array (e.g. Subscriptions_ListLocations) is one page.
    pub(crate) async fn list(
        &self,
        first: &Url,
        token: &str,
        paging: Paging,
    ) -> Result<Vec<Value>, CallError> {
        let mut items = Vec::new();
        let mut url = first.clone();
        for _ in 0..MAX_PAGES {
            let body = self.get(&url, token).await?;
            let next = match body {
                Value::Array(a) => {
                    items.extend(a);
                    None
                }
                Value::Object(mut o) => {
                    match o.remove("value") {
                        Some(Value::Array(a)) => items.extend(a),
                        _ => {
                            return Err(CallError::Body(
                                "expected a list (`value` array)".to_string(),
                            ))
                        }
                    }
                    match o.remove(paging.field()) {
                        Some(Value::String(s)) if !s.is_empty() => Some(s),
                        _ => None,
                    }
                }
                _ => return Err(CallError::Body("expected a JSON object".to_string())),
            };
            match next {
                None => return Ok(items),
                Some(n) => url = next_url(first, &n)?,
            }
        }
        Err(CallError::Body(format!("more than {MAX_PAGES} pages")))
    }
}

fn is_retryable(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::SERVICE_UNAVAILABLE
}

/// `Retry-After` in seconds (the form ARM and Graph send); an HTTP date is not used.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// 1, 2, 4, 8 ... seconds.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(6))
}

/// A next-page link, accepted only on the origin of the first page: the bearer token goes
/// with it.
pub(crate) fn next_url(first: &Url, next: &str) -> Result<Url, CallError> {
    let u = Url::parse(next)
        .map_err(|e| CallError::Body(format!("invalid next-page link `{next}`: {e}")))?;
    if u.origin() != first.origin() {
        return Err(CallError::Body(format!(
            "next-page link `{next}` leaves {}",
            first.origin().ascii_serialization()
        )));
    }
    Ok(u)
}

/// `error.code` of an ARM or Graph error body (`error` itself for OAuth2).
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    let v = serde_json::from_slice::<Value>(body).ok()?;
    match v.get("error")? {
        Value::String(c) => Some(c.clone()),
        e => e.get("code")?.as_str().map(str::to_string),
    }
}

/// The message of an ARM (`{"error":{"code","message"}}`) or Graph error body, else the
/// body's first 300 characters.
pub(crate) fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let text = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
        // ARM and Graph: {"error":{"code","message"}}; OAuth2: {"error","error_description"}.
        let (code, msg) = match v.get("error") {
            Some(Value::String(c)) => (Some(c.clone()), text(&v, "error_description")),
            Some(e) => (text(e, "code"), text(e, "message")),
            None => (text(&v, "code"), text(&v, "message")),
        };
        match (code, msg) {
            (Some(c), Some(m)) => return format!("{c}: {m}"),
            (None, Some(m)) | (Some(m), None) => return m,
            (None, None) => {}
        }
    }
    String::from_utf8_lossy(body).chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_must_stay_on_the_endpoint() {
        let first = Url::parse("http://127.0.0.1:8080/subscriptions?api-version=1").unwrap();
        assert!(next_url(&first, "http://127.0.0.1:8080/subscriptions?x=2").is_ok());
        assert!(next_url(&first, "https://management.azure.com/subscriptions").is_err());
        assert!(next_url(&first, "...").is_err());
    }

    #[test]
    fn retry_after_seconds_or_backoff() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(64));
    }

    #[test]
    fn error_messages() {
        let arm = br#"{"error":{"code":"AuthorizationFailed","message":"no access"}}"#;
        assert_eq!(error_message(arm), "AuthorizationFailed: no access");
        assert_eq!(error_code(arm).as_deref(), Some("AuthorizationFailed"));
        assert_eq!(error_code(b"<html>"), None);
        let oauth =
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: bad secret"}"#;
        assert_eq!(
            error_message(oauth),
            "invalid_client: AADSTS7000215: bad secret"
        );
        assert_eq!(error_message(b"<html>"), "<html>");
    }
}
