//! Runs the registered checks over an inventory and attaches benchmark controls.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::benchmark::Benchmark;
use crate::finding::{compact_evidence, ControlRef, Finding, ResourceRef, Severity, Status};
use crate::inventory::{CollectionError, Inventory, Provider, ResourceDoc, GLOBAL};
use crate::mapping;
use crate::registry::{AssessOptions, CheckCtx, CheckDef, Outcome, Registry, Subject};

/// The result of one assessment.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// Every finding: check findings in check-id order, then MANUAL findings per benchmark.
    pub findings: Vec<Finding>,
    /// The benchmarks assessed (key, label).
    pub benchmarks: Vec<(String, String)>,
}

/// Assesses an inventory: runs every check of `registry`, maps results to the requirements of
/// `benchmarks`, and adds one MANUAL finding per manual (or not automated here) requirement
/// and account of the benchmark's cloud.
pub fn assess(
    inventory: &Inventory,
    benchmarks: &[Benchmark],
    registry: &Registry,
    options: &AssessOptions,
) -> Assessment {
    let ctx = CheckCtx { inventory, options };
    let controls = controls_by_check(benchmarks, registry);
    let empty: Arc<[ControlRef]> = Arc::from(Vec::new());
    let mut findings = Vec::with_capacity(estimate(inventory, registry));
    let mut outcomes = Vec::new();
    let mut refs = RefCache::new(inventory);
    for check in registry.iter() {
        outcomes.clear();
        (check.run)(&ctx, &mut outcomes);
        let ctrl = controls
            .get(check.id)
            .cloned()
            .unwrap_or_else(|| empty.clone());
        let check_id: Arc<str> = Arc::from(check.id);
        let errors: Vec<&CollectionError> = inventory
            .collection_errors()
            .iter()
            .filter(|e| {
                check.applies.is_none_or(|f| f(options, &e.account))
                    && e.provider == check.provider
                    && e.resource_types
                        .iter()
                        .any(|t| check.needs.contains(&t.as_str()))
            })
            .collect();
        for e in &errors {
            findings.push(error_finding(check, &check_id, &ctrl, e));
        }
        for o in outcomes.drain(..) {
            if errors.iter().any(|e| covers(e, &o.subject)) {
                continue;
            }
            findings.push(to_finding(check, &check_id, &ctrl, o, &mut refs));
        }
    }
    let manual_id: Arc<str> = Arc::from("manual");
    for b in benchmarks {
        let accounts = inventory.accounts(b.provider);
        for r in &b.requirements {
            let ours = mapping::resolve(b, r, registry);
            let reason = if !r.automated {
                "manual control in the benchmark".to_string()
            } else if ours.is_empty() {
                format!(
                    "not automated by trustplane: {}",
                    mapping::uncovered_reason(b, r)
                )
            } else {
                continue;
            };
            let ctrl: Arc<[ControlRef]> = Arc::from(vec![control_ref(b, r)]);
            for a in &accounts {
                findings.push(Finding {
                    check_id: manual_id.clone(),
                    controls: ctrl.clone(),
                    resource: Arc::new(ResourceRef {
                        provider: b.provider,
                        account: a.clone(),
                        region: GLOBAL.to_string(),
                        resource_type: account_type(b.provider).to_string(),
                        id: a.clone(),
                        name: a.clone(),
                    }),
                    status: Status::Manual,
                    severity: Severity::Informational,
                    message: reason.clone().into(),
                    evidence: compact_evidence(&json!({"scanner_checks": r.scanner_checks})),
                });
            }
        }
    }
    Assessment {
        findings,
        benchmarks: benchmarks
            .iter()
            .map(|b| (b.key.clone(), b.label()))
            .collect(),
    }
}

/// The scope resource type of a cloud (`aws.account`, `azure.subscription`).
pub fn account_type(p: Provider) -> &'static str {
    match p {
        Provider::Aws => "aws.account",
        Provider::Azure => "azure.subscription",
    }
}

/// The scope resource type of one region (`aws.region`, `azure.location`).
pub fn region_type(p: Provider) -> &'static str {
    match p {
        Provider::Aws => "aws.region",
        Provider::Azure => "azure.location",
    }
}

fn control_ref(b: &Benchmark, r: &crate::benchmark::Requirement) -> ControlRef {
    ControlRef {
        benchmark: b.key.clone(),
        benchmark_label: b.label(),
        id: r.id.clone(),
        title: r.title.clone(),
        section: r.section.clone(),
        remediation: r.remediation.clone(),
    }
}

/// check id -> the automated requirements (of every benchmark) that the check answers.
fn controls_by_check(
    benchmarks: &[Benchmark],
    registry: &Registry,
) -> HashMap<&'static str, Arc<[ControlRef]>> {
    let mut m: HashMap<&'static str, Vec<ControlRef>> = HashMap::new();
    for b in benchmarks {
        for r in b.requirements.iter().filter(|r| r.automated) {
            for id in mapping::resolve(b, r, registry) {
                m.entry(id).or_default().push(control_ref(b, r));
            }
        }
    }
    m.into_iter().map(|(k, v)| (k, Arc::from(v))).collect()
}

/// Whether a collection error makes the outcome for this subject unknowable. An
/// account-wide subject (region `global`) depends on every region, so any error of the
/// account covers it.
fn covers(e: &CollectionError, s: &Subject<'_>) -> bool {
    let (account, region, id) = s.key();
    if e.account != account {
        return false;
    }
    let region_ok = e.region == GLOBAL || region == GLOBAL || e.region == region;
    let id_ok = match &e.resource_id {
        None => true,
        Some(r) => r == id || id.is_empty(),
    };
    region_ok && id_ok
}

fn error_finding(
    check: &CheckDef,
    check_id: &Arc<str>,
    ctrl: &Arc<[ControlRef]>,
    e: &CollectionError,
) -> Finding {
    let (rtype, id) = match &e.resource_id {
        Some(r) => (
            e.resource_types
                .first()
                .cloned()
                .unwrap_or_else(|| "unknown".into()),
            r.clone(),
        ),
        None if e.region == GLOBAL => (account_type(e.provider).to_string(), e.account.clone()),
        None => (
            region_type(e.provider).to_string(),
            format!("{}/{}", e.account, e.region),
        ),
    };
    Finding {
        check_id: check_id.clone(),
        controls: ctrl.clone(),
        resource: Arc::new(ResourceRef {
            provider: e.provider,
            account: e.account.clone(),
            region: e.region.clone(),
            resource_type: rtype,
            id: id.clone(),
            name: id,
        }),
        status: Status::Error,
        severity: check.severity,
        message: Cow::Owned(format!(
            "collection of `{}` failed: {}",
            e.service,
            one_line(&e.message)
        )),
        evidence: compact_evidence(&json!({
            "service": e.service,
            "resource_types": e.resource_types,
            "message": e.message,
        })),
    }
}

/// A recorded error message as one line: inventories saved by older collectors (or other
/// tools) may hold multi-line dumps, and a finding's message is one line for people.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn to_finding(
    check: &CheckDef,
    check_id: &Arc<str>,
    ctrl: &Arc<[ControlRef]>,
    o: Outcome<'_>,
    refs: &mut RefCache<'_>,
) -> Finding {
    let resource = match o.subject {
        Subject::Doc(d) => refs.get(d),
        Subject::Scope {
            provider,
            account,
            region,
        } => {
            let rtype = if region == GLOBAL {
                account_type(provider)
            } else {
                region_type(provider)
            };
            let id = if region == GLOBAL {
                account.clone()
            } else {
                format!("{account}/{region}")
            };
            Arc::new(ResourceRef {
                provider,
                account,
                region,
                resource_type: rtype.to_string(),
                name: id.clone(),
                id,
            })
        }
    };
    Finding {
        check_id: check_id.clone(),
        controls: ctrl.clone(),
        resource,
        status: o.status,
        severity: check.severity,
        message: o.message,
        evidence: o.evidence,
    }
}

/// Findings are about one in a few documents each; sizing the vector up front avoids
/// copying millions of findings while it grows.
fn estimate(inventory: &Inventory, registry: &Registry) -> usize {
    registry
        .iter()
        .map(|c| {
            c.needs
                .first()
                .map(|t| inventory.of_type(t).count())
                .unwrap_or(0)
        })
        .sum()
}

/// One shared [`ResourceRef`] per document, however many checks report on it.
struct RefCache<'a> {
    docs: &'a [ResourceDoc],
    refs: Vec<Option<Arc<ResourceRef>>>,
}

impl<'a> RefCache<'a> {
    fn new(inventory: &'a Inventory) -> Self {
        RefCache {
            docs: inventory.docs(),
            refs: vec![None; inventory.len()],
        }
    }

    fn get(&mut self, doc: &ResourceDoc) -> Arc<ResourceRef> {
        // Documents come from the inventory's slice, so the address gives the index; a
        // document from elsewhere just gets its own reference.
        let size = std::mem::size_of::<ResourceDoc>().max(1);
        let base = self.docs.as_ptr() as usize;
        let addr = doc as *const ResourceDoc as usize;
        let idx = addr.wrapping_sub(base) / size;
        match self.docs.get(idx) {
            Some(d) if std::ptr::eq(d, doc) => self.refs[idx]
                .get_or_insert_with(|| Arc::new(ResourceRef::of(doc)))
                .clone(),
            _ => Arc::new(ResourceRef::of(doc)),
        }
    }
}
