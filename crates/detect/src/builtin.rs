//! Trustplane's built-in detection rules: Sigma YAML in `rules/trustplane/`, embedded in the
//! crate. They cover what only a consolidated identity plane can see, and rely on fields the
//! server adds to every record before matching:
//!
//! - `trustplane.person`: the directory user id the record resolves to (null when none);
//! - `trustplane.upn`: that user's UPN;
//! - `trustplane.ipSeenInSignIns`: on AWS and Azure records with a person and a source IP,
//!   whether that IP appears in the person's Trustplane sign-ins (null otherwise).
//!
//! Correlations group by `trustplane.person`, so they follow one person across clouds.

use std::path::{Path, PathBuf};

use crate::engine::{EngineOptions, RuleSet};
use crate::error::DetectError;
use crate::rules::{parse_rule_paths, parse_text_at, ParsedRules, RuleLoadError};

/// The built-in rule files: (file name, YAML text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "activity_from_ip_not_seen_in_signins.yml",
        include_str!("../rules/trustplane/activity_from_ip_not_seen_in_signins.yml"),
    ),
    (
        "aws_console_login_iam_user.yml",
        include_str!("../rules/trustplane/aws_console_login_iam_user.yml"),
    ),
    (
        "cross_cloud_password_spray.yml",
        include_str!("../rules/trustplane/cross_cloud_password_spray.yml"),
    ),
    (
        "mfa_removed.yml",
        include_str!("../rules/trustplane/mfa_removed.yml"),
    ),
    (
        "proxy_transfer_blocked.yml",
        include_str!("../rules/trustplane/proxy_transfer_blocked.yml"),
    ),
    (
        "role_assumption_burst_across_accounts.yml",
        include_str!("../rules/trustplane/role_assumption_burst_across_accounts.yml"),
    ),
];

/// Trustplane's built-in Sigma rule files, as (file name, YAML text), in file-name order.
///
/// The files are also shipped in `crates/detect/rules/trustplane/`, so that
/// `trustplane detect --rules` can be pointed at them.
pub fn builtin_rules() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

impl RuleSet {
    /// Compiles the built-in rules ([`builtin_rules`]); each rule's path is its file name
    /// under `rules/trustplane/`. Failures (not expected) are listed in [`RuleSet::check`].
    pub fn builtin(options: &EngineOptions) -> Result<RuleSet, DetectError> {
        with_builtin(ParsedRules::default(), Vec::new(), 0, options)
    }

    /// Compiles the built-in rules together with `extra` rules (for instance from
    /// [`crate::parse_rule_text`]), so that one rule set holds both.
    pub fn with_builtin(
        extra: ParsedRules,
        options: &EngineOptions,
    ) -> Result<RuleSet, DetectError> {
        let failures = extra
            .errors
            .iter()
            .map(|reason| RuleLoadError {
                path: PathBuf::new(),
                rule: None,
                reason: reason.clone(),
            })
            .collect();
        with_builtin(extra, failures, 0, options)
    }

    /// [`RuleSet::load`] of `paths` (folders or files, e.g. SigmaHQ's rules) plus the
    /// built-in rules, in one rule set.
    pub fn load_with_builtin(
        paths: &[PathBuf],
        options: &EngineOptions,
    ) -> Result<RuleSet, DetectError> {
        let (parsed, failures, files) = parse_rule_paths(paths)?;
        with_builtin(parsed, failures, files, options)
    }
}

fn with_builtin(
    extra: ParsedRules,
    extra_failures: Vec<RuleLoadError>,
    extra_files: usize,
    options: &EngineOptions,
) -> Result<RuleSet, DetectError> {
    let mut parsed = ParsedRules::default();
    let mut failures = Vec::new();
    for (name, text) in BUILTIN {
        let path = Path::new("rules/trustplane").join(name);
        let one = parse_text_at(text, &path);
        failures.extend(one.errors.iter().map(|reason| RuleLoadError {
            path: path.clone(),
            rule: None,
            reason: reason.clone(),
        }));
        parsed.extend(ParsedRules {
            errors: Vec::new(),
            ..one
        });
    }
    failures.extend(extra_failures);
    parsed.extend(ParsedRules {
        errors: Vec::new(),
        ..extra
    });
    RuleSet::compile_parsed(parsed, failures, BUILTIN.len() + extra_files, options)
}
