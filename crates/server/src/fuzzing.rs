//! Entry points for the fuzz targets in `crates/fuzz-targets`: outside input goes through the
//! same axum extractors and checks the handlers use, so a fuzzer reaches the real decoding.
//! Not an API; it may change with the handlers.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::extract::{Form, FromRequest, Query};
use axum::http::{header, Method, Request, Uri};
use serde::de::DeserializeOwned;

use crate::odata::ListParams;
use crate::saml::sso::SsoForm;
use crate::web::{account, admin, cookies, login, roles};

/// Decodes `body` as every HTML form the server accepts (a POST with the form content type,
/// through axum's `Form`), and runs each `next` field through the redirect check the sign-in
/// pages use. Returns how many forms accepted the body.
pub fn decode_forms(body: &[u8]) -> usize {
    let decoders: [fn(&[u8]) -> bool; 11] = [
        form::<login::LoginForm>,
        form::<login::MfaForm>,
        form::<cookies::CsrfForm>,
        form::<admin::Search>,
        form::<account::CodeForm>,
        form::<account::TotpConfirm>,
        form::<account::PasswordForm>,
        form::<roles::ActivateForm>,
        form::<roles::CommentForm>,
        form::<SsoForm>,
        form::<Vec<(String, String)>>,
    ];
    let accepted = decoders.iter().filter(|decode| decode(body)).count();
    // `next` decides where a signed-in browser goes: the open-redirect check must hold for
    // whatever the form carried.
    if let Some(fields) = decode::<Vec<(String, String)>>(body) {
        for (_, value) in fields.iter().filter(|(k, _)| k == "next") {
            let target = login::safe_next(Some(value));
            // Checked in release builds too: the fuzzer runs optimised.
            assert!(
                target.starts_with('/') && !target.starts_with("//"),
                "safe_next gave {target:?}"
            );
        }
    }
    accepted
}

/// Decodes `query` (without the `?`) as a list endpoint's `Query<ListParams>` and turns it into
/// a store query, as the list handlers do. Returns whether it was accepted.
pub fn list_query(query: &str) -> bool {
    let Ok(uri) = format!("/api/v1/users?{query}").parse::<Uri>() else {
        return false;
    };
    match Query::<ListParams>::try_from_uri(&uri) {
        Ok(Query(params)) => params.to_query().is_ok(),
        Err(_) => false,
    }
}

fn form<T: DeserializeOwned + Send>(body: &[u8]) -> bool {
    decode::<T>(body).is_some()
}

fn decode<T: DeserializeOwned + Send>(body: &[u8]) -> Option<T> {
    let Ok(request) = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_vec()))
    else {
        return None;
    };
    match ready(Form::<T>::from_request(request, &())) {
        Some(Ok(Form(value))) => Some(value),
        _ => None,
    }
}

/// Polls a future once. A body held in memory is read at once, so the extractor never waits;
/// no runtime is needed.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
