//! Raw argon2id rate with the parameters Trustplane uses (m=19456 KiB, t=2, p=1), on one core.
//!
//! This is the physical limit of password sign-ins per second per core; the server's
//! end-to-end sign-in benchmark compares against it. Run with
//! `cargo bench -p trustplane-authn --bench argon2_rate` (optionally `-- SECONDS`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use trustplane_authn::password::{self, MEMORY_KIB, PARALLELISM, TIME_COST};

/// Runs `op` for `seconds` and prints the mean rate plus the median and fastest single run:
/// on a shared machine the fastest run is the best estimate of the uncontended cost.
fn rate(label: &str, seconds: f64, mut op: impl FnMut()) -> f64 {
    // Warm up: page in the 19 MiB working area once.
    op();
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut runs = Vec::new();
    while start.elapsed() < budget {
        let t = Instant::now();
        op();
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let elapsed = start.elapsed().as_secs_f64();
    runs.sort_by(f64::total_cmp);
    let per_sec = runs.len() as f64 / elapsed;
    let median = runs[runs.len() / 2];
    let fastest = runs[0];
    println!(
        "{label:<44} {:>5} runs: mean {per_sec:>6.1}/s | median {median:>5.1} ms ({:>5.1}/s) | fastest {fastest:>5.1} ms ({:>5.1}/s)",
        runs.len(),
        1000.0 / median,
        1000.0 / fastest
    );
    per_sec
}

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10.0);
    println!("argon2id m={MEMORY_KIB} KiB, t={TIME_COST}, p={PARALLELISM}, one thread");

    let params = Params::new(MEMORY_KIB, TIME_COST, PARALLELISM, Some(32)).unwrap();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = [7u8; 16];
    let mut out = [0u8; 32];
    // The allocation of the memory blocks is part of every real hash, so it stays in the loop.
    rate("raw argon2id (hash_password_into)", seconds, || {
        argon
            .hash_password_into(black_box(b"correct horse battery staple"), &salt, &mut out)
            .unwrap();
        black_box(&out);
    });

    rate(
        "trustplane_authn::hash_password (PHC, NFKC)",
        seconds,
        || {
            black_box(password::hash_password(black_box("correct horse battery staple")).unwrap());
        },
    );

    let phc = password::hash_password("correct horse battery staple").unwrap();
    rate("trustplane_authn::verify_password", seconds, || {
        black_box(
            password::verify_password(black_box("correct horse battery staple"), &phc).unwrap(),
        );
    });

    // What an unknown user costs: must match the line above.
    password::prepare_dummy();
    rate("trustplane_authn::dummy_verify", seconds, || {
        password::dummy_verify(black_box("correct horse battery staple"));
    });
}
