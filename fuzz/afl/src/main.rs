//! `trustplane-fuzz-afl <target>`: runs one target of `trustplane-fuzz-targets` under AFL in
//! persistent mode. One binary for all targets, so one instrumented build serves them all.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = trustplane_fuzz_targets::target(&name) else {
        let names: Vec<&str> = trustplane_fuzz_targets::TARGETS
            .iter()
            .map(|t| t.name)
            .collect();
        eprintln!("usage: trustplane-fuzz-afl <{}>", names.join("|"));
        std::process::exit(2);
    };
    trustplane_fuzz_targets::warm_up();
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
}
