//! `trustplane detect`: the offline hunt with Sigma rules over CloudTrail and Azure log files
//! and CloudTrail objects under S3 prefixes, and `--check-rules` to report each rule that
//! cannot be loaded.

use std::collections::BTreeMap;
use std::io::{BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use trustplane_aws::{LogBucket, LogBucketOptions, S3Prefix};
use trustplane_detect::{
    check_rules, list_log_files, EngineOptions, HuntReport, Hunter, Match, ReadLimits,
};

use crate::args::{DetectArgs, MatchOrder, Output, RuleLevel};
use crate::output;
use crate::progress::Bar;

pub async fn run(args: DetectArgs, out: Option<Output>) -> Result<i32> {
    let out = out.unwrap_or(Output::Table);
    if !args.check_rules.is_empty() {
        let check = check_rules(&args.check_rules)?;
        let value = serde_json::to_value(&check)?;
        match out {
            Output::Json => println!("{}", serde_json::to_string_pretty(&value)?),
            Output::Table => {
                println!(
                    "{} files, {} detection rules, {} correlation rules, {} failures",
                    check.files,
                    check.detection_rules,
                    check.correlation_rules,
                    check.failures.len()
                );
                let rows: Vec<Value> = value["failures"].as_array().cloned().unwrap_or_default();
                if !rows.is_empty() {
                    output::list(
                        out,
                        &rows,
                        &[("file", "path"), ("rule", "rule"), ("reason", "reason")],
                    );
                }
            }
        }
        return Ok(if check.failures.is_empty() { 0 } else { 1 });
    }
    if args.rules.is_empty() || args.inputs.is_empty() {
        bail!("give --rules DIR and at least one input file, folder or s3:// prefix (or --check-rules DIR)");
    }
    let printer = Arc::new(Mutex::new(Printer::new(out, args.min_level, args.sort)));
    let report = hunt(&args, Arc::clone(&printer)).await?;
    let mut printer = printer.lock().unwrap_or_else(|e| e.into_inner());
    printer.finish(report)?;
    Ok(0)
}

/// Rows of one table when matches are shown as tables: each block of this many matches is
/// printed as soon as it is complete, so a long hunt shows its matches as it goes and holds
/// no more than this many.
const TABLE_BLOCK: usize = 1000;

/// Prints matches as the hunt finds them: JSON (the report's `matches` array, one match per
/// line, written before the rest of the report) or tables of [`TABLE_BLOCK`] rows. Only
/// `--sort severity` holds matches (not records) until the end, to order them.
struct Printer {
    out: Output,
    min_level: Option<RuleLevel>,
    order: MatchOrder,
    writer: BufWriter<Stdout>,
    /// Matches shown (after `--min-level`) and their counts per rule.
    shown: usize,
    counts: BTreeMap<String, usize>,
    held: Vec<Match>,
    rows: Vec<Value>,
    error: Option<std::io::Error>,
}

impl Printer {
    fn new(out: Output, min_level: Option<RuleLevel>, order: MatchOrder) -> Self {
        Printer {
            out,
            min_level,
            order,
            writer: BufWriter::with_capacity(256 * 1024, std::io::stdout()),
            shown: 0,
            counts: BTreeMap::new(),
            held: Vec::new(),
            rows: Vec::new(),
            error: None,
        }
    }

    fn accept(&mut self, m: Match) {
        if let Some(min) = self.min_level {
            if RuleLevel::parse(m.rule.level.as_deref()).is_none_or(|l| l < min) {
                return;
            }
        }
        match self.counts.get_mut(&m.rule.title) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(m.rule.title.clone(), 1);
            }
        }
        if self.order == MatchOrder::Severity {
            self.held.push(m);
        } else {
            self.show(&m);
        }
    }

    fn show(&mut self, m: &Match) {
        if self.error.is_some() {
            return;
        }
        let written = match self.out {
            Output::Json => {
                let lead: &[u8] = if self.shown == 0 {
                    b"{\n  \"matches\": [\n    "
                } else {
                    b",\n    "
                };
                self.writer
                    .write_all(lead)
                    .and_then(|()| serde_json::to_writer(&mut self.writer, m).map_err(Into::into))
            }
            Output::Table => {
                self.rows.push(row(m));
                if self.rows.len() >= TABLE_BLOCK {
                    self.flush_table()
                } else {
                    Ok(())
                }
            }
        };
        self.shown += 1;
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    fn flush_table(&mut self) -> std::io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let table = output::table(
            &rows,
            &[
                ("time", "time"),
                ("rule", "rule"),
                ("level", "level"),
                ("author", "author"),
                ("action", "action"),
                ("who", "who"),
                ("ip", "ip"),
            ],
        );
        writeln!(self.writer, "{table}")
    }

    /// Shows what is held, then the rest of the report.
    fn finish(&mut self, mut report: HuntReport) -> Result<()> {
        if self.order == MatchOrder::Severity {
            let mut held = std::mem::take(&mut self.held);
            // Stable: within a level the matches keep their time order.
            held.sort_by_key(|m| std::cmp::Reverse(RuleLevel::parse(m.rule.level.as_deref())));
            for m in &held {
                self.show(m);
            }
        }
        if let Some(e) = self.error.take() {
            return Err(e).context("cannot write the matches");
        }
        report.match_count = self.shown;
        if self.min_level.is_some() {
            report.counts = std::mem::take(&mut self.counts);
        }
        match self.out {
            Output::Json => {
                if self.shown == 0 {
                    self.writer.write_all(b"{\n  \"matches\": [")?;
                } else {
                    self.writer.write_all(b"\n  ")?;
                }
                self.writer.write_all(b"]")?;
                let mut rest = serde_json::to_value(&report)?;
                if let Some(map) = rest.as_object_mut() {
                    map.remove("matches");
                    for (key, value) in map.iter() {
                        write!(self.writer, ",\n  {}: ", Value::String(key.clone()))?;
                        let text = serde_json::to_string_pretty(value)?;
                        self.writer
                            .write_all(text.replace('\n', "\n  ").as_bytes())?;
                    }
                }
                self.writer.write_all(b"\n}\n")?;
            }
            Output::Table => {
                self.flush_table()?;
                writeln!(
                    self.writer,
                    "{} records in {} files, {} matches, {} malformed records, {} rules failed to load",
                    report.records,
                    report.files,
                    self.shown,
                    report.malformed_count,
                    report.rules.failures.len()
                )?;
            }
        }
        self.writer.flush()?;
        Ok(())
    }
}

fn row(m: &Match) -> Value {
    let s = &m.summary;
    let a = &s.actor;
    json!({
        "time": s.time,
        "rule": m.rule.title,
        "level": m.rule.level,
        // The Detection Rule License asks that the author be credited with every match.
        "author": m.rule.author,
        "action": s.action,
        "who": a.arn.as_deref().or(a.upn.as_deref()).or(a.caller.as_deref()),
        "ip": s.source_ip,
    })
}

/// Reads every local file, then every object under the S3 prefixes, through one hunt. An
/// input that cannot be listed (a missing folder, a bucket that cannot be reached) stops the
/// hunt; one file or object that cannot be read is counted as malformed and the hunt goes on.
async fn hunt(args: &DetectArgs, printer: Arc<Mutex<Printer>>) -> Result<HuntReport> {
    let sink = move |m: Match| {
        printer.lock().unwrap_or_else(|e| e.into_inner()).accept(m);
    };
    let mut hunter = Hunter::new(&args.rules, &EngineOptions::default())?.with_sink(Box::new(sink));
    let limits = |default: ReadLimits| ReadLimits {
        max_inflated_bytes: args
            .max_inflated_bytes
            .unwrap_or(default.max_inflated_bytes),
        max_records: args.max_records.unwrap_or(default.max_records),
        max_record_bytes: args.max_record_bytes,
    };
    let (file_limits, object_limits) = (limits(ReadLimits::FILE), limits(ReadLimits::OBJECT));
    let (remote, local): (Vec<&PathBuf>, Vec<&PathBuf>) = args
        .inputs
        .iter()
        .partition(|p| p.to_string_lossy().starts_with("s3://"));
    let local: Vec<PathBuf> = local.into_iter().cloned().collect();
    let files = list_log_files(&local)?;
    let mut buckets = Vec::new();
    for input in remote {
        let location = S3Prefix::parse(&input.to_string_lossy())?;
        let shown = location.to_string();
        let bucket = LogBucket::connect(
            location,
            LogBucketOptions {
                endpoint_url: args.endpoint_url.clone(),
                region: args.region.clone(),
                ..Default::default()
            },
        )
        .await?;
        let objects = bucket
            .list(None, None)
            .await
            .with_context(|| format!("cannot list {shown}"))?;
        let keys: Vec<String> = objects.into_iter().map(|o| o.key).collect();
        buckets.push((bucket, keys));
    }
    let total = files.len() + buckets.iter().map(|(_, k)| k.len()).sum::<usize>();
    let bar = Bar::new(total as u64, "files");
    for file in &files {
        hunter.read_file(file, &file_limits);
        bar.step();
        bar.message(format!("{} records", hunter.records()));
    }
    for (bucket, keys) in &buckets {
        // Objects arrive as stored (gzipped): they are inflated as they are parsed.
        let mut objects = bucket.read_all(keys.clone());
        while let Some((key, read)) = objects.next().await {
            let name = bucket.location().object_url(&key);
            match read {
                Ok(bytes) => {
                    let _ = hunter.read(bytes.as_slice(), Path::new(&name), &object_limits);
                }
                Err(reason) => hunter.add_unreadable(Path::new(&name), reason.to_string()),
            }
            bar.step();
            bar.message(format!("{} records", hunter.records()));
        }
    }
    bar.finish();
    Ok(hunter.finish())
}
