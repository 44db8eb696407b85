//! Loading Sigma rule files: walking folders, parsing each file, and reporting every rule that
//! cannot be used together with the reason, without stopping at the first.

use std::path::{Path, PathBuf};

use rsigma_parser::{CorrelationRule, FilterRule, SigmaCollection, SigmaRule};
use serde::Serialize;

use crate::error::DetectError;

/// Whether a rule matches single records or aggregates matches of other rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A detection rule: evaluated against each record.
    Detection,
    /// A correlation rule: `event_count`, `value_count`, `temporal` or `temporal_ordered`.
    Correlation,
}

/// What is shown about a rule wherever one of its matches is shown.
///
/// The Detection Rule License requires crediting `author` with every match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// The rule's `id` (a UUID in SigmaHQ), if it has one.
    pub id: Option<String>,
    /// The rule's `title`.
    pub title: String,
    /// The rule's `level` (`informational` .. `critical`).
    pub level: Option<String>,
    /// The rule's `author`.
    pub author: Option<String>,
    /// Detection or correlation.
    pub kind: RuleKind,
    /// The file the rule came from (empty for rules given as text).
    pub path: PathBuf,
}

impl RuleInfo {}

/// A rule (or a whole file) that could not be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleLoadError {
    /// The file concerned.
    pub path: PathBuf,
    /// The rule's title, when the failure concerns one rule of the file.
    pub rule: Option<String>,
    /// Why it failed.
    pub reason: String,
}

impl std::fmt::Display for RuleLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: rule `{rule}`: {}", self.path.display(), self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

/// Rules parsed from one text, before compilation.
#[derive(Debug, Default)]
pub struct ParsedRules {
    pub(crate) rules: Vec<(SigmaRule, RuleInfo)>,
    pub(crate) correlations: Vec<(CorrelationRule, RuleInfo)>,
    pub(crate) filters: Vec<FilterRule>,
    /// Documents of the text that could not be parsed, with the reason.
    pub errors: Vec<String>,
}

impl ParsedRules {
    /// Number of detection rules parsed.
    pub fn detection_count(&self) -> usize {
        self.rules.len()
    }
    /// Number of correlation rules parsed.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }
    /// Metadata of every parsed rule, detections first.
    pub fn infos(&self) -> impl Iterator<Item = &RuleInfo> {
        self.rules
            .iter()
            .map(|(_, i)| i)
            .chain(self.correlations.iter().map(|(_, i)| i))
    }

    pub(crate) fn extend(&mut self, other: ParsedRules) {
        self.rules.extend(other.rules);
        self.correlations.extend(other.correlations);
        self.filters.extend(other.filters);
        self.errors.extend(other.errors);
    }
}

/// Parses Sigma YAML (one or more documents) without compiling it.
///
/// This is the fuzzing entry point: it accepts any text and never panics; problems come back
/// in [`ParsedRules::errors`].
pub fn parse_rule_text(text: &str) -> ParsedRules {
    parse_text_at(text, Path::new(""))
}

/// Largest rule text read (a SigmaHQ rule is a few KiB; a file of many documents stays far
/// below this).
pub const MAX_RULE_TEXT: usize = 4 * 1024 * 1024;
/// Deepest nesting of brackets accepted in a rule text. The condition grammar's parser
/// recurses once per parenthesis before the Sigma parser's own depth check runs, so a few
/// thousand of them would overflow the stack; real conditions nest a handful deep.
pub const MAX_RULE_NESTING: usize = 64;

/// Refuses text whose size or bracket nesting the parsers below cannot take safely. Brackets
/// are counted without regard to quoting: that can only over-count, and no real rule comes
/// near the limit.
fn check_rule_shape(text: &str) -> Result<(), String> {
    if text.len() > MAX_RULE_TEXT {
        return Err(format!(
            "the rule text is {} bytes; at most {MAX_RULE_TEXT} are read",
            text.len()
        ));
    }
    let mut depth = 0usize;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_RULE_NESTING {
                    return Err(format!(
                        "brackets nest deeper than {MAX_RULE_NESTING} levels"
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn parse_text_at(text: &str, path: &Path) -> ParsedRules {
    if let Err(reason) = check_rule_shape(text) {
        return ParsedRules {
            errors: vec![reason],
            ..ParsedRules::default()
        };
    }
    match rsigma_parser::parse_sigma_yaml(text) {
        Ok(collection) => from_collection(collection, path),
        Err(e) => ParsedRules {
            errors: vec![e.to_string()],
            ..ParsedRules::default()
        },
    }
}

fn from_collection(collection: SigmaCollection, path: &Path) -> ParsedRules {
    let rules = collection
        .rules
        .into_iter()
        .map(|mut r| {
            crate::fixups::apply(&mut r);
            let info = RuleInfo {
                id: r.id.clone(),
                title: r.title.clone(),
                level: r.level.map(|l| l.as_str().to_string()),
                author: r.author.clone(),
                kind: RuleKind::Detection,
                path: path.to_path_buf(),
            };
            // The correlation engine links detections to correlations through the rule id,
            // but the specification lets correlations name rules without one.
            if r.id.is_none() {
                r.id = Some(r.name.clone().unwrap_or_else(|| r.title.clone()));
            }
            (r, info)
        })
        .collect();
    let correlations = collection
        .correlations
        .into_iter()
        .map(|mut c| {
            crate::fixups::apply_correlation(&mut c);
            let info = RuleInfo {
                id: c.id.clone(),
                title: c.title.clone(),
                level: c.level.map(|l| l.as_str().to_string()),
                author: c.author.clone(),
                kind: RuleKind::Correlation,
                path: path.to_path_buf(),
            };
            // Chained correlations are linked through the id too.
            if c.id.is_none() {
                c.id = Some(c.name.clone().unwrap_or_else(|| c.title.clone()));
            }
            (c, info)
        })
        .collect();
    ParsedRules {
        rules,
        correlations,
        filters: collection.filters,
        errors: collection.errors,
    }
}

/// Parses every `.yml`/`.yaml` file under `dirs` (files may also be given directly), in path
/// order. Unreadable or unparsable files become [`RuleLoadError`]s; only a missing top-level
/// path is fatal.
pub(crate) fn parse_rule_paths(
    dirs: &[PathBuf],
) -> Result<(ParsedRules, Vec<RuleLoadError>, usize), DetectError> {
    let mut files = Vec::new();
    for dir in dirs {
        collect_rule_files(dir, &mut files)?;
    }
    let mut parsed = ParsedRules::default();
    let mut failures = Vec::new();
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                failures.push(RuleLoadError {
                    path: file.clone(),
                    rule: None,
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        // A parser panic on one file must not end the whole load.
        let one = std::panic::catch_unwind(|| parse_text_at(&text, file)).unwrap_or_else(|_| {
            ParsedRules {
                errors: vec!["the parser panicked on this file".into()],
                ..ParsedRules::default()
            }
        });
        for reason in &one.errors {
            failures.push(RuleLoadError {
                path: file.clone(),
                rule: None,
                reason: reason.clone(),
            });
        }
        parsed.extend(ParsedRules {
            errors: Vec::new(),
            ..one
        });
    }
    Ok((parsed, failures, files.len()))
}

fn collect_rule_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), DetectError> {
    let io = |source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_rule_files(&entry, out)?;
        } else if matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(entry);
        }
    }
    Ok(())
}
