//! `trustplane`: the one binary. `main` only parses, dispatches and turns errors into a
//! one-line message and an exit code.

mod admin;
mod apps;
mod args;
mod audit;
mod aws;
mod client;
mod cloud;
mod config;
mod detect;
mod directory_connections;
mod discover;
mod identity_providers;
mod incidents;
mod names;
mod output;
mod pim;
mod policy;
mod progress;
mod provisioning;
mod proxy;
mod risk;
mod roles;
mod scan;
mod serve;
mod tokens;

use clap::Parser;

use crate::args::{Cli, Command};

/// Exit codes: 0 success, 1 failure, 2 bad usage (clap, or input refused before any call), 3 audit chain broken.
fn main() {
    // Parsers of outside input bound their own depth; larger worker stacks are the margin
    // behind those bounds, so that no nesting a bound missed can overflow a worker.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::run(a).await,
        Command::Proxy(a) => proxy::run(a).await,
        Command::Admin(a) => admin::run(a, cli.output.unwrap_or(args::Output::Table)).await,
        Command::Audit(a) => audit::run(a, cli.output.unwrap_or(args::Output::Table)).await,
        Command::Policy(a) => policy::run(a, cli.output).await,
        Command::Detect(a) => detect::run(a, cli.output).await,
        Command::Scan(a) => scan::run(a, cli.output).await,
        Command::Discover(a) => discover::run(a, cli.output).await,
        Command::Aws(a) => aws::run(a, cli.output.unwrap_or(args::Output::Table)).await,
        Command::Pim(a) => pim::run(a, cli.output.unwrap_or(args::Output::Table)).await,
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {:#}", e);
            std::process::exit(1);
        }
    }
}
