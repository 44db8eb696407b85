//! `trustplane audit verify`: reads the chain straight from the database, so it works with the
//! server stopped. Keyed entries are checked with the key derived from the master key, and
//! with `--anchor` the chain is compared with checkpoints exported outside the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use trustplane_keyring::Sealer;
use trustplane_model::SystemClock;
use trustplane_store::{AuditAnchor, Store};

use crate::args::{AuditArgs, AuditCommand, Output};
use crate::config;

/// Exit code when the chain is broken.
const CHAIN_BROKEN: i32 = 3;

pub async fn run(args: AuditArgs, out: Output) -> Result<i32> {
    let AuditCommand::Verify {
        data_dir,
        database_url,
        master_key_file,
        anchor,
    } = args.command;
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from("trustplane-data"));
    if database_url.is_none() && !data_dir.join("trustplane.db").is_file() {
        anyhow::bail!(
            "no database at {}",
            data_dir.join("trustplane.db").display()
        );
    }
    let url = config::database_url(database_url.as_deref(), &data_dir)?;
    let anchors = match &anchor {
        Some(path) => read_anchors(path)?,
        None => Vec::new(),
    };
    let key = master_key(&data_dir, master_key_file.as_deref())?;
    let store = Store::open(&url, Arc::new(SystemClock)).await?;
    if let Some(sealer) = &key {
        store.enable_audit_key(sealer.audit_key()).await?;
    }
    let report = store.verify_audit_chain_anchored(&anchors).await;
    store.close().await;
    let report = report?;
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Table => match &report.first_problem {
            None => println!(
                "audit chain intact: {} entries, head at sequence {}, {}, {} anchored checkpoints",
                report.entries_checked,
                report.head_sequence,
                match report.keyed_from {
                    Some(k) => format!("keyed from entry {k}"),
                    None => "not keyed".to_string(),
                },
                report.anchors_checked
            ),
            Some(p) => println!("audit chain BROKEN at entry {}: {}", p.sequence, p.reason),
        },
    }
    Ok(if report.first_problem.is_some() {
        CHAIN_BROKEN
    } else {
        0
    })
}

/// The master key that keys the chain: `TRUSTPLANE_MASTER_KEY`, else the file given, else
/// `DATA_DIR/master.key` when it exists. `None` when there is none (an unkeyed chain still
/// verifies; a keyed one is refused).
pub(crate) fn master_key(data_dir: &Path, file: Option<&Path>) -> Result<Option<Sealer>> {
    if let Ok(text) = std::env::var("TRUSTPLANE_MASTER_KEY") {
        return Ok(Some(
            Sealer::from_base64(&text).context("TRUSTPLANE_MASTER_KEY")?,
        ));
    }
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => {
            let default = data_dir.join("master.key");
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    Ok(Some(Sealer::load(&path)?))
}

/// The checkpoints of an anchor file, one JSON object per line.
fn read_anchors(path: &Path) -> Result<Vec<AuditAnchor>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the anchor file {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!(
                    "line {} of the anchor file {} is not a checkpoint",
                    i + 1,
                    path.display()
                )
            })
        })
        .collect()
}
