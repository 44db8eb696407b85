//! End-to-end tests of the `trustplane` binary on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
/// CloudTrail fixtures shared with the AWS crate's tests.
#[path = "../../../aws/tests/common/trail.rs"]
mod trail;

mod admin_cli;
mod api;
mod browser;
mod cli;
mod cloud;
mod cluster;
mod directory_connections;
mod discover;
mod docs;
mod durability;
mod federation;
mod identity_providers;
mod offline;
mod pim;
mod provisioning;
mod recover;
mod risk;
mod s3_detect;
mod timeline;
