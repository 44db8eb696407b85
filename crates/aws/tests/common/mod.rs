//! The moto server harness shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod moto;
pub mod seed;
pub mod trail;

pub use moto::*;
