//! cargo-fuzz target; the logic is in `harness.rs`, which `tests/fuzz_corpus.rs` also runs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::parse_redirect(data));
