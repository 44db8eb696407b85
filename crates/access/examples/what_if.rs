//! Offline what-if from the command line, until the CLI wires it up:
//! `cargo run -p trustplane-access --example what_if -- POLICIES_DIR [NAMED_LOCATIONS_DIR] INPUT_JSON`
//! prints the report as JSON.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (policies, locations, input) = match args.as_slice() {
        [p, i] => (p, None, i),
        [p, l, i] => (p, Some(l), i),
        _ => {
            eprintln!("usage: what_if POLICIES_DIR [NAMED_LOCATIONS_DIR] INPUT_JSON");
            return ExitCode::from(2);
        }
    };
    let report = trustplane_access::what_if(
        Path::new(policies),
        locations.map(Path::new),
        Path::new(input),
        None,
    );
    match report.map(|r| serde_json::to_string_pretty(&r)) {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
