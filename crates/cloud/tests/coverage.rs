//! `docs/posture-coverage.md` is generated from the benchmark data, the check registry and the
//! collectors' resource types; this test fails when it is out of date.
//! `TRUSTPLANE_BLESS=1 cargo test -p trustplane-cloud --test coverage` rewrites it.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::PathBuf;

use trustplane_posture::{
    resolve_requirement, uncovered_automated_controls, Benchmark, Provider, Registry,
};

const BENCHMARKS: &[&str] = &["cis_3.0_aws", "cis_3.0_azure"];

fn collected(p: Provider) -> BTreeSet<String> {
    match p {
        Provider::Aws => trustplane_aws::RESOURCE_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect(),
        Provider::Azure => trustplane_azure::resource_types()
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

fn render() -> String {
    let all = Benchmark::builtin().unwrap();
    let benchmarks: Vec<Benchmark> = all
        .into_iter()
        .filter(|b| BENCHMARKS.contains(&b.key.as_str()))
        .collect();
    assert_eq!(benchmarks.len(), BENCHMARKS.len());
    let registry = Registry::builtin();
    let uncovered = uncovered_automated_controls(&benchmarks);
    let mut doc = String::new();
    doc.push_str(
        "# Posture coverage: automated CIS controls without a check\n\n\
         Generated from the benchmark files built into the binary (`crates/posture/benchmarks/`),\n\
         the registered checks and the resource types the collectors write; the test\n\
         `crates/cloud/tests/coverage.rs` fails when this file is out of date\n\
         (`TRUSTPLANE_BLESS=1 cargo test -p trustplane-cloud --test coverage` rewrites it).\n\n\
         A control listed here is reported as MANUAL (\"not automated by trustplane\") with the\n\
         reason below, never as PASS.\n\n",
    );
    doc.push_str("| benchmark | automated controls | answered by a check | not covered |\n|---|---|---|---|\n");
    for b in &benchmarks {
        let automated = b.requirements.iter().filter(|r| r.automated).count();
        let missing = uncovered.iter().filter(|u| u.benchmark == b.key).count();
        writeln!(
            doc,
            "| {} | {automated} | {} | {missing} |",
            b.label(),
            automated - missing
        )
        .unwrap();
    }
    writeln!(
        doc,
        "\n**{} automated controls not covered.**",
        uncovered.len()
    )
    .unwrap();
    for b in &benchmarks {
        writeln!(doc, "\n## {}\n", b.label()).unwrap();
        let mine: Vec<_> = uncovered.iter().filter(|u| u.benchmark == b.key).collect();
        if mine.is_empty() {
            doc.push_str("Every automated control has a check.\n");
            continue;
        }
        doc.push_str("| control | title | why there is no check |\n|---|---|---|\n");
        for u in mine {
            writeln!(
                doc,
                "| {} | {} | {} |",
                u.id,
                u.title.replace('|', "\\|"),
                u.reason.replace('|', "\\|")
            )
            .unwrap();
        }
    }
    // Checks that answer a control but read a type no collector writes would only ever see
    // an empty inventory: there must be none.
    let mut gaps = Vec::new();
    for b in &benchmarks {
        let types = collected(b.provider);
        for r in b.requirements.iter().filter(|r| r.automated) {
            for id in resolve_requirement(b, r, &registry) {
                let check = registry.get(id).unwrap();
                for t in check.needs.iter().filter(|t| !types.contains(**t)) {
                    gaps.push(format!("{} {} {id} reads {t}", b.key, r.id));
                }
            }
        }
    }
    assert!(
        gaps.is_empty(),
        "checks read types no collector writes: {gaps:#?}"
    );
    doc.push_str(
        "\nEvery check that answers one of the other automated controls reads only resource types\n\
         that the AWS or Azure collector writes (checked by the same test).\n",
    );
    doc
}

#[test]
fn the_coverage_document_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/posture-coverage.md");
    let want = render();
    if std::env::var("TRUSTPLANE_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/posture-coverage.md is out of date; rerun with TRUSTPLANE_BLESS=1\n--- expected ---\n{want}"
    );
}
