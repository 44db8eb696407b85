//! Putting the node together: state, router, start-up and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use trustplane_model::Clock;
use trustplane_store::{Store, StoreError};

use crate::bootstrap::{self, BootstrapCredentials};
use crate::{jobs, metrics, routes};

/// What a node needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// This node's name in leases and checkpoints.
    pub node_id: String,
    /// The first administrator's user principal name.
    pub bootstrap_admin_upn: String,
    /// A preset admin API token for automation, instead of a generated one.
    pub bootstrap_admin_token: Option<String>,
    /// How often the lease holder checkpoints the audit chain.
    pub checkpoint_interval: Duration,
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}

/// The whole HTTP application over a store.
pub fn app(store: Store) -> Router {
    let state = AppState {
        store,
        metrics: metrics::handle(),
    };
    routes::router()
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .with_state(state)
}

/// A node that is listening.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    /// Set on the first start of an empty store only.
    pub bootstrap: Option<BootstrapCredentials>,
    listener: TcpListener,
    router: Router,
}

/// Opens the store, bootstraps it if new, starts background jobs and binds the listener.
pub async fn start(
    config: ServerConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, StoreError> {
    let store = Store::open(&config.database_url, clock).await?;
    let credentials = bootstrap::run(
        &store,
        &config.bootstrap_admin_upn,
        config.bootstrap_admin_token.as_deref(),
    )
    .await?;
    jobs::spawn_audit_checkpoints(
        store.clone(),
        config.node_id.clone(),
        config.checkpoint_interval,
    );
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StoreError::Invalid {
            field: "listen",
            message: format!("cannot listen on {}: {e}", config.listen),
        })?;
    let local_addr = listener.local_addr().map_err(|e| StoreError::Invalid {
        field: "listen",
        message: e.to_string(),
    })?;
    Ok(RunningServer {
        local_addr,
        bootstrap: credentials,
        listener,
        router: app(store),
    })
}

impl RunningServer {
    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    pub async fn run(self) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
