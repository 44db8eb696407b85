//! `trustplane proxy`: the identity-aware proxy in its own process.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde_json::{json, Value};
use trustplane_model::SystemClock;
use trustplane_proxy::{Proxy, ProxyConfig};

use crate::args::ProxyArgs;

/// The settings: the file, then the flags (one application given by flags is added to the
/// file's).
fn settings(args: &ProxyArgs) -> Result<ProxyConfig> {
    let mut layer = json!({ "listen": "127.0.0.1:8443", "apps": [] });
    if let Some(file) = &args.config {
        if !file.is_file() {
            bail!("config file {} does not exist", file.display());
        }
        let from_file: Value = Figment::from(Toml::file(file))
            .extract()
            .context("invalid proxy settings")?;
        if let (Some(base), Some(over)) = (layer.as_object_mut(), from_file.as_object()) {
            base.extend(over.clone());
        }
    }
    if let Some(u) = &args.trustplane_url {
        layer["trustplane_url"] = json!(u);
    }
    if let Some(l) = args.listen {
        layer["listen"] = json!(l.to_string());
    }
    if let Some(r) = args.recheck_seconds {
        layer["recheck_seconds"] = json!(r);
    }
    match (&args.client_id, &args.client_secret) {
        (Some(id), Some(secret)) => {
            if let Some(apps) = layer["apps"].as_array_mut() {
                apps.push(json!({ "client_id": id, "client_secret": secret }));
            }
        }
        (Some(_), None) => {
            bail!("--client-id needs --client-secret (or TRUSTPLANE_PROXY_CLIENT_SECRET)")
        }
        _ => {}
    }
    let config: ProxyConfig = Figment::from(Serialized::defaults(layer))
        .extract()
        .context("invalid proxy settings")?;
    config.validate().map_err(|e| anyhow::anyhow!(e))?;
    Ok(config)
}

pub async fn run(args: ProxyArgs) -> Result<i32> {
    crate::serve::init_log(args.log_format);
    let config = settings(&args)?;
    let running = Proxy::bind(config, Arc::new(SystemClock))
        .await
        .context("cannot start the proxy")?;
    tracing::info!(listen = %running.local_addr, "identity-aware proxy listening");
    tokio::select! {
        _ = running.run() => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(0)
}
