//! Shared test helpers: paths to the shared data, benchmark loading, temp dirs.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use trustplane_posture::Benchmark;

/// `shared/data`, beside the clone (CARGO_MANIFEST_DIR is crates/posture).
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// This crate's fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The four CIS benchmarks.
pub fn benchmarks() -> Vec<Benchmark> {
    Benchmark::load_dir(&data_dir().join("cis")).unwrap()
}

/// A fresh empty directory under the target temp dir.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir()
        .join("trustplane-posture-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
