//! The proxy at work: the listener, sessions, the sign-in round trip, policy on each request,
//! and forwarding with bodies streamed both ways.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue, CONNECTION, HOST, SET_COOKIE, UPGRADE, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use trustplane_model::Clock;

use crate::assertion::{Signer, ASSERTION_TTL_MS};
use crate::check::{Allowed, AppConfig, ProxyRecord, Verdict};
use crate::config::ProxyConfig;
use crate::control::{random, Control, ControlError, Tokens};
use crate::guard::{self, ASSERTION_HEADER};
use crate::pages::{self, page, redirect};
use crate::{BoxError, ProxyBody};

/// The proxy's session cookie.
pub const SESSION_COOKIE: &str = "tp_proxy";
/// Cookies the upstream never sees: the proxy's and Trustplane's own (a browser sends
/// Trustplane's to a proxy on the same host name, whatever the port).
const HIDDEN_COOKIES: [&str; 4] = [SESSION_COOKIE, "tp_session", "tp_signin", "tp_csrf"];

/// Sessions held at most; past that the oldest are dropped.
const MAX_SESSIONS: usize = 100_000;
/// Sign-ins under way at most.
const MAX_PENDING: usize = 10_000;
/// How long a sign-in round trip may take.
const PENDING_TTL_MS: i64 = 10 * 60 * 1000;
/// Renew the access token this long before it expires.
const REFRESH_MARGIN_MS: i64 = 30_000;
/// Monitoring records waiting to be sent at most (beyond: dropped and counted in the log).
const RECORD_QUEUE: usize = 10_000;

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The settings are wrong.
    #[error("proxy settings: {0}")]
    Config(String),
    /// The signing key cannot be had.
    #[error(transparent)]
    Key(#[from] crate::assertion::KeyError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
}

/// One application as served.
struct App {
    control: Control,
    config: AppConfig,
    /// `scheme://authority` of the upstream.
    upstream_origin: String,
    /// The upstream's base path, without a trailing `/`.
    upstream_base: String,
    /// `Host` people use (lowercase, default port left out).
    authority: String,
    /// Whether the external URL is https (Secure cookies, `X-Forwarded-Proto`).
    secure: bool,
}

impl App {
    fn new(control: Control, config: AppConfig) -> Result<App, String> {
        let up = url::Url::parse(&config.proxy.upstream).map_err(|e| e.to_string())?;
        if up.scheme() != "http" {
            return Err(format!(
                "{}: only http upstreams are proxied (TLS to the upstream is not built yet)",
                config.display_name
            ));
        }
        let ext = url::Url::parse(&config.proxy.external_url).map_err(|e| e.to_string())?;
        let authority = guard::authority_of(&ext).ok_or("externalUrl has no host")?;
        let up_authority = guard::authority_of(&up).ok_or("upstream has no host")?;
        Ok(App {
            control,
            upstream_origin: format!("http://{up_authority}"),
            upstream_base: up.path().trim_end_matches('/').to_string(),
            authority,
            secure: ext.scheme() == "https",
            config,
        })
    }

    fn redirect_uri(&self) -> String {
        self.config.proxy.redirect_uri()
    }
}

/// A signed-in person on one application.
struct Session {
    client_id: String,
    tokens: Tokens,
    token_expires_at: i64,
    allowed: Arc<Allowed>,
    checked_at: i64,
    ip: Option<IpAddr>,
    mfa_valid_until: i64,
    assertion: Option<(Arc<str>, i64)>,
}

/// A sign-in under way.
struct Pending {
    client_id: String,
    verifier: String,
    return_to: String,
    created_at: i64,
}

/// The proxy: applications by host, sessions, the upstream client.
pub struct Proxy {
    config: ProxyConfig,
    clock: Arc<dyn Clock>,
    apps: RwLock<HashMap<String, Arc<App>>>,
    sessions: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, Pending>>,
    client: HttpClient<HttpConnector, ProxyBody>,
    signer: Signer,
    records: mpsc::Sender<(String, ProxyRecord)>,
}

/// A proxy that is listening.
pub struct RunningProxy {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    /// The proxy, for tests that look inside.
    pub proxy: Arc<Proxy>,
    listener: TcpListener,
    records: mpsc::Receiver<(String, ProxyRecord)>,
}

/// The session table's key for a cookie (the table never holds the cookie itself); on every
/// request, so hex without an allocation per byte.
fn hash(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in d.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

fn header(v: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(v).ok()
}

fn is_upgrade(headers: &hyper::HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

impl Proxy {
    /// Checks the settings, binds the listener and makes the signing key; [`RunningProxy::run`]
    /// serves. Applications are loaded from Trustplane in the background (and again every
    /// minute), so the proxy can start before Trustplane answers.
    pub async fn bind(
        config: ProxyConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<RunningProxy, StartError> {
        config.validate().map_err(StartError::Config)?;
        for a in &config.apps {
            Control::new(&config.trustplane_url, a.clone())
                .map_err(|e| StartError::Config(e.to_string()))?;
        }
        let signer = Signer::load_or_create(config.signing_key_file.as_deref())?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|error| StartError::Listen {
                    addr: config.listen,
                    error,
                })?;
        let local_addr = listener.local_addr().map_err(|error| StartError::Listen {
            addr: config.listen,
            error,
        })?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let client = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let (tx, rx) = mpsc::channel(RECORD_QUEUE);
        let proxy = Arc::new(Proxy {
            config,
            clock,
            apps: RwLock::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            client,
            signer,
            records: tx,
        });
        Ok(RunningProxy {
            local_addr,
            proxy,
            listener,
            records: rx,
        })
    }

    /// Loads (or reloads) every application's configuration from Trustplane; true when all
    /// answered.
    pub async fn load_apps(&self) -> bool {
        let mut all = true;
        for creds in &self.config.apps {
            let Ok(control) = Control::new(&self.config.trustplane_url, creds.clone()) else {
                all = false;
                continue;
            };
            let loaded = control.config().await.map_err(|e| e.to_string());
            match loaded.and_then(|c| App::new(control, c)) {
                Ok(app) => {
                    let mut apps = self.apps.write().unwrap_or_else(|e| e.into_inner());
                    apps.retain(|_, a| a.config.client_id != creds.client_id);
                    apps.insert(app.authority.clone(), Arc::new(app));
                }
                Err(e) => {
                    all = false;
                    tracing::warn!(client_id = %creds.client_id, error = %e, "proxied application not loaded");
                }
            }
        }
        all
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn app_by_client(&self, client_id: &str) -> Option<Arc<App>> {
        self.apps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .find(|a| a.config.client_id == client_id)
            .cloned()
    }

    /// Sends a refusal's record at once: a block is an audited event.
    async fn audit(&self, app: &App, record: ProxyRecord) {
        if let Err(e) = app.control.send(&[record]).await {
            tracing::error!(error = %e, "a proxy block could not be recorded in Trustplane");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        kind: &str,
        who: &Allowed,
        ip: Option<IpAddr>,
        method: &Method,
        path: &str,
        status: StatusCode,
        reason: Option<String>,
    ) -> ProxyRecord {
        ProxyRecord {
            kind: kind.into(),
            user_id: who.user_id.clone(),
            ip: ip.map(|i| i.to_string()),
            method: method.as_str().into(),
            path: path.into(),
            status: status.as_u16(),
            bytes: 0,
            reason,
            at: self.now(),
        }
    }

    /// Starts a sign-in round trip that comes back to `return_to`.
    fn sign_in(&self, app: &App, return_to: &str, mfa: bool) -> Response<ProxyBody> {
        let now = self.now();
        let state = random(24);
        let verifier = random(32);
        {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.len() >= MAX_PENDING {
                pending.retain(|_, p| now - p.created_at < PENDING_TTL_MS);
            }
            if pending.len() >= MAX_PENDING {
                return page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    "Too many sign-ins are under way; try again in a minute.",
                );
            }
            pending.insert(
                state.clone(),
                Pending {
                    client_id: app.config.client_id.clone(),
                    verifier: verifier.clone(),
                    return_to: return_to.into(),
                    created_at: now,
                },
            );
        }
        redirect(
            &app.control
                .authorize_url(&app.redirect_uri(), &state, &verifier, mfa),
        )
    }

    /// The answer to a request: one of the proxy's own paths, a refusal, or the upstream's.
    pub async fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Response<ProxyBody> {
        let ip = trustplane_idp::source_ip(
            Some(peer.ip()),
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok()),
            &self.config.trusted_proxies,
        );
        let authority = match guard::request_authority(req.uri(), req.headers()) {
            Ok(a) => a,
            Err(e) => return page(StatusCode::BAD_REQUEST, "Bad request", &e.to_string()),
        };
        let app = self
            .apps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&authority)
            .cloned();
        let Some(app) = app else {
            return page(
                StatusCode::MISDIRECTED_REQUEST,
                "Unknown host",
                "This proxy does not serve that host.",
            );
        };
        if let Err(e) = guard::check_framing(req.headers()) {
            return page(StatusCode::BAD_REQUEST, "Bad request", &e.to_string());
        }
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        if let Err(e) = guard::check_target(&target) {
            return page(StatusCode::BAD_REQUEST, "Bad request", &e.to_string());
        }
        let path = req.uri().path().to_string();
        match path.as_str() {
            "/.trustplane/callback" => return self.callback(&app, &req, ip).await,
            "/.trustplane/jwks.json" => return pages::json(&self.signer.jwks()),
            "/.trustplane/signout" => {
                if let Some(c) = guard::cookie(req.headers(), SESSION_COOKIE) {
                    self.sessions
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&hash(&c));
                }
                let mut res = page(
                    StatusCode::OK,
                    "Signed out",
                    "You are signed out of this application.",
                );
                self.clear_cookie(&app, &mut res);
                return res;
            }
            p if p.starts_with("/.trustplane/") => {
                return page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
            }
            _ => {}
        }
        let navigable = req.method() == Method::GET || req.method() == Method::HEAD;
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let cookie = guard::cookie(req.headers(), SESSION_COOKIE).map(|c| hash(&c));
        let who = match cookie {
            Some(key) => self.current(&app, &key, ip, user_agent.as_deref()).await,
            None => Current::None,
        };
        let (key, who) = match who {
            Current::Allowed(key, who) => (key, who),
            Current::None if navigable => return self.sign_in(&app, &target, false),
            Current::None => {
                return page(
                    StatusCode::UNAUTHORIZED,
                    "Sign in",
                    "Sign in to this application first.",
                )
            }
            Current::StepUp if navigable => return self.sign_in(&app, &target, true),
            Current::StepUp => {
                return page(
                    StatusCode::UNAUTHORIZED,
                    "Verification needed",
                    "Conditional access asks for a second factor: reload the page.",
                )
            }
            Current::Blocked(reason) => {
                return page(StatusCode::FORBIDDEN, "Access blocked", &reason)
            }
            Current::Unavailable => {
                return page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "Trustplane cannot be reached to check your session; try again shortly.",
                )
            }
        };
        let method = req.method().clone();
        // Step-up paths need a second factor proven recently.
        if who.0.enforcement.needs_step_up(&path) && self.now() >= who.1 {
            let r = self.record(
                "stepUp",
                &who.0,
                ip,
                &method,
                &path,
                StatusCode::FOUND,
                Some("step-up path".into()),
            );
            self.audit(&app, r).await;
            if navigable {
                return self.sign_in(&app, &target, true);
            }
            return page(
                StatusCode::UNAUTHORIZED,
                "Verification needed",
                "This page needs a second factor: open it in the browser again.",
            );
        }
        if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
            if let Some(why) = who.0.enforcement.upload_refusal(req.headers(), &path) {
                let r = self.record(
                    "uploadBlocked",
                    &who.0,
                    ip,
                    &method,
                    &path,
                    StatusCode::FORBIDDEN,
                    Some(format!("{why} ({})", crate::policy::OWN_POLICY)),
                );
                self.audit(&app, r).await;
                return page(
                    StatusCode::FORBIDDEN,
                    "Upload blocked",
                    &format!("{why}, by {}.", crate::policy::OWN_POLICY),
                );
            }
        }
        let on_upgrade = is_upgrade(req.headers()).then(|| hyper::upgrade::on(&mut req));
        let assertion = self.assertion(&app, &key, &who.0);
        let upstream_req = match self.upstream_request(
            &app,
            req,
            &target,
            ip,
            &who.0,
            assertion,
            on_upgrade.is_some(),
        ) {
            Some(r) => r,
            None => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "The request path cannot be forwarded.",
                )
            }
        };
        let timeout = Duration::from_secs(self.config.upstream_timeout_seconds);
        let mut res = match tokio::time::timeout(timeout, self.client.request(upstream_req)).await {
            Ok(Ok(res)) => res,
            Ok(Err(e)) => {
                if too_large(&e) {
                    let r = self.record(
                        "uploadBlocked",
                        &who.0,
                        ip,
                        &method,
                        &path,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        Some(format!("upload too large ({})", crate::policy::OWN_POLICY)),
                    );
                    self.audit(&app, r).await;
                    return page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Upload blocked",
                        "The upload is larger than this application allows.",
                    );
                }
                tracing::warn!(app = %app.config.display_name, error = %e, "upstream unavailable");
                return page(
                    StatusCode::BAD_GATEWAY,
                    "Application unavailable",
                    &format!(
                        "{} is not answering; try again later.",
                        app.config.display_name
                    ),
                );
            }
            Err(_) => {
                return page(
                    StatusCode::GATEWAY_TIMEOUT,
                    "Application too slow",
                    &format!("{} did not answer in time.", app.config.display_name),
                )
            }
        };
        if res.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_side) = on_upgrade {
                let upstream_side = hyper::upgrade::on(&mut res);
                tokio::spawn(async move {
                    match tokio::try_join!(client_side, upstream_side) {
                        Ok((c, u)) => {
                            let _ = tokio::io::copy_bidirectional(
                                &mut TokioIo::new(c),
                                &mut TokioIo::new(u),
                            )
                            .await;
                        }
                        Err(e) => tracing::debug!(error = %e, "upgrade failed"),
                    }
                });
                let (parts, _) = res.into_parts();
                return Response::from_parts(
                    parts,
                    Empty::<Bytes>::new()
                        .map_err(|never| match never {})
                        .boxed(),
                );
            }
            return page(
                StatusCode::BAD_GATEWAY,
                "Bad answer",
                "The application switched protocols unasked.",
            );
        }
        let status = res.status();
        if who.0.enforcement.blocks_download(res.headers()) {
            let policy = who
                .0
                .enforcement
                .block_downloads
                .clone()
                .unwrap_or_default();
            let r = self.record(
                "downloadBlocked",
                &who.0,
                ip,
                &method,
                &path,
                StatusCode::FORBIDDEN,
                Some(policy.clone()),
            );
            self.audit(&app, r).await;
            // The upstream's body is dropped unread: nothing of it reaches the person.
            return page(StatusCode::FORBIDDEN, "Download blocked", &format!("Downloading files from {} is not allowed in this session, by {policy}. The page itself still works.", app.config.display_name));
        }
        let (mut parts, body) = res.into_parts();
        guard::strip_hop_by_hop(&mut parts.headers);
        strip_set_cookies(&mut parts.headers);
        let body: ProxyBody = body.map_err(|e| Box::new(e) as BoxError).boxed();
        let body = if who.0.enforcement.monitor {
            let record = self.record("request", &who.0, ip, &method, &path, status, None);
            Counting {
                inner: body,
                bytes: 0,
                record: Some(record),
                client_id: app.config.client_id.clone(),
                sink: self.records.clone(),
            }
            .boxed()
        } else {
            body
        };
        Response::from_parts(parts, body)
    }

    fn clear_cookie(&self, app: &App, res: &mut Response<ProxyBody>) {
        let secure = if app.secure { "; Secure" } else { "" };
        if let Some(v) = header(&format!(
            "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
        )) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }

    /// The request for the upstream: the client's, cleaned, with the identity headers.
    #[allow(clippy::too_many_arguments)]
    fn upstream_request(
        &self,
        app: &App,
        req: Request<Incoming>,
        target: &str,
        ip: Option<IpAddr>,
        who: &Allowed,
        assertion: Option<Arc<str>>,
        upgrade: bool,
    ) -> Option<Request<ProxyBody>> {
        let (mut parts, body) = req.into_parts();
        let upgrade_to = parts.headers.get(UPGRADE).cloned();
        guard::strip_request(&mut parts.headers);
        guard::strip_cookies(&mut parts.headers, &HIDDEN_COOKIES);
        parts.headers.remove(HOST);
        let h = &mut parts.headers;
        if let (true, Some(u)) = (upgrade, upgrade_to) {
            h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            h.insert(UPGRADE, u);
        }
        if let Some(v) = ip.and_then(|i| header(&i.to_string())) {
            h.insert("x-forwarded-for", v);
        }
        h.insert(
            "x-forwarded-proto",
            HeaderValue::from_static(if app.secure { "https" } else { "http" }),
        );
        if let Some(v) = header(&app.authority) {
            h.insert("x-forwarded-host", v);
        }
        let identity: [(&str, Option<&str>); 5] = [
            ("x-trustplane-user", Some(&who.user_principal_name)),
            ("x-trustplane-user-id", Some(&who.user_id)),
            ("x-trustplane-email", who.mail.as_deref()),
            ("x-trustplane-name", Some(&who.display_name)),
            ("x-trustplane-session", Some(&who.session_id)),
        ];
        for (name, value) in identity {
            if let Some(v) = value.and_then(header) {
                h.insert(HeaderName::from_static(name), v);
            }
        }
        if let Some(v) = assertion.as_deref().and_then(header) {
            h.insert(HeaderName::from_static(ASSERTION_HEADER), v);
        }
        let uri: Uri = format!("{}{}{target}", app.upstream_origin, app.upstream_base)
            .parse()
            .ok()?;
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        let max = who
            .enforcement
            .block_uploads
            .as_ref()
            .and_then(|u| u.max_bytes)
            .filter(|_| matches!(parts.method, Method::POST | Method::PUT | Method::PATCH));
        let body: ProxyBody = match max {
            Some(max) => Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)).boxed(),
            None => body.map_err(|e| Box::new(e) as BoxError).boxed(),
        };
        Some(Request::from_parts(parts, body))
    }

    /// The session's assertion, signed again when half its life is gone.
    fn assertion(&self, app: &App, key: &str, who: &Allowed) -> Option<Arc<str>> {
        let now = self.now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let s = sessions.get_mut(key)?;
        if let Some((a, made)) = &s.assertion {
            if now >= *made && now - made < ASSERTION_TTL_MS / 2 {
                return Some(a.clone());
            }
        }
        let claims = json!({
            "iss": app.config.proxy.origin(),
            "aud": app.config.app_id,
            "sub": who.user_id,
            "preferred_username": who.user_principal_name,
            "email": who.mail,
            "name": who.display_name,
            "sid": who.session_id,
            "iat": now / 1000,
            "exp": (now + ASSERTION_TTL_MS) / 1000,
        });
        match self.signer.sign(&claims) {
            Ok(token) => {
                let token: Arc<str> = Arc::from(token);
                s.assertion = Some((token.clone(), now));
                Some(token)
            }
            Err(e) => {
                tracing::error!(error = %e, "identity assertion not signed");
                None
            }
        }
    }

    /// The session behind a cookie, checked again with Trustplane when it is due or the
    /// person's address changed.
    async fn current(&self, app: &App, key: &str, ip: Option<IpAddr>, ua: Option<&str>) -> Current {
        let now = self.now();
        let recheck_ms = i64::try_from(self.config.recheck_seconds)
            .unwrap_or(5)
            .saturating_mul(1000);
        let (tokens, expires_at) = {
            let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            let Some(s) = sessions.get(key) else {
                return Current::None;
            };
            if s.client_id != app.config.client_id {
                return Current::None;
            }
            let due = now < s.checked_at || now - s.checked_at >= recheck_ms || s.ip != ip;
            if !due {
                return Current::Allowed(key.into(), (s.allowed.clone(), s.mfa_valid_until));
            }
            (s.tokens.clone(), s.token_expires_at)
        };
        let mut tokens = tokens;
        let mut expires_at = expires_at;
        if now >= expires_at - REFRESH_MARGIN_MS {
            match tokens.refresh_token.as_deref() {
                Some(rt) => match app.control.refresh(rt).await {
                    Ok(t) => {
                        expires_at = now + t.expires_in.saturating_mul(1000);
                        tokens = Tokens {
                            refresh_token: t.refresh_token.clone().or(tokens.refresh_token),
                            ..t
                        };
                    }
                    Err(ControlError::Refused(_)) => {
                        self.drop_session(key);
                        return Current::None;
                    }
                    Err(_) => return Current::Unavailable,
                },
                None => {
                    self.drop_session(key);
                    return Current::None;
                }
            }
        }
        let ip_text = ip.map(|i| i.to_string());
        match app
            .control
            .check(&tokens.access_token, ip_text.as_deref(), ua, false)
            .await
        {
            Ok(Verdict::Allow(allowed)) => {
                let allowed = Arc::new(*allowed);
                let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
                let Some(s) = sessions.get_mut(key) else {
                    return Current::None;
                };
                s.tokens = tokens;
                s.token_expires_at = expires_at;
                s.checked_at = now;
                s.ip = ip;
                s.mfa_valid_until = now + allowed.second_factor_valid_ms;
                s.allowed = allowed.clone();
                Current::Allowed(key.into(), (allowed, s.mfa_valid_until))
            }
            Ok(Verdict::SignIn { .. }) => {
                self.drop_session(key);
                Current::None
            }
            Ok(Verdict::StepUp) => Current::StepUp,
            Ok(Verdict::Block { reason, .. }) => Current::Blocked(reason),
            Err(ControlError::Refused(e)) => {
                tracing::warn!(error = %e, "session check refused");
                self.drop_session(key);
                Current::None
            }
            Err(e) => {
                tracing::warn!(error = %e, "session check failed");
                Current::Unavailable
            }
        }
    }

    fn drop_session(&self, key: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Back from Trustplane with a code (or an error).
    async fn callback(
        &self,
        app: &App,
        req: &Request<Incoming>,
        ip: Option<IpAddr>,
    ) -> Response<ProxyBody> {
        let query = req.uri().query().unwrap_or_default();
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let Some(pending) = params.get("state").and_then(|s| {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(s)
        }) else {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "This sign-in is unknown or was used already; open the application again.",
            );
        };
        let now = self.now();
        if pending.client_id != app.config.client_id || now - pending.created_at > PENDING_TTL_MS {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "This sign-in is too old; open the application again.",
            );
        }
        if let Some(error) = params.get("error") {
            let why = params
                .get("error_description")
                .cloned()
                .unwrap_or_else(|| error.clone());
            return page(StatusCode::FORBIDDEN, "Access blocked", &why);
        }
        let Some(code) = params.get("code") else {
            return page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The sign-in answer has no code.",
            );
        };
        let tokens = match app
            .control
            .exchange(code, &pending.verifier, &app.redirect_uri())
            .await
        {
            Ok(t) => t,
            Err(e) => return page(StatusCode::BAD_GATEWAY, "Sign-in failed", &e.to_string()),
        };
        let ua = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
        let ip_text = ip.map(|i| i.to_string());
        let verdict = match app
            .control
            .check(&tokens.access_token, ip_text.as_deref(), ua, true)
            .await
        {
            Ok(v) => v,
            Err(e) => return page(StatusCode::BAD_GATEWAY, "Sign-in failed", &e.to_string()),
        };
        match verdict {
            Verdict::Allow(allowed) => {
                let cookie = random(32);
                let allowed = Arc::new(*allowed);
                let session = Session {
                    client_id: app.config.client_id.clone(),
                    token_expires_at: now + tokens.expires_in.saturating_mul(1000),
                    tokens,
                    mfa_valid_until: now + allowed.second_factor_valid_ms,
                    allowed,
                    checked_at: now,
                    ip,
                    assertion: None,
                };
                {
                    let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
                    if sessions.len() >= MAX_SESSIONS {
                        let oldest = sessions
                            .iter()
                            .min_by_key(|(_, s)| s.checked_at)
                            .map(|(k, _)| k.clone());
                        if let Some(k) = oldest {
                            sessions.remove(&k);
                        }
                    }
                    // A previous session of this browser ends with the new one.
                    if let Some(old) = guard::cookie(req.headers(), SESSION_COOKIE) {
                        sessions.remove(&hash(&old));
                    }
                    sessions.insert(hash(&cookie), session);
                }
                let mut res = redirect(&pending.return_to);
                let secure = if app.secure { "; Secure" } else { "" };
                if let Some(v) = header(&format!(
                    "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax{secure}"
                )) {
                    res.headers_mut().append(SET_COOKIE, v);
                }
                res
            }
            Verdict::StepUp => self.sign_in(app, &pending.return_to, true),
            Verdict::Block { reason, .. } => page(StatusCode::FORBIDDEN, "Access blocked", &reason),
            Verdict::SignIn { reason } => page(StatusCode::UNAUTHORIZED, "Sign-in failed", &reason),
        }
    }

    /// Number of live proxy sessions (for tests and metrics).
    pub fn session_count(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

/// Where a request's session stands.
enum Current {
    /// Allowed: the session key, and what applies with when a second factor stops counting.
    Allowed(String, (Arc<Allowed>, i64)),
    None,
    StepUp,
    Blocked(String),
    Unavailable,
}

/// Whether a forwarding failure was the upload limit.
fn too_large(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Drops `Set-Cookie` headers that would plant the proxy's or Trustplane's cookies.
fn strip_set_cookies(headers: &mut hyper::HeaderMap) {
    let kept: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter(|v| {
            let name = v
                .to_str()
                .ok()
                .and_then(|s| s.split('=').next())
                .map(|n| n.trim().to_string())
                .unwrap_or_default();
            !HIDDEN_COOKIES.iter().any(|h| h.eq_ignore_ascii_case(&name))
        })
        .cloned()
        .collect();
    headers.remove(SET_COOKIE);
    for v in kept {
        headers.append(SET_COOKIE, v);
    }
}

/// A response body that counts what it passes and queues the monitoring record when done.
struct Counting {
    inner: ProxyBody,
    bytes: u64,
    record: Option<ProxyRecord>,
    client_id: String,
    sink: mpsc::Sender<(String, ProxyRecord)>,
}

impl Body for Counting {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(d) = frame.data_ref() {
                self.bytes += d.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        if let Some(mut r) = self.record.take() {
            r.bytes = self.bytes;
            if self
                .sink
                .try_send((std::mem::take(&mut self.client_id), r))
                .is_err()
            {
                tracing::warn!("proxy record queue full; a monitoring record was dropped");
            }
        }
    }
}

impl RunningProxy {
    /// Serves until the task is dropped: connections (HTTP/1.1 with upgrades, or h2c), the
    /// record sender, and the periodic reload of applications.
    pub async fn run(self) {
        let RunningProxy {
            proxy,
            listener,
            mut records,
            ..
        } = self;
        // Applications: now, until all answer, then every minute.
        let loader = proxy.clone();
        tokio::spawn(async move {
            loop {
                let all = loader.load_apps().await;
                let wait = if all { 60 } else { 2 };
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
        });
        // Monitoring records: batched by application, sent every second.
        let sender = proxy.clone();
        tokio::spawn(async move {
            let mut batch: HashMap<String, Vec<ProxyRecord>> = HashMap::new();
            loop {
                let first = records.recv().await;
                let Some((client, record)) = first else { break };
                batch.entry(client).or_default().push(record);
                let deadline = tokio::time::sleep(Duration::from_secs(1));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        next = records.recv() => match next {
                            Some((c, r)) => {
                                let list = batch.entry(c).or_default();
                                list.push(r);
                                if list.len() >= crate::check::MAX_EVENTS { break; }
                            }
                            None => break,
                        }
                    }
                }
                for (client, list) in batch.drain() {
                    if let Some(app) = sender.app_by_client(&client) {
                        for chunk in list.chunks(crate::check::MAX_EVENTS) {
                            if let Err(e) = app.control.send(chunk).await {
                                tracing::warn!(error = %e, count = chunk.len(), "monitoring records not delivered");
                            }
                        }
                    }
                }
            }
        });
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let proxy = proxy.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, Infallible>(proxy.handle(peer, req).await) }
                });
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .max_buf_size(64 * 1024);
                builder.http2().max_header_list_size(64 * 1024);
                if let Err(e) = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
    }
}
