//! A panic while answering one request ends that request with a 500, never the node.
//!
//! Tokio would already keep the process alive, but the client would see its connection cut
//! and nothing would be counted; here the panic becomes a logged, counted problem response.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Runs the rest of the stack and turns a panic into `500 Internal error`.
pub async fn catch_panics(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    match CatchUnwind(Box::pin(next.run(req))).await {
        Ok(response) => response,
        Err(message) => {
            tracing::error!(%path, panic = %message, "a request handler panicked");
            metrics::counter!("trustplane_http_panics_total").increment(1);
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
                "an internal error occurred",
            )
            .into_response()
        }
    }
}

/// Polls the inner future inside `catch_unwind`, so a panic in any poll is caught.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic".into());
                Poll::Ready(Err(message))
            }
        }
    }
}
