//! `trustplane detect`: the offline hunt with Sigma rules over CloudTrail and Azure log files,
//! and `--check-rules` to report each rule that cannot be loaded.

use anyhow::{bail, Result};
use serde_json::{json, Value};
use trustplane_detect::{check_rules, hunt_with_progress, EngineOptions, HuntOptions};

use crate::args::{DetectArgs, Output};
use crate::output;

pub fn run(args: DetectArgs, out: Option<Output>) -> Result<i32> {
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
        bail!("give --rules DIR and at least one input file or folder (or --check-rules DIR)");
    }
    let options = HuntOptions {
        rules: args.rules,
        inputs: args.inputs,
        engine: EngineOptions::default(),
    };
    let interactive = out == Output::Table;
    let report = hunt_with_progress(&options, &mut |p| {
        if interactive {
            eprint!(
                "\rreading files {}/{}, {} records",
                p.files_done, p.files_total, p.records
            );
        }
    })?;
    if interactive {
        eprintln!();
    }
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
                        "ip": s["sourceIp"].as_str().or(s["source_ip"].as_str()),
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
