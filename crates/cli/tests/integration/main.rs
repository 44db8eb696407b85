//! End-to-end tests of the `trustplane` binary on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod api;
mod browser;
mod cli;
mod cloud;
mod cluster;
mod durability;
mod offline;
mod s3_detect;
