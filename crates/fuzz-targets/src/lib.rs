//! What each fuzz target does with one input. The AFL harness (`fuzz/afl`, outside the
//! workspace so `cargo-afl` stays out of the normal build) runs these under the fuzzer, and
//! `tests/corpus.rs` replays every committed input (`fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/`) on stable Rust in CI.
//!
//! Each target calls the public entry point the server (or CLI) uses for that outside input,
//! with the same limits. A target passes when it returns: a panic, or an input that runs away,
//! is a finding.

mod saml;

use std::path::Path;
use std::sync::OnceLock;

use trustplane_access::{ConditionalAccessPolicy, NamedLocation, PolicySet, SignInContext};
use trustplane_detect::{decode_limited, EngineOptions, ReadLimits, Record, RuleSet};

/// One fuzz target: its name (the folder under `fuzz/corpus/`) and what it does with an input.
pub struct Target {
    /// Name, as given to `fuzz/fuzz.sh` and the AFL harness.
    pub name: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "saml_redirect",
        run: saml::parse_redirect,
    },
    Target {
        name: "saml_post",
        run: saml::parse_post,
    },
    Target {
        name: "saml_metadata",
        run: saml::sp_metadata,
    },
    Target {
        name: "odata_filter",
        run: odata_filter,
    },
    Target {
        name: "ca_policy",
        run: ca_policy,
    },
    Target {
        name: "sigma_rule",
        run: sigma_rule,
    },
    Target {
        name: "cloudtrail",
        run: log_records,
    },
    Target {
        name: "azure_logs",
        run: log_records,
    },
    Target {
        name: "web_forms",
        run: web_forms,
    },
    Target {
        name: "proxy_logs",
        run: proxy_logs,
    },
    Target {
        name: "discovery_input",
        run: discovery_input,
    },
];

/// Proxy and firewall logs as `trustplane discover --logs` reads them: the format recognised
/// from the start, then every line through the Squid and CEF parsers and the catalogue.
fn proxy_logs(data: &[u8]) {
    let Some(catalog) = discovery_catalog() else {
        return;
    };
    let _ = trustplane_discovery::sniff(data);
    for format in [
        trustplane_discovery::LogFormat::Squid,
        trustplane_discovery::LogFormat::Cef,
    ] {
        let mut d = trustplane_discovery::Discoverer::new(catalog.clone(), Default::default());
        d.read_log(data, Path::new("fuzz"), format);
        let report = d.finish();
        assert!(report.unparsed.examples.len() <= trustplane_discovery::MAX_UNPARSED_EXAMPLES);
    }
}

/// What `/api/v1/discovery/apps` takes: an import (a discovery report) and a review PATCH.
fn discovery_input(data: &[u8]) {
    if let Ok(apps) = trustplane_discovery::parse_import(data) {
        for app in apps.into_iter().take(16) {
            let _ = trustplane_discovery::with_review(app, None);
        }
    }
    if let Ok(patch) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = trustplane_discovery::apply_patch(&Default::default(), &patch);
    }
}

/// The built-in catalogue (`None` would be a broken build, which the discovery tests catch).
fn discovery_catalog() -> Option<&'static trustplane_discovery::Catalog> {
    static CATALOG: OnceLock<Option<trustplane_discovery::Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| trustplane_discovery::Catalog::builtin().ok())
        .as_ref()
}

/// Builds what the targets share (the built-in rules, the probe records and sign-ins, the
/// certificate) before fuzzing starts, so the first input does not cover code later ones never
/// reach: AFL would count that as instability.
pub fn warm_up() {
    saml::warm_up();
    let _ = probe_records();
    let _ = probe_sign_ins();
    let _ = builtin_rules();
    let _ = discovery_catalog();
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// `$filter` as the list endpoints parse it (the pure parser in the store), and the whole
/// query string through the server's `Query<ListParams>` and its `$top` check.
fn odata_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(clauses) = trustplane_store::parse_filter(text) {
        assert!(clauses.len() <= trustplane_store::MAX_CLAUSES);
    }
    trustplane_server::fuzzing::list_query(text);
}

/// Conditional-access JSON as the Graph API takes it: a policy (parsed, validated and, when
/// valid, compiled and evaluated against fixed sign-ins), a named location, and a what-if /
/// evaluate input.
fn ca_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = ConditionalAccessPolicy::from_json(text) {
        if policy.validate().is_empty() {
            if let Ok(set) = PolicySet::compile(std::slice::from_ref(&policy), &[]) {
                for ctx in probe_sign_ins() {
                    let _ = set.evaluate_with_reasons(ctx);
                }
            }
        }
    }
    if let Ok(location) = NamedLocation::from_json(text) {
        let _ = location.validate();
    }
    let _ = trustplane_access::parse_input(text);
}

/// Sign-ins a fuzzed policy is evaluated against: an empty one and a detailed one.
fn probe_sign_ins() -> &'static [SignInContext] {
    static SIGN_INS: OnceLock<Vec<SignInContext>> = OnceLock::new();
    SIGN_INS.get_or_init(|| {
        let detailed = r#"{"userId": "u1", "groupIds": ["g1"], "roleIds": ["62e90394-69f5-4237-9190-012177145e10"],
            "applicationId": "00000003-0000-0000-c000-000000000000", "clientApp": "browser",
            "devicePlatform": "windows", "ip": "203.0.113.7", "country": "FR",
            "signInRisk": "high", "userRisk": "medium"}"#;
        let mut out = vec![SignInContext::default()];
        out.extend(trustplane_access::parse_input(detailed).ok());
        out
    })
}

/// Sigma rule text as `RuleSet::load` and the rules API read it, compiled, then matched
/// against a fixed CloudTrail record so compiled matchers (regular expressions, CIDR, numbers,
/// base64 offsets) run too.
fn sigma_rule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = trustplane_detect::parse_rule_text(text);
    if let Ok(mut rules) = RuleSet::from_yaml(text, &EngineOptions::default()) {
        for record in probe_records() {
            let _ = rules.process(record);
        }
    }
}

fn probe_records() -> &'static [Record] {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let seeds: [&[u8]; 2] = [
            include_bytes!("../../../fuzz/corpus/cloudtrail/seed-console-login.json"),
            include_bytes!("../../../fuzz/corpus/azure_logs/seed-signin.json"),
        ];
        seeds
            .iter()
            .filter_map(|bytes| {
                decode_limited(bytes.to_vec(), Path::new("probe"), &ReadLimits::PUSH).ok()
            })
            .flat_map(|parsed| parsed.records)
            .collect()
    })
}

/// One push to `POST /api/v1/detect/ingest` (CloudTrail or Azure: JSON, an envelope, NDJSON,
/// gzipped or not), within the push limits, then each record summarised and matched against
/// the built-in rules as the ingest pipeline does.
fn log_records(data: &[u8]) {
    let Ok(parsed) = decode_limited(data.to_vec(), Path::new("fuzz"), &ReadLimits::PUSH) else {
        return;
    };
    let rules = builtin_rules();
    for record in parsed.records {
        let _ = record.summary();
        let _ = record.log_source();
        let record = Record::from_json(record.original, record.origin);
        if let Some(rules) = rules {
            let _ = rules.detect(&record);
        }
    }
}

fn builtin_rules() -> Option<&'static RuleSet> {
    static RULES: OnceLock<Option<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| RuleSet::builtin(&EngineOptions::default()).ok())
        .as_ref()
}

/// A form body as every HTML form handler decodes it (axum's `Form` into the handler's
/// struct), and as a query string of a list endpoint.
fn web_forms(data: &[u8]) {
    trustplane_server::fuzzing::decode_forms(data);
    if let Ok(text) = std::str::from_utf8(data) {
        trustplane_server::fuzzing::list_query(text);
    }
}
