//! Matching throughput over one million CloudTrail records (the shipped captures, repeated in
//! memory) with every rule under `sigma/rules/cloud`, against the rate of merely parsing the
//! same JSON. Single thread. Run: `cargo bench -p trustplane-detect`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;
use trustplane_detect::{list_log_files, read_file, EngineOptions, Record, RecordOrigin, RuleSet};

const N: usize = 1_000_000;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        path: PathBuf::new(),
        index: 0,
    }
}

fn main() {
    let logs = data().join("logs");
    let files = list_log_files(&[
        logs.join("stratus-red-team"),
        logs.join("invictus-ir-aws"),
        logs.join("otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json"),
    ])
    .unwrap();
    // Each shipped record as the compact JSON text it would arrive as.
    let texts: Vec<String> = files
        .iter()
        .flat_map(|f| read_file(f).records)
        .map(|r| r.original.to_string())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let avg = bytes / texts.len();

    let t = Instant::now();
    let rules = RuleSet::load(
        &[data().join("sigma/rules/cloud")],
        &EngineOptions::default(),
    )
    .unwrap();
    let load = t.elapsed();
    let check = rules.check();
    assert!(check.failures.is_empty());

    // Warm-up pass over every distinct record.
    for s in &texts {
        black_box(rules.detect(&Record::from_json(
            serde_json::from_str(s).unwrap(),
            origin(),
        )));
    }

    // For profiling one phase: DETECT_BENCH_ONLY=match.
    let only_match = std::env::var("DETECT_BENCH_ONLY").is_ok_and(|v| v == "match");
    let n_other = if only_match { 1 } else { N };
    let t = Instant::now();
    for i in 0..n_other {
        let v: Value = serde_json::from_str(&texts[i % texts.len()]).unwrap();
        black_box(v);
    }
    let parse = t.elapsed();

    let t = Instant::now();
    let mut matches = 0usize;
    for i in 0..n_other {
        let v: Value = serde_json::from_str(&texts[i % texts.len()]).unwrap();
        let record = Record::from_json(v, origin());
        let hits = rules.detect(&record);
        if !hits.is_empty() {
            // What a hunt shows with each match.
            black_box(record.summary());
        }
        matches += hits.len();
    }
    let full = t.elapsed();

    let parsed: Vec<Record> = texts
        .iter()
        .map(|s| Record::from_json(serde_json::from_str(s).unwrap(), origin()))
        .collect();
    let t = Instant::now();
    let mut matches_only = 0usize;
    for i in 0..N {
        matches_only += rules.detect(&parsed[i % parsed.len()]).len();
    }
    let match_only = t.elapsed();

    let rate = |d: std::time::Duration| N as f64 / d.as_secs_f64();
    println!("distinct records        {}", texts.len());
    println!("average record size     {avg} bytes");
    println!(
        "rules loaded            {} detection, {} correlation ({} files) in {:.2?}",
        check.detection_rules, check.correlation_rules, check.files, load
    );
    println!("records per run         {N}");
    println!(
        "parse only              {:>10.0} records/s ({:.2?})",
        rate(parse),
        parse
    );
    println!(
        "parse+classify+match    {:>10.0} records/s ({:.2?}), {matches} matches",
        rate(full),
        full
    );
    println!(
        "match only (pre-parsed) {:>10.0} records/s ({:.2?}), {matches_only} matches",
        rate(match_only),
        match_only
    );
    println!(
        "end-to-end / parse      {:.2}",
        parse.as_secs_f64() / full.as_secs_f64()
    );
}
