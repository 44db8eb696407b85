//! The offline hunt: rules from folders, records from files, every match with its evidence.
//! This is what `trustplane detect` calls.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::engine::{CorrelationDetail, EngineOptions, RuleCheck, RuleSet};
use crate::error::DetectError;
use crate::limits::{ReadError, ReadLimits};
use crate::reader::{list_log_files, FileRecords, MalformedRecord};
use crate::record::{EventSummary, Record, RecordOrigin};
use crate::rules::RuleInfo;
use crate::stream::{stream_records, Item};

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
    /// Records (or files) that could not be read: the first [`MALFORMED_KEPT`].
    pub malformed: Vec<MalformedRecord>,
    /// How many records (or files) could not be read, all of them.
    pub malformed_count: usize,
    /// Every match, in record order (time order when correlation rules are loaded); empty
    /// when the matches were handed to a sink ([`Hunter::with_sink`]).
    pub matches: Vec<Match>,
    /// Number of matches.
    pub match_count: usize,
    /// Number of matches per rule title.
    pub counts: BTreeMap<String, usize>,
}

/// How many malformed entries a report lists (all are counted): a file of nothing but bad
/// lines must not fill memory with their reasons.
pub const MALFORMED_KEPT: usize = 1000;

/// Loads the rules of `dir` and reports each that cannot be loaded, with the reason.
pub fn check_rules(dirs: &[PathBuf]) -> Result<RuleCheck, DetectError> {
    RuleSet::load(dirs, &EngineOptions::default()).map(|set| set.check().clone())
}

/// Runs every rule over every record of the inputs, streaming each file within
/// [`ReadLimits::FILE`] (memory bounded by one record, whatever the file size).
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
        hunter.read_file(file, &ReadLimits::FILE);
        progress(HuntProgress {
            files_done: done + 1,
            files_total: files.len(),
            records: hunter.records(),
        });
    }
    Ok(hunter.finish())
}

/// A hunt fed one log object at a time: rules are compiled once in [`Hunter::new`], each
/// [`Hunter::read`] (streamed) or [`Hunter::add`] (already read) is one file or object, and
/// [`Hunter::finish`] returns the report.
///
/// Without correlation rules, records are matched as they are read and dropped; with a sink
/// ([`Hunter::with_sink`]) the matches are handed over as they are found instead of being
/// kept, so memory stays bounded whatever the input size.
pub struct Hunter {
    rules: RuleSet,
    report: HuntReport,
    /// Correlations need all records in time order: they are kept until `finish`.
    pending: Vec<Record>,
    sink: Option<Box<dyn FnMut(Match) + Send>>,
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
                malformed_count: 0,
                matches: Vec::new(),
                match_count: 0,
                counts: BTreeMap::new(),
            },
            rules,
            pending: Vec::new(),
            sink: None,
        })
    }

    /// Hands every match to `sink` as it is found instead of keeping it in the report (the
    /// counts are still kept).
    pub fn with_sink(mut self, sink: Box<dyn FnMut(Match) + Send>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Streams one file or object from `reader` (gzipped or not) within `limits`, matching
    /// each record as it is parsed. When the data cannot be read to its end (over a limit,
    /// damaged gzip), the records before that point stay matched and the reason is recorded
    /// as a malformed entry for the whole object; it is also returned.
    pub fn read<R: Read>(
        &mut self,
        reader: R,
        name: &Path,
        limits: &ReadLimits,
    ) -> Result<(), ReadError> {
        self.report.files += 1;
        let result = stream_records(reader, name, limits, &mut |item| match item {
            Item::Record(record) => self.record(record),
            Item::Malformed(m) => self.malformed(m),
        });
        if let Err(e) = &result {
            self.malformed(MalformedRecord {
                path: name.to_path_buf(),
                index: None,
                reason: e.to_string(),
            });
        }
        result
    }

    /// [`Hunter::read`] over a local file; a file that cannot be opened is recorded the same
    /// way.
    pub fn read_file(&mut self, path: &Path, limits: &ReadLimits) {
        match std::fs::File::open(path) {
            Ok(file) => {
                let _ = self.read(file, path, limits);
            }
            Err(e) => self.add_unreadable(path, ReadError::Io(e.to_string()).to_string()),
        }
    }

    fn record(&mut self, record: Record) {
        self.report.records += 1;
        if self.rules.has_correlations() {
            self.pending.push(record);
        } else {
            let hits = self.rules.process(&record);
            self.collect(&record, hits);
        }
    }

    fn malformed(&mut self, m: MalformedRecord) {
        self.report.malformed_count += 1;
        if self.report.malformed.len() < MALFORMED_KEPT {
            self.report.malformed.push(m);
        }
    }

    /// Matches the records of one file or object (without correlation rules at once, and
    /// they are dropped; with them, at [`Hunter::finish`]).
    pub fn add(&mut self, read: FileRecords) {
        self.report.files += 1;
        for m in read.malformed {
            self.malformed(m);
        }
        for record in read.records {
            self.record(record);
        }
    }

    /// Records one file or object that could not be read at all.
    pub fn add_unreadable(&mut self, name: &Path, reason: String) {
        self.report.files += 1;
        self.malformed(MalformedRecord {
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
            self.collect(record, hits);
        }
        self.report
    }

    fn collect(&mut self, record: &Record, hits: Vec<crate::engine::Hit>) {
        for hit in hits {
            let report = &mut self.report;
            report.match_count += 1;
            match report.counts.get_mut(&hit.rule.title) {
                Some(n) => *n += 1,
                None => {
                    report.counts.insert(hit.rule.title.clone(), 1);
                }
            }
            let m = Match {
                rule: (*hit.rule).clone(),
                correlation: hit.correlation,
                summary: record.summary().clone(),
                record: record.original.clone(),
                origin: record.origin.clone(),
            };
            match &mut self.sink {
                Some(sink) => sink(m),
                None => report.matches.push(m),
            }
        }
    }
}
