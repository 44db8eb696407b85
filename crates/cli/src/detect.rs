//! `trustplane detect`: the offline hunt with Sigma rules over CloudTrail and Azure log files
//! and CloudTrail objects under S3 prefixes, and `--check-rules` to report each rule that
//! cannot be loaded.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use trustplane_aws::{LogBucket, LogBucketOptions, S3Prefix};
use trustplane_detect::{
    check_rules, decode_limited, list_log_files, read_file_limited, EngineOptions, HuntReport,
    Hunter, ReadLimits,
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
    let mut report = hunt(&args).await?;
    select_and_order(&mut report, args.min_level, args.sort);
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Table => {
            let rows: Vec<Value> = report
                .matches
                .iter()
                .map(|m| {
                    let s = serde_json::to_value(&m.summary).unwrap_or_default();
                    json!({
                        "time": s["time"],
                        "rule": m.rule.title,
                        "level": m.rule.level,
                        // The Detection Rule License asks that the author be credited with every match.
                        "author": m.rule.author,
                        "action": s["action"],
                        "who": s["actor"]["arn"].as_str().or(s["actor"]["upn"].as_str()).or(s["actor"]["caller"].as_str()),
                        "ip": s["sourceIp"].as_str(),
                    })
                })
                .collect();
            output::list(
                out,
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
            println!(
                "{} records in {} files, {} matches, {} malformed records, {} rules failed to load",
                report.records,
                report.files,
                report.matches.len(),
                report.malformed.len(),
                report.rules.failures.len()
            );
        }
    }
    Ok(0)
}

/// Keeps the matches at `min_level` or above and orders them; the per-rule counts follow.
fn select_and_order(report: &mut HuntReport, min_level: Option<RuleLevel>, order: MatchOrder) {
    let level = |m: &trustplane_detect::Match| RuleLevel::parse(m.rule.level.as_deref());
    if let Some(min) = min_level {
        report
            .matches
            .retain(|m| level(m).is_some_and(|l| l >= min));
        report.counts.clear();
        for m in &report.matches {
            *report.counts.entry(m.rule.title.clone()).or_default() += 1;
        }
    }
    if order == MatchOrder::Severity {
        // Stable: within a level the matches keep their time order.
        report.matches.sort_by_key(|m| std::cmp::Reverse(level(m)));
    }
}

/// Reads every local file, then every object under the S3 prefixes, through one hunt. An
/// input that cannot be listed (a missing folder, a bucket that cannot be reached) stops the
/// hunt; one file or object that cannot be read is counted as malformed and the hunt goes on.
async fn hunt(args: &DetectArgs) -> Result<HuntReport> {
    let mut hunter = Hunter::new(&args.rules, &EngineOptions::default())?;
    let limits = ReadLimits {
        max_inflated_bytes: args.max_inflated_bytes,
        max_records: args.max_records,
    };
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
                max_inflated_bytes: args.max_inflated_bytes,
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
        match read_file_limited(file, &limits) {
            Ok(records) => hunter.add(records),
            Err(e) => hunter.add_unreadable(file, e.to_string()),
        }
        bar.step();
        bar.message(format!("{} records", hunter.records()));
    }
    for (bucket, keys) in &buckets {
        let mut objects = bucket.read_all(keys.clone());
        while let Some((key, read)) = objects.next().await {
            let name = bucket.location().object_url(&key);
            match read {
                Ok(bytes) => match decode_limited(bytes, Path::new(&name), &limits) {
                    Ok(records) => hunter.add(records),
                    Err(e) => hunter.add_unreadable(Path::new(&name), e.to_string()),
                },
                Err(reason) => hunter.add_unreadable(Path::new(&name), reason.to_string()),
            }
            bar.step();
            bar.message(format!("{} records", hunter.records()));
        }
    }
    bar.finish();
    Ok(hunter.finish())
}
