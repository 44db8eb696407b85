//! The moto server harness shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

pub mod seed;
pub mod trail;

pub use trustplane_aws::emulator::{free_port, test_credentials, Moto, ACCOUNT};
