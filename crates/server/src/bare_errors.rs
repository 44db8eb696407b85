//! Every error leaves the server in the API's shape: errors produced below the handlers
//! (axum's 405 with an empty body, a body-limit 413 in text/plain, a plain-text rejection)
//! are rewritten as RFC 9457 problem documents, or as a page for browsers.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Rewrites an error response that is not already problem+json or HTML.
pub async fn shape_errors(req: Request, next: Next) -> Response {
    let wants_html = prefers_html(&req);
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/problem+json")
        || content_type.starts_with("text/html")
        || content_type.starts_with("application/json")
        || content_type.starts_with(crate::routes::scim::SCIM_JSON)
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let detail = match status {
        StatusCode::NOT_FOUND => "no such route".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this route".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than this route accepts".to_string()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "the request body has a content type this route does not accept".to_string()
        }
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let mut shaped = if wants_html {
        crate::web::html::page(
            status,
            title,
            &trustplane_console::protocol::route_error(title, &detail),
        )
    } else {
        ApiError::new(status, static_title(status), detail).into_response()
    };
    if let Some(allow) = allow {
        shaped.headers_mut().insert(header::ALLOW, allow);
    }
    shaped
}

/// A browser navigating asks for HTML first; API clients and scripts do not.
fn prefers_html(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.trim_start().starts_with("text/html"))
}

fn static_title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Payload too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
        StatusCode::UNPROCESSABLE_ENTITY => "Unprocessable entity",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "Internal error",
        _ => "Error",
    }
}
