//! `serve` settings: defaults, then the TOML file, then `TRUSTPLANE_*` variables, then flags.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::args::ServeArgs;

/// Everything `serve` reads. Unknown keys in the file are an error, so typos do not pass
/// silently.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub node_id: Option<String>,
    pub bootstrap_admin_upn: String,
    /// Only from the environment or the file: a token on the command line would show in `ps`.
    pub bootstrap_admin_token: Option<String>,
    pub checkpoint_interval_secs: u64,
    /// The URL people reach this server at (passkeys are bound to it).
    pub public_url: Option<String>,
    /// The master key sealing secrets at rest, base64url; environment or file only.
    pub master_key: Option<String>,
    /// Where the master key is kept when not given [default: DATA_DIR/master.key].
    pub master_key_file: Option<PathBuf>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Failed sign-ins (passwords, codes) one address may make in a burst ...
    pub failed_sign_ins_per_address: u32,
    /// ... and regains per minute. Successes do not count.
    pub failed_sign_ins_per_address_per_minute: u32,
    /// Password hashes computed at once (each takes 19 MiB) [default: twice the cores].
    pub max_concurrent_password_hashes: Option<usize>,
    /// Password checks that may wait for a turn, past which 503 [default: 32 per slot].
    pub password_hash_queue: Option<usize>,
    pub session_idle_timeout_secs: u64,
    pub session_absolute_timeout_secs: u64,
    /// A MaxMind database (GeoLite2 or GeoIP2) for country named locations.
    pub geoip_database: Option<PathBuf>,
    /// Folders of Sigma rules for the detection pipeline.
    pub detection_rules: Vec<PathBuf>,
    /// Bytes one push to the ingest API may inflate to.
    pub ingest_max_inflated_bytes: u64,
    /// Records one push to the ingest API may hold.
    pub ingest_max_records: usize,
    /// Bytes one S3 log object may inflate to.
    pub log_object_max_inflated_bytes: u64,
    /// Records one S3 log object may hold.
    pub log_object_max_records: usize,
    /// A file each audit checkpoint is appended to (JSON lines), kept where the database's
    /// writers cannot change it; `trustplane audit verify --anchor FILE` checks against it.
    pub audit_anchor_file: Option<PathBuf>,
    /// An identity-aware proxy run inside this node (the `[proxy]` table, as for
    /// `trustplane proxy --config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<trustplane_proxy::ProxyConfig>,
}

impl Settings {
    /// The limits on pushed log data and stored log objects.
    pub fn ingest_limits(&self) -> trustplane_server::detection::IngestLimits {
        use trustplane_detect::ReadLimits;
        trustplane_server::detection::IngestLimits {
            push: ReadLimits {
                max_inflated_bytes: self.ingest_max_inflated_bytes,
                max_records: self.ingest_max_records,
                ..ReadLimits::PUSH
            },
            object: ReadLimits {
                max_inflated_bytes: self.log_object_max_inflated_bytes,
                max_records: self.log_object_max_records,
                ..ReadLimits::OBJECT
            },
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("trustplane-data"),
            database_url: None,
            node_id: None,
            bootstrap_admin_upn: "admin@trustplane.local".into(),
            bootstrap_admin_token: None,
            checkpoint_interval_secs: 300,
            public_url: None,
            master_key: None,
            master_key_file: None,
            trusted_proxies: Vec::new(),
            failed_sign_ins_per_address: 10,
            failed_sign_ins_per_address_per_minute: 30,
            max_concurrent_password_hashes: None,
            password_hash_queue: None,
            session_idle_timeout_secs: 30 * 60,
            session_absolute_timeout_secs: 12 * 60 * 60,
            geoip_database: None,
            detection_rules: Vec::new(),
            ingest_max_inflated_bytes: trustplane_detect::ReadLimits::PUSH.max_inflated_bytes,
            ingest_max_records: trustplane_detect::ReadLimits::PUSH.max_records,
            log_object_max_inflated_bytes: trustplane_detect::ReadLimits::OBJECT.max_inflated_bytes,
            log_object_max_records: trustplane_detect::ReadLimits::OBJECT.max_records,
            audit_anchor_file: None,
            proxy: None,
        }
    }
}

/// The flags that were given, as a partial layer over the others.
#[derive(Serialize)]
struct FlagLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bootstrap_admin_upn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint_interval_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_concurrent_password_hashes: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    detection_rules: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audit_anchor_file: Option<PathBuf>,
}

const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "node_id",
    "bootstrap_admin_upn",
    "bootstrap_admin_token",
    "checkpoint_interval_secs",
    "public_url",
    "master_key",
    "master_key_file",
    "trusted_proxies",
    "failed_sign_ins_per_address",
    "failed_sign_ins_per_address_per_minute",
    "max_concurrent_password_hashes",
    "password_hash_queue",
    "session_idle_timeout_secs",
    "session_absolute_timeout_secs",
    "geoip_database",
    "detection_rules",
    "ingest_max_inflated_bytes",
    "ingest_max_records",
    "log_object_max_inflated_bytes",
    "log_object_max_records",
    "audit_anchor_file",
];

pub fn load(args: &ServeArgs) -> Result<Settings> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if let Some(file) = &args.config {
        if !file.is_file() {
            anyhow::bail!("config file {} does not exist", file.display());
        }
        figment = figment.merge(Toml::file(file));
    }
    figment = figment
        .merge(Env::prefixed("TRUSTPLANE_").only(ENV_KEYS))
        .merge(Serialized::defaults(FlagLayer {
            listen: args.listen,
            data_dir: args.data_dir.clone(),
            database_url: args.database_url.clone(),
            node_id: args.node_id.clone(),
            bootstrap_admin_upn: args.bootstrap_admin_upn.clone(),
            checkpoint_interval_secs: args.checkpoint_interval_secs,
            public_url: args.public_url.clone(),
            max_concurrent_password_hashes: args.max_concurrent_password_hashes,
            detection_rules: args.detection_rules.clone(),
            audit_anchor_file: args.audit_anchor_file.clone(),
        }));
    let settings: Settings = figment.extract().context("invalid settings")?;
    if settings.session_idle_timeout_secs == 0 || settings.session_absolute_timeout_secs == 0 {
        anyhow::bail!("session timeouts must be at least 1 second");
    }
    if settings.checkpoint_interval_secs == 0 {
        anyhow::bail!("checkpoint_interval_secs must be at least 1");
    }
    if settings.failed_sign_ins_per_address == 0
        || settings.failed_sign_ins_per_address_per_minute == 0
    {
        anyhow::bail!(
            "failed_sign_ins_per_address and failed_sign_ins_per_address_per_minute must be at least 1"
        );
    }
    if settings.max_concurrent_password_hashes == Some(0) {
        anyhow::bail!("max_concurrent_password_hashes must be at least 1");
    }
    if settings.ingest_max_inflated_bytes == 0
        || settings.ingest_max_records == 0
        || settings.log_object_max_inflated_bytes == 0
        || settings.log_object_max_records == 0
    {
        anyhow::bail!("the ingest and log object limits must be at least 1");
    }
    Ok(settings)
}

/// The sign-in limits of the settings, with the defaults that depend on the machine.
pub fn sign_in_limits(settings: &Settings) -> trustplane_server::SignInLimits {
    let defaults = trustplane_server::SignInLimits::default();
    let concurrent = settings
        .max_concurrent_password_hashes
        .unwrap_or(defaults.max_concurrent_password_hashes);
    trustplane_server::SignInLimits {
        max_concurrent_password_hashes: concurrent,
        password_hash_queue: settings
            .password_hash_queue
            .unwrap_or_else(|| concurrent.saturating_mul(32)),
        failures_per_address_burst: settings.failed_sign_ins_per_address,
        failures_per_address_per_minute: settings.failed_sign_ins_per_address_per_minute,
    }
}

/// The database URL: the PostgreSQL one if given, else the embedded file under `data_dir`.
pub fn database_url(database_url: Option<&str>, data_dir: &Path) -> Result<String> {
    if let Some(url) = database_url {
        return Ok(url.to_string());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    restrict_permissions(data_dir);
    Ok(format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("trustplane.db").display()
    ))
}

/// The data folder holds password hashes and token hashes: owner only.
fn restrict_permissions(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own large error type
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_environment_which_wins_over_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "tp.toml",
                "listen = \"127.0.0.1:9000\"\nnode_id = \"from-file\"\nbootstrap_admin_upn = \"file@example.com\"",
            )?;
            jail.set_env("TRUSTPLANE_NODE_ID", "from-env");
            jail.set_env("TRUSTPLANE_LISTEN", "127.0.0.1:9100");
            let args = ServeArgs {
                config: Some("tp.toml".into()),
                listen: Some("127.0.0.1:9200".parse().unwrap()),
                ..Default::default()
            };
            let s = load(&args).unwrap();
            assert_eq!(s.listen.port(), 9200);
            assert_eq!(s.node_id.as_deref(), Some("from-env"));
            assert_eq!(s.bootstrap_admin_upn, "file@example.com");
            assert_eq!(s.checkpoint_interval_secs, 300);
            Ok(())
        });
    }

    #[test]
    fn sign_in_limits_come_from_the_file_the_environment_and_the_flag() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "tp.toml",
                "failed_sign_ins_per_address = 50\npassword_hash_queue = 7\nmax_concurrent_password_hashes = 3",
            )?;
            jail.set_env("TRUSTPLANE_FAILED_SIGN_INS_PER_ADDRESS_PER_MINUTE", "120");
            let mut args = ServeArgs {
                config: Some("tp.toml".into()),
                ..Default::default()
            };
            let limits = sign_in_limits(&load(&args).unwrap());
            assert_eq!(limits.failures_per_address_burst, 50);
            assert_eq!(limits.failures_per_address_per_minute, 120);
            assert_eq!(limits.max_concurrent_password_hashes, 3);
            assert_eq!(limits.password_hash_queue, 7);
            args.max_concurrent_password_hashes = Some(5);
            let limits = sign_in_limits(&load(&args).unwrap());
            assert_eq!(limits.max_concurrent_password_hashes, 5);
            // Zero would refuse every sign-in: an error, not a silent lock-out.
            jail.set_env("TRUSTPLANE_FAILED_SIGN_INS_PER_ADDRESS", "0");
            assert!(load(&args).is_err());
            Ok(())
        });
    }

    #[test]
    fn sign_in_limits_default_to_the_machine() {
        let limits = sign_in_limits(&Settings::default());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(limits.max_concurrent_password_hashes, 2 * cores);
        assert_eq!(limits.password_hash_queue, 64 * cores);
        assert_eq!(limits.failures_per_address_burst, 10);
        assert_eq!(limits.failures_per_address_per_minute, 30);
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tp.toml", "lisen = \"127.0.0.1:9000\"")?;
            let args = ServeArgs {
                config: Some("tp.toml".into()),
                ..Default::default()
            };
            assert!(load(&args).is_err());
            Ok(())
        });
    }
}
