//! Pages as responses: a console view with its status and the security headers pages need.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use trustplane_console::html::{document, SECURITY_HEADERS};

/// A whole page with the security headers pages need.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let mut response = (status, document(title, body)).into_response();
    let h = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// A 303 redirect (after a POST, the browser follows with GET).
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The refusal of a form this site did not send (missing or wrong CSRF token).
pub fn csrf_refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Request refused",
        trustplane_console::html::csrf_refused(),
    )
}
