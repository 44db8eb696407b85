//! `trustplane serve`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use trustplane_authn::SessionPolicy;
use trustplane_model::SystemClock;
use trustplane_server::{NodeSettings, ServerConfig};

use crate::args::{LogFormat, ServeArgs};
use crate::config;

pub async fn run(args: ServeArgs) -> Result<i32> {
    init_log(args.log_format);
    let settings = config::load(&args)?;
    let database_url = config::database_url(settings.database_url.as_deref(), &settings.data_dir)?;
    let database_url_shown = without_password(&database_url);
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
            proxy: settings.proxy.clone(),
        },
        Arc::new(SystemClock),
        // Scheduled scans of connected accounts and S3 log sources use the real collectors.
        trustplane_cloud::connectors_with(settings.ingest_limits().object),
        // Just-in-time cloud roles are granted through the real AWS and Azure APIs.
        trustplane_cloud::grants(),
    )
    .await
    .context("cannot start")?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", server.local_addr.port()));
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
        println!("  sign in at:         {public_url}/login");
        println!("  from a terminal:    trustplane admin --url {public_url} --token <token> login");
    }
    log_start_facts(&settings, &public_url, &database_url_shown);
    println!("trustplane listening on http://{}", server.local_addr);
    server.run().await.context("server failed")?;
    Ok(0)
}

/// The log on standard error: filtered by `TRUSTPLANE_LOG`, as text or JSON lines, without
/// colour codes unless a person is watching a terminal.
pub(crate) fn init_log(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRUSTPLANE_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
}

/// What an operator checks first in a log after a start.
fn log_start_facts(settings: &config::Settings, public_url: &str, database: &str) {
    tracing::info!(%database, "store opened");
    tracing::info!(%public_url, "sign-in pages at {public_url}/login");
    if settings.detection_rules.is_empty() {
        tracing::info!("no detection rules folder: only Trustplane's built-in rules run");
    } else {
        let folders: Vec<String> = settings
            .detection_rules
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        tracing::info!(folders = %folders.join(", "), "detection rules loaded");
    }
    tracing::info!(
        trusted_proxies = settings.trusted_proxies.len(),
        geoip = settings.geoip_database.is_some(),
        checkpoint_interval_secs = settings.checkpoint_interval_secs,
        "background jobs started: audit checkpoints, PIM expiry and reconciliation, scheduled scans, log-source polling, notifications"
    );
}

/// A database URL fit for a log: the password, if any, replaced.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn database_passwords_stay_out_of_the_log() {
        assert_eq!(
            without_password("postgres://tp:s3cret@db:5432/tp"),
            "postgres://tp:***@db:5432/tp"
        );
        assert_eq!(
            without_password("postgres://tp@db/tp"),
            "postgres://tp@db/tp"
        );
        assert_eq!(
            without_password("sqlite://data/trustplane.db?mode=rwc"),
            "sqlite://data/trustplane.db?mode=rwc"
        );
    }
}
