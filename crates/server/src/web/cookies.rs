//! Cookies: the session, the pending sign-in, and the CSRF double-submit token.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use subtle::ConstantTimeEq;

pub const SESSION: &str = "tp_session";
pub const SIGN_IN: &str = "tp_signin";
pub const CSRF: &str = "tp_csrf";

/// The value of a cookie in the request.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// Adds a `Set-Cookie`: always Secure and HttpOnly; `max_age` None means a browser-session
/// cookie, Some(0) deletes it.
pub fn set(
    response: &mut Response,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<i64>,
) {
    let mut cookie = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

/// Removes a cookie.
pub fn clear(response: &mut Response, name: &str) {
    set(response, name, "", "Lax", Some(0));
}

/// The CSRF token for a form: the one already in the browser, or a new one to set.
pub fn csrf_token(headers: &HeaderMap) -> (String, bool) {
    match get(headers, CSRF) {
        Some(t) if t.len() >= 32 => (t, false),
        _ => (trustplane_authn::new_session_token().0, true),
    }
}

/// Double-submit check: the form field must equal the cookie (which another site can neither
/// read nor set, being HttpOnly and SameSite=Strict).
pub fn csrf_ok(headers: &HeaderMap, field: &str) -> bool {
    match get(headers, CSRF) {
        Some(cookie) if cookie.len() >= 32 => cookie.as_bytes().ct_eq(field.as_bytes()).into(),
        _ => false,
    }
}

/// Sets the CSRF cookie on a response if it was new.
pub fn with_csrf(mut response: Response, token: &str, fresh: bool) -> Response {
    if fresh {
        set(&mut response, CSRF, token, "Strict", None);
    }
    response
}

/// A form whose only field is its CSRF token (a button).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}
