//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::panic)]
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

use trustplane_access::{load_named_locations, load_policies, PolicySet};

/// The j0eyv baseline compiled with its named locations.
pub fn j0eyv_set() -> PolicySet {
    let policies = load_policies(&j0eyv().join("ConditionalAccess")).unwrap();
    let locations = load_named_locations(&j0eyv().join("NamedLocations")).unwrap();
    PolicySet::compile(&policies, &locations).unwrap()
}
