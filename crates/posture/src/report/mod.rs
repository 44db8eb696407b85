//! Scores and reports over an [`Assessment`]: compliance per benchmark section, the
//! `--fail-on` decision, OCSF JSON, CSV and a self-contained HTML page.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::Assessment;
use crate::finding::{Severity, Status};

mod csv;
mod html;
mod markdown;
mod ocsf;

pub use self::csv::write_csv;
pub use self::html::{render_html, render_report, ReportMeta, HTML_FINDINGS_LIMIT};
pub use self::ocsf::{ocsf_findings, write_ocsf_json};

/// Counts and score of one benchmark section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionScore {
    /// Benchmark key.
    pub benchmark: String,
    /// Benchmark label.
    pub benchmark_label: String,
    /// Section title.
    pub section: String,
    /// PASS findings.
    pub passed: usize,
    /// FAIL findings.
    pub failed: usize,
    /// MANUAL findings.
    pub manual: usize,
    /// ERROR findings.
    pub error: usize,
    /// passed / (passed + failed); `None` when both are zero.
    pub score: Option<f64>,
}

/// Sort key for section titles such as `10 Miscellaneous`: by the leading number.
pub(crate) fn section_key(s: &str) -> (u32, String) {
    let n = s
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(u32::MAX);
    (n, s.to_string())
}

/// Compliance score per benchmark section, counting findings (one per resource and check).
/// A finding that answers two requirements of a section counts twice.
pub fn section_scores(a: &Assessment) -> Vec<SectionScore> {
    let mut m: BTreeMap<(String, (u32, String)), SectionScore> = BTreeMap::new();
    for f in &a.findings {
        for c in f.controls.iter() {
            let e = m
                .entry((c.benchmark.clone(), section_key(&c.section)))
                .or_insert_with(|| SectionScore {
                    benchmark: c.benchmark.clone(),
                    benchmark_label: c.benchmark_label.clone(),
                    section: c.section.clone(),
                    passed: 0,
                    failed: 0,
                    manual: 0,
                    error: 0,
                    score: None,
                });
            match f.status {
                Status::Pass => e.passed += 1,
                Status::Fail => e.failed += 1,
                Status::Manual => e.manual += 1,
                Status::Error => e.error += 1,
            }
        }
    }
    m.into_values()
        .map(|mut s| {
            let total = s.passed + s.failed;
            s.score = (total > 0).then(|| s.passed as f64 / total as f64);
            s
        })
        .collect()
}

/// The aggregated status of one requirement over all resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlSummary {
    /// Benchmark key.
    pub benchmark: String,
    /// Requirement id.
    pub id: String,
    /// Title.
    pub title: String,
    /// FAIL if any resource fails, else ERROR if any errored, else PASS if any passed, else
    /// MANUAL.
    pub status: Status,
    /// PASS findings.
    pub passed: usize,
    /// FAIL findings.
    pub failed: usize,
    /// Remediation text from the benchmark.
    pub remediation: String,
}

/// One line per requirement that has findings.
pub fn control_summaries(a: &Assessment) -> Vec<ControlSummary> {
    let mut m: BTreeMap<(String, Vec<u32>, String), ControlSummary> = BTreeMap::new();
    for f in &a.findings {
        for c in f.controls.iter() {
            let num: Vec<u32> = c.id.split('.').map(|x| x.parse().unwrap_or(0)).collect();
            let e = m
                .entry((c.benchmark.clone(), num, c.id.clone()))
                .or_insert_with(|| ControlSummary {
                    benchmark: c.benchmark.clone(),
                    id: c.id.clone(),
                    title: c.title.clone(),
                    status: Status::Manual,
                    passed: 0,
                    failed: 0,
                    remediation: c.remediation.clone(),
                });
            match f.status {
                Status::Pass => e.passed += 1,
                Status::Fail => e.failed += 1,
                _ => {}
            }
            e.status = match (e.status, f.status) {
                (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
                (Status::Error, _) | (_, Status::Error) => Status::Error,
                (Status::Pass, _) | (_, Status::Pass) => Status::Pass,
                _ => Status::Manual,
            };
        }
    }
    m.into_values().collect()
}

/// `--fail-on SEVERITY`: whether any FAIL finding has at least that severity.
pub fn fails_at(a: &Assessment, threshold: Severity) -> bool {
    a.findings
        .iter()
        .any(|f| f.status == Status::Fail && f.severity >= threshold)
}
