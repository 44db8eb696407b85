//! The seeds reach past the first refusal: for each target, some committed inputs are accepted
//! by the parser it fuzzes, so the fuzzer starts from valid shapes rather than noise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use trustplane_access::{ConditionalAccessPolicy, NamedLocation};
use trustplane_detect::{decode_limited, EngineOptions, ReadLimits, RuleSet};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seed-* files for {target}");
    out
}

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap()
}

#[test]
fn every_policy_seed_parses_and_most_validate() {
    let mut valid = 0;
    for (path, data) in seeds("ca_policy") {
        let t = text(&data);
        let parsed = ConditionalAccessPolicy::from_json(t).map(|p| p.validate().is_empty());
        let location = NamedLocation::from_json(t).is_ok();
        let input = trustplane_access::parse_input(t).is_ok();
        assert!(
            parsed.is_ok() || location || input,
            "{} is accepted by no parser",
            path.display()
        );
        valid += usize::from(parsed == Ok(true));
    }
    assert!(valid >= 5, "only {valid} seed policies validate");
}

#[test]
fn every_sigma_seed_compiles() {
    for (path, data) in seeds("sigma_rule") {
        let rules = RuleSet::from_yaml(text(&data), &EngineOptions::default());
        assert!(rules.is_ok(), "{}: {:?}", path.display(), rules.err());
    }
}

#[test]
fn every_log_seed_holds_records() {
    for target in ["cloudtrail", "azure_logs"] {
        for (path, data) in seeds(target) {
            let parsed = decode_limited(data, &path, &ReadLimits::PUSH).unwrap();
            assert!(!parsed.records.is_empty(), "{}", path.display());
            assert!(parsed.malformed.is_empty(), "{}", path.display());
        }
    }
}

#[test]
fn form_and_filter_seeds_are_accepted() {
    for (path, data) in seeds("web_forms") {
        assert!(
            trustplane_server::fuzzing::decode_forms(&data) > 0,
            "{}",
            path.display()
        );
    }
    let accepted = seeds("odata_filter")
        .iter()
        .filter(|(_, d)| {
            trustplane_store::parse_filter(text(d)).is_ok()
                || trustplane_server::fuzzing::list_query(text(d))
        })
        .count();
    assert!(accepted >= 3);
}

#[test]
fn every_proxy_log_seed_finds_apps_and_every_discovery_seed_is_accepted() {
    for (path, data) in seeds("proxy_logs") {
        let format = trustplane_discovery::sniff(&data).unwrap();
        let mut d = trustplane_discovery::Discoverer::new(
            trustplane_discovery::Catalog::builtin().unwrap(),
            Default::default(),
        );
        d.read_log(&data[..], &path, format);
        assert!(!d.finish().apps.is_empty(), "{}", path.display());
    }
    for (path, data) in seeds("discovery_input") {
        let patch: serde_json::Value = serde_json::from_slice(&data).unwrap();
        let accepted = trustplane_discovery::apply_patch(&Default::default(), &patch).is_ok()
            || trustplane_discovery::parse_import(&data).is_ok();
        assert!(accepted, "{} is accepted by neither", path.display());
    }
}
