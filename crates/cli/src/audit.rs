//! `trustplane audit verify`: reads the chain straight from the database, so it works with the
//! server stopped and trusts nothing but the stored rows.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use trustplane_model::SystemClock;
use trustplane_store::Store;

use crate::args::{AuditArgs, AuditCommand, Output};
use crate::config;

/// Exit code when the chain is broken.
const CHAIN_BROKEN: i32 = 3;

pub async fn run(args: AuditArgs, out: Output) -> Result<i32> {
    let AuditCommand::Verify {
        data_dir,
        database_url,
    } = args.command;
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from("trustplane-data"));
    if database_url.is_none() && !data_dir.join("trustplane.db").is_file() {
        anyhow::bail!(
            "no database at {}",
            data_dir.join("trustplane.db").display()
        );
    }
    let url = config::database_url(database_url.as_deref(), &data_dir)?;
    let store = Store::open(&url, Arc::new(SystemClock)).await?;
    let report = store.verify_audit_chain().await?;
    store.close().await;
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Table => match &report.first_problem {
            None => println!(
                "audit chain intact: {} entries, head at sequence {}",
                report.entries_checked, report.head_sequence
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
