//! Checks registered by name: check id -> a function over the inventory.
//!
//! A check pushes [`Outcome`]s; the engine turns them into findings, attaches the benchmark
//! controls that name the check, and replaces outcomes whose data could not be collected with
//! ERROR findings.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::finding::{Severity, Status};
use crate::inventory::{Inventory, Provider, ResourceDoc};

/// What an assessment needs besides the inventory. All inputs are explicit so that results
/// are deterministic.
#[derive(Debug, Clone, Default)]
pub struct AssessOptions {
    /// "Now" in Unix seconds; ages (unused credentials, key rotation) are measured from it.
    pub now: i64,
    /// ARNs of the IAM SAML providers that point at Trustplane.
    pub trustplane_saml_providers: Vec<String>,
    /// AWS accounts federated through Trustplane: IAM users with passwords or access keys
    /// there are findings.
    pub federated_accounts: Vec<String>,
    /// UPNs / e-mail addresses of Trustplane users (compared case-insensitively). `None`
    /// disables the unmapped-identity check.
    pub known_identities: Option<Vec<String>>,
}

/// What a check reports about one subject.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// The subject.
    pub subject: Subject<'a>,
    /// PASS, FAIL or ERROR (MANUAL is for benchmark requirements, not checks).
    pub status: Status,
    /// One line for people (static for fixed messages, so most outcomes allocate nothing).
    pub message: Cow<'static, str>,
    /// The values that decided it (write it with the checks' `ev!` macro, or
    /// [`crate::compact_evidence`] for a `Value`).
    pub evidence: crate::finding::Evidence,
}

/// The subject of an outcome: a document, or an account / region scope for settings that
/// are absent (no password policy, no analyzer in a region).
#[derive(Debug, Clone, PartialEq)]
pub enum Subject<'a> {
    /// An inventory document.
    Doc(&'a ResourceDoc),
    /// An account (region `global`) or one region of it.
    Scope {
        /// The cloud.
        provider: Provider,
        /// Account or subscription.
        account: String,
        /// Region or `global`.
        region: String,
    },
}

impl Subject<'_> {
    /// (account, region, id) of the subject.
    pub fn key(&self) -> (&str, &str, &str) {
        match self {
            Subject::Doc(d) => (&d.account, &d.region, &d.id),
            Subject::Scope {
                account, region, ..
            } => (account, region, ""),
        }
    }
}

/// Everything a check can read.
#[derive(Debug, Clone, Copy)]
pub struct CheckCtx<'a> {
    /// The inventory.
    pub inventory: &'a Inventory,
    /// The options.
    pub options: &'a AssessOptions,
}

/// The function of a check.
pub type CheckFn = for<'a> fn(&CheckCtx<'a>, &mut Vec<Outcome<'a>>);

/// A registered check.
#[derive(Debug, Clone, Copy)]
pub struct CheckDef {
    /// Unique id; the same as the well-known scanner's id where the control is the same.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// The cloud it reads.
    pub provider: Provider,
    /// Severity of a FAIL.
    pub severity: Severity,
    /// Resource types it reads; a collection error for any of them turns the affected
    /// outcomes into ERROR.
    pub needs: &'static [&'static str],
    /// The function.
    pub run: CheckFn,
    /// Whether the check applies to an account at all (`None`: every account). A collection
    /// error in an account the check does not apply to is not reported for it.
    pub applies: Option<fn(&AssessOptions, &str) -> bool>,
}

/// Registering a check whose id is already taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("check `{0}` is registered twice")]
pub struct DuplicateCheck(pub String);

/// The checks by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    checks: BTreeMap<&'static str, CheckDef>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every built-in check.
    pub fn builtin() -> Self {
        let mut r = Registry::new();
        for c in crate::checks::all() {
            // Built-in ids are unique (a unit test asserts it); a duplicate keeps the first.
            let _ = r.register(c);
        }
        r
    }

    /// Adds a check.
    pub fn register(&mut self, check: CheckDef) -> Result<(), DuplicateCheck> {
        if self.checks.contains_key(check.id) {
            return Err(DuplicateCheck(check.id.to_string()));
        }
        self.checks.insert(check.id, check);
        Ok(())
    }

    /// Looks a check up.
    pub fn get(&self, id: &str) -> Option<&CheckDef> {
        self.checks.get(id)
    }

    /// Whether a check id is registered.
    pub fn contains(&self, id: &str) -> bool {
        self.checks.contains_key(id)
    }

    /// All checks, by id.
    pub fn iter(&self) -> impl Iterator<Item = &CheckDef> {
        self.checks.values()
    }

    /// Number of checks.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}
