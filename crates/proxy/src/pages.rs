//! The pages the proxy answers with itself: refusals that say why, and never the upstream's
//! content.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode};

use crate::ProxyBody;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A body from bytes.
pub fn full(b: impl Into<Bytes>) -> ProxyBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// A page: a title and a paragraph, with the security headers every proxy page carries.
pub fn page(status: StatusCode, title: &str, text: &str) -> Response<ProxyBody> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body>\
         <main><h1>{t}</h1><p id=\"reason\">{x}</p>\
         <p><small>Trustplane identity-aware proxy</small></p></main></body></html>",
        t = escape(title),
        x = escape(text)
    );
    let mut res = Response::new(full(html));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// A redirect (`302`).
pub fn redirect(location: &str) -> Response<ProxyBody> {
    let mut res = page(StatusCode::FOUND, "Redirecting", "Continue to sign in.");
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// JSON (the JWKS).
pub fn json(value: &serde_json::Value) -> Response<ProxyBody> {
    let mut res = Response::new(full(value.to_string()));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}
