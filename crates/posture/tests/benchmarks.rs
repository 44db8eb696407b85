//! The CIS files load, and every automated requirement is covered or explained.
#![allow(clippy::unwrap_used)]

mod common;

use trustplane_posture::{uncovered_automated_controls, Benchmark, Provider, Registry};

#[test]
fn all_four_cis_files_load() {
    let b = common::benchmarks();
    let keys: Vec<&str> = b.iter().map(|b| b.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "cis_3.0_aws",
            "cis_3.0_azure",
            "cis_6.0_azure",
            "cis_7.0_aws"
        ]
    );
    let aws3 = &b[0];
    assert_eq!(aws3.provider, Provider::Aws);
    assert_eq!(aws3.version, "3.0");
    assert_eq!(aws3.requirements.len(), 62);
    let r = aws3.requirement("1.4").unwrap();
    assert!(r.automated);
    assert_eq!(r.scanner_checks, ["iam_no_root_access_key"]);
    assert!(r.section.starts_with("1 Identity"));
    assert!(!r.remediation.is_empty());
    assert!(!aws3.requirement("1.1").unwrap().automated);
    assert_eq!(b[1].requirements.len(), 159);
    assert_eq!(b[2].requirements.len(), 127);
    assert_eq!(b[3].requirements.len(), 70);
    assert_eq!(b[3].label(), "CIS AWS 7.0");
}

#[test]
fn every_automated_requirement_is_covered_or_listed_with_a_reason() {
    let benchmarks = common::benchmarks();
    let registry = Registry::builtin();
    let uncovered = uncovered_automated_controls(&benchmarks);
    for u in &uncovered {
        println!("{} {} | {} | {}", u.benchmark, u.id, u.title, u.reason);
    }
    let unexplained: Vec<String> = uncovered
        .iter()
        .filter(|u| u.reason == "no reason recorded")
        .map(|u| format!("{} {}", u.benchmark, u.id))
        .collect();
    assert!(unexplained.is_empty(), "no reason for {unexplained:?}");
    for b in &benchmarks {
        for r in b.requirements.iter().filter(|r| r.automated) {
            let covered = !trustplane_posture::resolve_requirement(b, r, &registry).is_empty();
            let listed = uncovered
                .iter()
                .any(|u| u.benchmark == b.key && u.id == r.id);
            assert!(covered ^ listed, "{} {}", b.key, r.id);
        }
    }
}

#[test]
fn same_check_serves_two_benchmark_versions() {
    let b = common::benchmarks();
    let registry = Registry::builtin();
    let aws3 = b.iter().find(|b| b.key == "cis_3.0_aws").unwrap();
    let aws7 = b.iter().find(|b| b.key == "cis_7.0_aws").unwrap();
    let r3 =
        trustplane_posture::resolve_requirement(aws3, aws3.requirement("1.5").unwrap(), &registry);
    let r7 =
        trustplane_posture::resolve_requirement(aws7, aws7.requirement("2.5").unwrap(), &registry);
    assert_eq!(r3, ["iam_root_mfa_enabled"]);
    assert_eq!(r3, r7);
    // 5.2 (IPv4) and 5.3 (IPv6) are split although the scanner maps both to the same checks.
    let v4 =
        trustplane_posture::resolve_requirement(aws3, aws3.requirement("5.2").unwrap(), &registry);
    let v6 =
        trustplane_posture::resolve_requirement(aws3, aws3.requirement("5.3").unwrap(), &registry);
    assert_eq!(v4, ["ec2_securitygroup_admin_ports_open_ipv4"]);
    assert_eq!(v6, ["ec2_securitygroup_admin_ports_open_ipv6"]);
}

#[test]
fn malformed_benchmark_is_a_typed_error_naming_the_file() {
    let dir = common::tempdir("bad-benchmark");
    let p = dir.join("broken.json");
    std::fs::write(&p, "{\"Framework\": ").unwrap();
    let err = Benchmark::load(&p).unwrap_err();
    assert!(matches!(
        err,
        trustplane_posture::BenchmarkError::Parse { .. }
    ));
    assert!(err.to_string().contains("broken.json"));
}
