//! The streaming hunt `trustplane detect --output json` runs, without the rest of the
//! binary: every record of the files is parsed, matched and dropped; each match is written
//! to standard output as one JSON line as it is found, and the counts go to standard error.
//! Used by `bench/detect-vs-rsigma.sh`, which also runs the command itself when it is given.
//!
//! `cargo run --release -p trustplane-detect --example stream_hunt -- RULES FILE...`
#![allow(clippy::print_stderr)]

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use trustplane_detect::{EngineOptions, Hunter, ReadLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let rules = args.next().ok_or("usage: stream_hunt RULES FILE...")?;
    let files: Vec<PathBuf> = args.collect();
    let out = Arc::new(Mutex::new(BufWriter::with_capacity(
        256 * 1024,
        std::io::stdout(),
    )));
    let sink_out = Arc::clone(&out);
    let mut hunter =
        Hunter::new(&[rules], &EngineOptions::default())?.with_sink(Box::new(move |m| {
            let mut w = sink_out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = serde_json::to_writer(&mut *w, &m);
            let _ = w.write_all(b"\n");
        }));
    for file in trustplane_detect::list_log_files(&files)? {
        hunter.read_file(&file, &ReadLimits::FILE);
    }
    let report = hunter.finish();
    out.lock().unwrap_or_else(|e| e.into_inner()).flush()?;
    eprintln!(
        "{} records, {} matches, {} malformed, {} rules ({} failed)",
        report.records,
        report.match_count,
        report.malformed_count,
        report.rules.detection_rules,
        report.rules.failures.len()
    );
    Ok(())
}
