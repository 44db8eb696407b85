//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `shared/data/conditional-access`, beside the repository clone.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/conditional-access")
}

pub fn alexfilipin() -> PathBuf {
    data_dir().join("alexfilipin")
}

pub fn j0eyv() -> PathBuf {
    data_dir().join("j0eyv-baseline")
}
