//! Shared helpers for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

/// `shared/data`, beside the clone (CARGO_MANIFEST_DIR is `<clone>/crates/detect`).
pub fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

pub fn sigma(sub: &str) -> PathBuf {
    data().join("sigma").join(sub)
}

pub fn logs(sub: &str) -> PathBuf {
    data().join("logs").join(sub)
}
