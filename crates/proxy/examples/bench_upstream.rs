//! A minimal upstream for `bench/proxy.sh`: answers every request with a small HTML page, on
//! one thread, so that the benchmark measures the proxy and not the application behind it.
//!
//! `cargo run --release -p trustplane-proxy --example bench_upstream -- 127.0.0.1:9000`

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let page = Bytes::from_static(b"<!doctype html><title>wiki</title><h1>Wiki home</h1>");
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let page = page.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |_req: Request<hyper::body::Incoming>| {
                    let page = page.clone();
                    async move { Ok::<_, Infallible>(Response::new(Full::new(page))) }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
