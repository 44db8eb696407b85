//! What a request must look like before anything is forwarded: a path with no tricks, the
//! registered host, and no identity headers of its own. Each refusal says why, and nothing
//! refused reaches the upstream.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};

/// Longest request target accepted.
pub const MAX_TARGET: usize = 8 * 1024;

/// The headers the proxy sets for the upstream; a client's own copies are dropped.
pub const IDENTITY_HEADERS: [&str; 6] = [
    ASSERTION_HEADER,
    "x-trustplane-user",
    "x-trustplane-user-id",
    "x-trustplane-email",
    "x-trustplane-name",
    "x-trustplane-session",
];

/// The signed JWT assertion header.
pub const ASSERTION_HEADER: &str = "x-trustplane-assertion";

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
/// forwarding headers the proxy writes itself.
const HOP_BY_HOP: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
];

/// Why a request is refused before it is forwarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `..`, `.` segments, encoded separators, NUL or other control characters, or an
    /// absolute-form target.
    #[error("the request path is not allowed: {0}")]
    Path(&'static str),
    /// The `Host` is not the application's external host.
    #[error("this proxy does not serve that host")]
    Host,
    /// Conflicting framing (`Content-Length` with `Transfer-Encoding`, or several lengths).
    #[error("the request's framing is ambiguous")]
    Framing,
}

/// Checks a request target (`/path?query`): origin form, no dot segments (plain or
/// percent-encoded), no encoded `/` or `\`, no NUL or control characters.
pub fn check_target(target: &str) -> Result<(), Refusal> {
    if target.len() > MAX_TARGET {
        return Err(Refusal::Path("too long"));
    }
    if !target.starts_with('/') || target.starts_with("//") {
        return Err(Refusal::Path("not an origin-form path"));
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path.bytes().any(|b| b.is_ascii_control() || b == b'\\') {
        return Err(Refusal::Path("control character or backslash"));
    }
    // Decode only what could hide a separator or a dot; anything else stays as sent.
    let lower = path.to_ascii_lowercase();
    for bad in ["%2f", "%5c", "%00", "%2e", "%25"] {
        if lower.contains(bad) {
            return Err(Refusal::Path("encoded separator, dot or NUL"));
        }
    }
    if path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(Refusal::Path("dot segment"));
    }
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    if query.bytes().any(|b| b.is_ascii_control()) {
        return Err(Refusal::Path("control character in the query"));
    }
    Ok(())
}

/// The authority (`host[:port]`) of an external URL, lowercased, with the scheme's default
/// port left out, as browsers send it in `Host`.
pub fn authority_of(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// The request's authority: HTTP/2's `:authority` (the URI's) or HTTP/1.1's single `Host`.
/// Several `Host` headers, or a `Host` that disagrees with the URI, are refused.
pub fn request_authority(uri: &hyper::Uri, headers: &HeaderMap) -> Result<String, Refusal> {
    let mut hosts = headers.get_all(hyper::header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Refusal::Host);
    }
    let host = host
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let uri_authority = uri.authority().map(|a| a.as_str().to_ascii_lowercase());
    match (host, uri_authority) {
        (Some(h), Some(a)) if h != a => Err(Refusal::Host),
        (Some(h), _) | (None, Some(h)) => Ok(h),
        (None, None) => Err(Refusal::Host),
    }
}

/// Refuses the framing a smuggling attack relies on: both `Content-Length` and
/// `Transfer-Encoding`, or several differing `Content-Length` values. (hyper already refuses
/// malformed framing on HTTP/1.1; this holds for what it lets through.)
pub fn check_framing(headers: &HeaderMap) -> Result<(), Refusal> {
    let lengths: Vec<&HeaderValue> = headers
        .get_all(hyper::header::CONTENT_LENGTH)
        .iter()
        .collect();
    if lengths.len() > 1 && lengths.windows(2).any(|w| w[0] != w[1]) {
        return Err(Refusal::Framing);
    }
    if !lengths.is_empty() && headers.contains_key(hyper::header::TRANSFER_ENCODING) {
        return Err(Refusal::Framing);
    }
    Ok(())
}

/// Removes hop-by-hop headers (and any named in `Connection`), and the client's copies of the
/// identity headers.
pub fn strip_request(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
    for name in IDENTITY_HEADERS {
        headers.remove(name);
    }
}

/// Removes hop-by-hop headers, including those `Connection` names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Removes cookies the upstream must never see (the proxy's own and Trustplane's sessions,
/// which share the jar when hosts differ only by port) from `Cookie`.
pub fn strip_cookies(headers: &mut HeaderMap, names: &[&str]) {
    let kept: Vec<String> = headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .filter(|c| {
            let name = c.split('=').next().unwrap_or_default().trim();
            !names.iter().any(|n| n.eq_ignore_ascii_case(name))
        })
        .map(str::to_string)
        .collect();
    headers.remove(hyper::header::COOKIE);
    if !kept.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(hyper::header::COOKIE, v);
        }
    }
}

/// The value of cookie `name`, if the request carries exactly one.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string());
    let first = found.next();
    // Two cookies of one name (one planted through a sibling host) are refused together.
    if found.next().is_some() {
        return None;
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_tricks_are_refused() {
        for ok in [
            "/",
            "/a/b.txt",
            "/a?x=../y",
            "/files/report.pdf?download=1",
            "/a%20b",
        ] {
            assert_eq!(check_target(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/../etc/passwd",
            "/a/../b",
            "/a/./b",
            "/a/%2e%2e/b",
            "/a/%2E./b",
            "/a%2fb",
            "/a%5Cb",
            "/a\\b",
            "/a%00b",
            "/a%252fb",
            "//evil.example/x",
            "http://evil.example/",
            "*",
        ] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_must_be_single_and_agree_with_the_uri() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("Wiki.Example:8443"));
        let uri: hyper::Uri = "/x".parse().unwrap_or_default();
        assert_eq!(
            request_authority(&uri, &h),
            Ok("wiki.example:8443".to_string())
        );
        h.append("host", HeaderValue::from_static("evil.example"));
        assert_eq!(request_authority(&uri, &h), Err(Refusal::Host));
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("wiki.example"));
        let abs: hyper::Uri = "http://evil.example/x".parse().unwrap_or_default();
        assert_eq!(request_authority(&abs, &h), Err(Refusal::Host));
    }

    #[test]
    fn identity_and_hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("x-trustplane-user", HeaderValue::from_static("admin"));
        h.insert("X-Trustplane-Assertion", HeaderValue::from_static("forged"));
        h.insert("connection", HeaderValue::from_static("close, x-secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("accept", HeaderValue::from_static("text/html"));
        strip_request(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn framing_conflicts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert("content-length", HeaderValue::from_static("5"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        assert_eq!(check_framing(&h), Err(Refusal::Framing));
        let mut h = HeaderMap::new();
        h.append("content-length", HeaderValue::from_static("5"));
        h.append("content-length", HeaderValue::from_static("6"));
        assert_eq!(check_framing(&h), Err(Refusal::Framing));
    }

    #[test]
    fn session_cookies_never_reach_the_upstream() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("a=1; tp_session=s; tp_proxy=p; b=2"),
        );
        assert_eq!(cookie(&h, "tp_proxy").as_deref(), Some("p"));
        strip_cookies(&mut h, &["tp_session", "tp_proxy"]);
        assert_eq!(
            h.get("cookie").and_then(|v| v.to_str().ok()),
            Some("a=1; b=2")
        );
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_static("tp_proxy=a; tp_proxy=b"));
        assert_eq!(cookie(&h, "tp_proxy"), None);
    }
}
