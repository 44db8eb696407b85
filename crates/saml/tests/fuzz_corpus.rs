//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same harness the
//! cargo-fuzz targets use, so every CI run on stable Rust re-checks past findings and seeds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let started = Instant::now();
        run(&data);
        // A debug build is slow, but no single input may take long: that would be a
        // complexity bug the fuzzer's timeout is there to catch.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
        count += 1;
    }
    assert!(count >= 3, "the {target} corpus has only {count} inputs");
}

#[test]
fn parse_redirect_corpus() {
    replay("parse_redirect", harness::parse_redirect);
}

#[test]
fn parse_post_corpus() {
    replay("parse_post", harness::parse_post);
}

#[test]
fn sp_metadata_corpus() {
    replay("sp_metadata", harness::sp_metadata);
}
