//! The offline hunt: rules from folders, records from files, every match with its evidence.
//! This is what `trustplane detect` calls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::engine::{CorrelationDetail, EngineOptions, RuleCheck, RuleSet};
use crate::error::DetectError;
use crate::reader::{list_log_files, read_file, FileRecords, MalformedRecord};
use crate::record::{EventSummary, Record, RecordOrigin};
use crate::rules::RuleInfo;

/// What to hunt with and over.
#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    /// Folders (or files) of Sigma rules.
    pub rules: Vec<PathBuf>,
    /// Log files or folders.
    pub inputs: Vec<PathBuf>,
    /// Rule compilation options (placeholder values).
    pub engine: EngineOptions,
}

/// One match, ready to show: the rule and its author, the normalised record and the original.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    /// The rule that matched; show `rule.author` with it (Detection Rule License).
    pub rule: RuleInfo,
    /// Set when the rule is a correlation; the record is the one that completed it.
    pub correlation: Option<CorrelationDetail>,
    /// The record's normalised summary.
    pub summary: EventSummary,
    /// The record as read.
    pub record: Value,
    /// Where the record was read from.
    pub origin: RecordOrigin,
}

/// Progress of a hunt, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HuntProgress {
    /// Files read so far.
    pub files_done: usize,
    /// Files to read.
    pub files_total: usize,
    /// Records read so far.
    pub records: usize,
}

/// The outcome of a hunt.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HuntReport {
    /// Rule loading: counts and failures with reasons.
    pub rules: RuleCheck,
    /// Log files read.
    pub files: usize,
    /// Records read and matched.
    pub records: usize,
    /// Records (or files) that could not be read.
    pub malformed: Vec<MalformedRecord>,
    /// Every match, in record order (time order when correlation rules are loaded).
    pub matches: Vec<Match>,
    /// Number of matches per rule title.
    pub counts: BTreeMap<String, usize>,
}

/// Loads the rules of `dir` and reports each that cannot be loaded, with the reason.
pub fn check_rules(dirs: &[PathBuf]) -> Result<RuleCheck, DetectError> {
    RuleSet::load(dirs, &EngineOptions::default()).map(|set| set.check().clone())
}

/// Runs every rule over every record of the inputs.
pub fn hunt(options: &HuntOptions) -> Result<HuntReport, DetectError> {
    hunt_with_progress(options, &mut |_| {})
}

/// [`hunt`], calling `progress` after each file.
pub fn hunt_with_progress(
    options: &HuntOptions,
    progress: &mut dyn FnMut(HuntProgress),
) -> Result<HuntReport, DetectError> {
    let mut hunter = Hunter::new(&options.rules, &options.engine)?;
    let files = list_log_files(&options.inputs)?;
    for (done, file) in files.iter().enumerate() {
        hunter.add(read_file(file));
        progress(HuntProgress {
            files_done: done + 1,
            files_total: files.len(),
            records: hunter.records(),
        });
    }
    Ok(hunter.finish())
}

/// A hunt fed one log object at a time, for callers that read records from elsewhere than
/// local files (S3 objects): rules are compiled once in [`Hunter::new`], each
/// [`Hunter::add`] is one file or object, and [`Hunter::finish`] returns the report.
pub struct Hunter {
    rules: RuleSet,
    report: HuntReport,
    /// Correlations need all records in time order: they are kept until `finish`.
    pending: Vec<Record>,
}

impl Hunter {
    /// Loads and compiles the rules of `rules` (folders or files).
    pub fn new(rules: &[PathBuf], engine: &EngineOptions) -> Result<Self, DetectError> {
        let rules = RuleSet::load(rules, engine)?;
        Ok(Hunter {
            report: HuntReport {
                rules: rules.check().clone(),
                files: 0,
                records: 0,
                malformed: Vec::new(),
                matches: Vec::new(),
                counts: BTreeMap::new(),
            },
            rules,
            pending: Vec::new(),
        })
    }

    /// Matches the records of one file or object (without correlation rules at once, and
    /// they are dropped; with them, at [`Hunter::finish`]).
    pub fn add(&mut self, mut read: FileRecords) {
        self.report.files += 1;
        self.report.records += read.records.len();
        self.report.malformed.append(&mut read.malformed);
        if self.rules.has_correlations() {
            self.pending.append(&mut read.records);
        } else {
            for record in &read.records {
                let hits = self.rules.process(record);
                collect(&mut self.report, record, hits);
            }
        }
    }

    /// Records one file or object that could not be read at all.
    pub fn add_unreadable(&mut self, name: &Path, reason: String) {
        self.report.files += 1;
        self.report.malformed.push(MalformedRecord {
            path: name.to_path_buf(),
            index: None,
            reason,
        });
    }

    /// Records read so far.
    pub fn records(&self) -> usize {
        self.report.records
    }

    /// Runs the correlation rules over the kept records and returns the report.
    pub fn finish(mut self) -> HuntReport {
        // Stable: records without a time keep their place relative to each other.
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|r| r.summary().epoch_secs.unwrap_or(i64::MIN));
        for record in &pending {
            let hits = self.rules.process(record);
            collect(&mut self.report, record, hits);
        }
        self.report
    }
}

fn collect(report: &mut HuntReport, record: &Record, hits: Vec<crate::engine::Hit>) {
    for hit in hits {
        *report.counts.entry(hit.rule.title.clone()).or_default() += 1;
        report.matches.push(Match {
            rule: (*hit.rule).clone(),
            correlation: hit.correlation,
            summary: record.summary().clone(),
            record: record.original.clone(),
            origin: record.origin.clone(),
        });
    }
}
