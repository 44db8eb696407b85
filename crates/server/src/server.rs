//! Putting the node together: state, router, start-up and shutdown.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use trustplane_authn::{Relying, SessionPolicy};
use trustplane_model::Clock;
use trustplane_store::{Store, StoreError};

use crate::bootstrap::{self, BootstrapCredentials};
use crate::ca::ConditionalAccess;
use crate::cloud::{Cloud, CloudConnectors};
use crate::detection::{Detection, IngestLimits};
use crate::pim::CloudGrants;
use crate::signin::{SignIn, SignInLimits};
use crate::{metrics, routes};
use trustplane_keyring::Sealer;

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
    /// A file each new checkpoint is appended to (JSON lines), outside the database.
    pub audit_anchor_file: Option<PathBuf>,
    /// Sign-in settings.
    pub sign_in: NodeSettings,
    /// An identity-aware proxy to run in this process, if any.
    pub proxy: Option<trustplane_proxy::ProxyConfig>,
}

/// Settings of a node's services: sign-in, conditional access, detection.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The URL people reach this server at (WebAuthn origin; its host is the relying party
    /// id). Default: `http://localhost:PORT` with the port actually bound.
    pub public_url: Option<String>,
    /// The master key, base64url; when absent, read or created at `master_key_file`.
    pub master_key: Option<String>,
    /// Where the master key lives when not given directly.
    pub master_key_file: PathBuf,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Session idle and absolute timeouts.
    pub sessions: SessionPolicy,
    /// Name shown in authenticator apps.
    pub issuer: String,
    /// A MaxMind database for country named locations.
    pub geoip_database: Option<PathBuf>,
    /// Folders of Sigma rules the detection pipeline runs.
    pub detection_rules: Vec<PathBuf>,
    /// Bounds on password hashing and on failed attempts per address.
    pub limits: SignInLimits,
    /// How much one log push and one stored log object may inflate to and hold.
    pub ingest_limits: IngestLimits,
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The sign-in service.
    pub signin: Arc<SignIn>,
    /// Conditional access.
    pub ca: Arc<ConditionalAccess>,
    /// The detection pipeline.
    pub detection: Arc<Detection>,
    /// Connected clouds: scheduled scans and S3 log sources.
    pub cloud: Arc<Cloud>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// The master key, for services that keep secrets (federation signing keys).
    pub sealer: Sealer,
    /// The URL people and relying parties reach this server at, without a trailing `/`.
    pub public_url: Arc<str>,
    /// The SAML identity provider.
    pub saml: Arc<crate::saml::Saml>,
    /// The OpenID Connect provider (its issuer is `public_url`).
    pub oidc: Arc<crate::oidc::Oidc>,
    /// Privileged identity management.
    pub pim: Arc<crate::pim::Pim>,
    /// Upstream identity providers people sign in through.
    pub upstream: Arc<trustplane_idp::upstream::Upstream>,
    /// Outbound provisioning (IAM Identity Center).
    pub outbound: Arc<trustplane_provisioning::outbound::Outbound>,
    /// How often a source address's calls with an invalid bearer token are audited: each is
    /// counted, but a flood must not flood the audit trail.
    pub invalid_token_audit: Arc<trustplane_authn::IpRateLimiter>,
}

/// A fixed value sealed with the master key and stored, so that starting with another key
/// fails at once instead of when the first TOTP seed cannot be opened.
const KEY_CHECK: &str = "master-key-check";

impl AppState {
    /// Builds the state: loads the master key and checks it against the database.
    pub async fn new(
        store: Store,
        settings: &NodeSettings,
        public_url: &str,
    ) -> Result<Self, StoreError> {
        let invalid = |message: String| StoreError::Invalid {
            field: "master_key",
            message,
        };
        let sealer = match &settings.master_key {
            Some(k) => Sealer::from_base64(k),
            None => Sealer::load_or_create(&settings.master_key_file),
        }
        .map_err(|e| invalid(e.to_string()))?;
        let probe = sealer
            .seal(KEY_CHECK, b"trustplane")
            .map_err(|e| invalid(e.to_string()))?;
        let stored = store.setting_or_insert(KEY_CHECK, &probe).await?;
        if sealer.open(KEY_CHECK, &stored).is_err() {
            return Err(invalid(
                "the master key does not match the one this database was set up with".into(),
            ));
        }
        // From here on the audit chain is keyed with a key the database does not hold.
        store.enable_audit_key(sealer.audit_key()).await?;
        let origin = public_url.trim_end_matches('/');
        check_public_url(origin).map_err(|message| StoreError::Invalid {
            field: "public_url",
            message,
        })?;
        let host = origin
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or(rest))
            .unwrap_or(origin);
        let relying =
            Relying::new(host, origin, &settings.issuer).map_err(|e| StoreError::Invalid {
                field: "public_url",
                message: e.to_string(),
            })?;
        // The stand-in hash for unknown users is made once now, so the first such answer is
        // not slower than later ones.
        let _ = tokio::task::spawn_blocking(trustplane_authn::password::prepare_dummy).await;
        let ca = Arc::new(ConditionalAccess::new(
            store.clone(),
            settings.geoip_database.as_deref(),
        )?);
        ca.seed_defaults().await?;
        let detection = Arc::new(Detection::new(
            store.clone(),
            sealer.clone(),
            &settings.detection_rules,
            settings.ingest_limits,
        )?);
        let cloud = Arc::new(Cloud::new(
            store.clone(),
            sealer.clone(),
            detection.clone(),
            CloudConnectors::default(),
        ));
        let signin = SignIn::new(
            store.clone(),
            sealer.clone(),
            relying,
            settings.issuer.clone(),
            settings.sessions,
            ca.clone(),
            settings.limits,
        );
        let saml = crate::saml::Saml::new(store.clone(), sealer.clone(), origin);
        let pim = Arc::new(crate::pim::Pim::new(
            store.clone(),
            cloud.connections().clone(),
            None,
            signin.clone(),
            ca.clone(),
        ));
        let outbound = Arc::new(trustplane_provisioning::outbound::Outbound::new(
            store.clone(),
            sealer.clone(),
            None,
        ));
        Ok(AppState {
            pim,
            outbound,
            saml,
            store: store.clone(),
            metrics: metrics::handle(),
            signin,
            ca,
            detection,
            cloud,
            trusted_proxies: Arc::new(settings.trusted_proxies.clone()),
            oidc: Arc::new(crate::oidc::Oidc::new(
                store.clone(),
                sealer.clone(),
                origin,
            )),
            upstream: Arc::new(trustplane_idp::upstream::Upstream::new(
                store.clone(),
                sealer.clone(),
                origin,
            )),
            sealer,
            public_url: Arc::from(origin),
            invalid_token_audit: Arc::new(trustplane_authn::IpRateLimiter::new(5, 6, 10_000)),
        })
    }

    /// The same state with these cloud implementations (the AWS and Azure collectors, the
    /// S3 reader and the grants of privileged cloud roles that `trustplane serve` links).
    pub fn with_cloud(
        mut self,
        connectors: CloudConnectors,
        grants: Option<Arc<dyn CloudGrants>>,
    ) -> Self {
        self.outbound = Arc::new(trustplane_provisioning::outbound::Outbound::new(
            self.store.clone(),
            self.sealer.clone(),
            connectors.identity_store.clone(),
        ));
        self.cloud = Arc::new(self.cloud.with_connectors(connectors));
        self.pim = Arc::new(crate::pim::Pim::new(
            self.store.clone(),
            self.cloud.connections().clone(),
            grants,
            self.signin.clone(),
            self.ca.clone(),
        ));
        self
    }
}

/// Refuses a public URL that passkeys cannot work with, and warns of one whose cookies
/// browsers will drop: WebAuthn binds credentials to a host name, never to an IP address, and
/// `Secure` cookies are kept over plain http only for localhost.
fn check_public_url(origin: &str) -> Result<(), String> {
    let url = url::Url::parse(origin)
        .map_err(|e| format!("`{origin}` is not a URL ({e}); use e.g. https://id.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{origin}` must use https (or http on localhost)"));
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    match url.host() {
        Some(url::Host::Domain(host)) => {
            if url.scheme() == "http" && host != "localhost" && !host.ends_with(".localhost") {
                tracing::warn!(
                    public_url = origin,
                    "public_url is plain http on a host other than localhost: browsers will not keep the Secure session cookies; use https"
                );
            }
            Ok(())
        }
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => Err(format!(
            "`{origin}` names an IP address, but passkeys need a host name; use http://localhost{port} on this machine, or the DNS name people reach Trustplane at (https://id.example.com)"
        )),
        None => Err(format!("`{origin}` has no host")),
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(axum::middleware::from_fn(crate::panic_guard::catch_panics))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn(crate::bare_errors::shape_errors))
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
    proxy: Option<trustplane_proxy::RunningProxy>,
}

/// Opens the store, bootstraps it if new, starts background jobs and binds the listener.
pub async fn start(
    config: ServerConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, StoreError> {
    start_with_cloud(config, clock, CloudConnectors::default(), None).await
}

/// [`start`], with the cloud implementations that scheduled scans and S3 log sources use, and
/// the one that grants privileged cloud roles.
pub async fn start_with_cloud(
    config: ServerConfig,
    clock: Arc<dyn Clock>,
    connectors: CloudConnectors,
    grants: Option<Arc<dyn CloudGrants>>,
) -> Result<RunningServer, StoreError> {
    let store = Store::open(&config.database_url, clock.clone()).await?;
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
    let public_url = config
        .sign_in
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", local_addr.port()));
    let state = AppState::new(store.clone(), &config.sign_in, &public_url)
        .await?
        .with_cloud(connectors, grants);
    let credentials = bootstrap::run(
        &store,
        &config.bootstrap_admin_upn,
        config.bootstrap_admin_token.as_deref(),
    )
    .await?;
    let node = config.node_id.clone();
    store.spawn_audit_checkpoints(
        node.clone(),
        config.checkpoint_interval,
        config.audit_anchor_file.clone(),
    );
    state
        .detection
        .spawn_own_event_detection(store.clone(), node.clone());
    state.cloud.spawn_jobs(store.clone(), node.clone());
    state.pim.spawn_jobs(store.clone(), node.clone());
    // Outbound provisioning: what changed goes out within seconds; the targets are read
    // and their drift repaired hourly.
    state.outbound.spawn_jobs(
        node,
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(3600),
    );
    let proxy = match config.proxy {
        Some(p) => Some(trustplane_proxy::Proxy::bind(p, clock).await.map_err(|e| {
            StoreError::Invalid {
                field: "proxy",
                message: e.to_string(),
            }
        })?),
        None => None,
    };
    Ok(RunningServer {
        local_addr,
        bootstrap: credentials,
        listener,
        router: app(state),
        proxy,
    })
}

impl RunningServer {
    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    pub async fn run(self) -> std::io::Result<()> {
        // The in-process proxy talks to this node over its public URL like any other proxy.
        if let Some(p) = self.proxy {
            tracing::info!(listen = %p.local_addr, "identity-aware proxy listening");
            tokio::spawn(p.run());
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn public_urls_need_a_host_name() {
        assert!(super::check_public_url("http://localhost:8080").is_ok());
        assert!(super::check_public_url("https://id.example.com").is_ok());
        let ip = super::check_public_url("http://127.0.0.1:8080").unwrap_err();
        assert!(ip.contains("http://localhost:8080"), "{ip}");
        assert!(super::check_public_url("http://[::1]:8080").is_err());
        assert!(super::check_public_url("ftp://id.example.com").is_err());
        assert!(super::check_public_url("not a url").is_err());
    }
}
