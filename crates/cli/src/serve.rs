//! `trustplane serve`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use trustplane_authn::SessionPolicy;
use trustplane_model::SystemClock;
use trustplane_server::{NodeSettings, ServerConfig};

use crate::args::ServeArgs;
use crate::config;

pub async fn run(args: ServeArgs) -> Result<i32> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRUSTPLANE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = config::load(&args)?;
    let database_url = config::database_url(settings.database_url.as_deref(), &settings.data_dir)?;
    let node_id = settings.node_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    let server = trustplane_server::start_with_cloud(
        ServerConfig {
            listen: settings.listen,
            database_url,
            node_id,
            bootstrap_admin_upn: settings.bootstrap_admin_upn.clone(),
            bootstrap_admin_token: settings.bootstrap_admin_token.clone(),
            checkpoint_interval: Duration::from_secs(settings.checkpoint_interval_secs),
            audit_anchor_file: settings.audit_anchor_file.clone(),
            sign_in: NodeSettings {
                public_url: settings.public_url.clone(),
                master_key: settings.master_key.clone(),
                master_key_file: settings
                    .master_key_file
                    .clone()
                    .unwrap_or_else(|| settings.data_dir.join("master.key")),
                trusted_proxies: settings.trusted_proxies.clone(),
                sessions: SessionPolicy {
                    idle_timeout_secs: i64::try_from(settings.session_idle_timeout_secs)
                        .unwrap_or(i64::MAX),
                    absolute_timeout_secs: i64::try_from(settings.session_absolute_timeout_secs)
                        .unwrap_or(i64::MAX),
                },
                issuer: "Trustplane".into(),
                geoip_database: settings.geoip_database.clone(),
                detection_rules: settings.detection_rules.clone(),
                limits: config::sign_in_limits(&settings),
                ingest_limits: settings.ingest_limits(),
            },
        },
        Arc::new(SystemClock),
        // Scheduled scans of connected accounts and S3 log sources use the real collectors.
        trustplane_cloud::connectors_with(settings.ingest_limits().object),
    )
    .await
    .context("cannot start")?;
    if let Some(creds) = &server.bootstrap {
        // Printed on standard output once, on the first start of an empty store; only hashes
        // are kept, so this cannot be shown again.
        println!("Trustplane is set up. Keep these; they are shown only this once:");
        println!("  administrator:      {}", creds.user_principal_name);
        println!(
            "  one-time password:  {}  (must be changed at first sign-in)",
            creds.one_time_password
        );
        match &creds.api_token {
            Some(t) => println!("  admin API token:    {t}"),
            None => println!("  admin API token:    the one in TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN"),
        }
        println!(
            "  try: trustplane admin --url http://{} --token <token> users list",
            server.local_addr
        );
    }
    println!("trustplane listening on http://{}", server.local_addr);
    server.run().await.context("server failed")?;
    Ok(0)
}
