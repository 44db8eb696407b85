//! Seeds a running moto server with exactly what the emulator tests seed (compliant and
//! non-compliant resources in three regions), for `bench/posture-vs-prowler.sh`:
//!
//! ```sh
//! AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
//!   cargo run -p trustplane-aws --example seed_moto -- http://127.0.0.1:5000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/seed.rs"]
#[allow(dead_code)]
mod seed;

/// The emulator's default account (the seed's trust policies name it).
const ACCOUNT: &str = "123456789012";

#[tokio::main]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: seed_moto http://127.0.0.1:PORT");
        std::process::exit(2);
    };
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(url),
        ..Default::default()
    })
    .await;
    let seeded = seed::seed(&conf).await;
    println!("{seeded:#?}");
    println!(
        "account {ACCOUNT}, regions {} {} {}",
        seed::R1,
        seed::R2,
        seed::R3
    );
}
