//! Replays every committed fuzz input through its target on stable Rust, so CI re-checks the
//! seeds, what the fuzzer kept, and every past finding without AFL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use trustplane_fuzz_targets::{Target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs every file of `dir` through `target`; returns how many there were.
fn replay_dir(target: &Target, dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if !path.is_file() || path.file_name().is_some_and(|n| n == "README.md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let started = Instant::now();
        (target.run)(&data);
        // No input may take long, even in a debug build: that would be a complexity bug of the
        // kind the fuzzer's hang timeout is there to catch.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
        count += 1;
    }
    count
}

fn replay(name: &str) {
    let target = trustplane_fuzz_targets::target(name).unwrap();
    let corpus = replay_dir(target, &fuzz_dir().join("corpus").join(name));
    assert!(corpus >= 3, "the {name} corpus has only {corpus} inputs");
    replay_dir(target, &fuzz_dir().join("regressions").join(name));
}

#[test]
fn every_target_has_a_test_here() {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    let listed = [
        "saml_redirect",
        "saml_post",
        "saml_metadata",
        "odata_filter",
        "ca_policy",
        "sigma_rule",
        "cloudtrail",
        "azure_logs",
        "web_forms",
        "proxy_logs",
        "discovery_input",
    ];
    assert_eq!(names, listed);
}

#[test]
fn saml_redirect() {
    replay("saml_redirect");
}

#[test]
fn saml_post() {
    replay("saml_post");
}

#[test]
fn saml_metadata() {
    replay("saml_metadata");
}

#[test]
fn odata_filter() {
    replay("odata_filter");
}

#[test]
fn ca_policy() {
    replay("ca_policy");
}

#[test]
fn sigma_rule() {
    replay("sigma_rule");
}

#[test]
fn cloudtrail() {
    replay("cloudtrail");
}

#[test]
fn azure_logs() {
    replay("azure_logs");
}

#[test]
fn web_forms() {
    replay("web_forms");
}

#[test]
fn proxy_logs() {
    replay("proxy_logs");
}

#[test]
fn discovery_input() {
    replay("discovery_input");
}
