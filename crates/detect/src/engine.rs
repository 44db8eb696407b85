//! The compiled rule set and evaluation of records against it.
//!
//! Detection rules are compiled once into `rsigma-eval` matchers (with our field-mapping and
//! placeholder pipelines applied); correlation rules run in a stateful correlation engine fed
//! with the detections, in record-time order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rsigma_eval::event::JsonEvent;
use rsigma_eval::{CorrelationConfig, CorrelationEngine, Engine, EvaluationResult, Pipeline};
use serde::Serialize;

use crate::error::DetectError;
use crate::record::Record;
use crate::rules::{parse_rule_paths, parse_rule_text, ParsedRules, RuleInfo, RuleLoadError};

/// Options for compiling rules.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Values of `%placeholder%`s used with the `expand` modifier, by name (without the `%`).
    pub placeholders: BTreeMap<String, Vec<String>>,
}

/// Details of a correlation rule firing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelationDetail {
    /// `event_count`, `value_count`, `temporal` or `temporal_ordered`.
    pub correlation_type: String,
    /// The `group-by` fields and their values for this firing.
    pub group: Vec<(String, String)>,
    /// The count (or distinct-value count) that met the condition.
    pub value: f64,
}

/// One rule matching one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    /// The rule (with its author, to credit it).
    pub rule: Arc<RuleInfo>,
    /// Set when the rule is a correlation.
    pub correlation: Option<CorrelationDetail>,
}

/// How loading went.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCheck {
    /// Rule files read.
    pub files: usize,
    /// Detection rules compiled.
    pub detection_rules: usize,
    /// Correlation rules compiled.
    pub correlation_rules: usize,
    /// Every rule or file that could not be loaded, with the reason.
    pub failures: Vec<RuleLoadError>,
}

/// The rules of one product.
struct ProductRules {
    engine: Engine,
    /// The distinct `service`s of these rules (lowercase); when a record's service is the
    /// only one, pruning by log source is skipped.
    services: HashSet<String>,
}

/// A compiled set of Sigma rules.
pub struct RuleSet {
    /// One evaluator per rule `product` (`None`: rules without one). A record is matched
    /// only against its product's rules and the product-less ones, so, e.g., the keyword
    /// scans of Azure rules cost nothing on CloudTrail records.
    engines: BTreeMap<Option<String>, ProductRules>,
    correlation: Option<CorrelationEngine>,
    /// By the id the evaluator reports (the rule's id, else its name, else its title).
    infos: HashMap<String, Arc<RuleInfo>>,
    /// Rules (detections, or correlations feeding other correlations) used only through
    /// correlations (`generate: false`), by reported id.
    correlation_only: HashSet<String>,
    check: RuleCheck,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("check", &self.check)
            .finish()
    }
}

impl RuleSet {
    /// Loads and compiles every rule under `paths` (folders or files). Rules that cannot be
    /// loaded are listed in [`RuleSet::check`]; only an unreadable top-level path is an error.
    pub fn load(paths: &[PathBuf], options: &EngineOptions) -> Result<RuleSet, DetectError> {
        let (parsed, failures, files) = parse_rule_paths(paths)?;
        let mut set = RuleSet::compile(parsed, options)?;
        set.check.files = files;
        let mut all = failures;
        all.append(&mut set.check.failures);
        set.check.failures = all;
        Ok(set)
    }

    /// Compiles rules given as YAML text (one or more documents).
    pub fn from_yaml(text: &str, options: &EngineOptions) -> Result<RuleSet, DetectError> {
        let parsed = parse_rule_text(text);
        let errors: Vec<RuleLoadError> = parsed
            .errors
            .iter()
            .map(|reason| RuleLoadError {
                path: PathBuf::new(),
                rule: None,
                reason: reason.clone(),
            })
            .collect();
        let mut set = RuleSet::compile(parsed, options)?;
        set.check.failures.splice(0..0, errors);
        Ok(set)
    }

    /// Compiles parsed rules, with the parse `failures` listed first.
    pub(crate) fn compile_parsed(
        parsed: ParsedRules,
        failures: Vec<RuleLoadError>,
        files: usize,
        options: &EngineOptions,
    ) -> Result<RuleSet, DetectError> {
        let mut set = RuleSet::compile(parsed, options)?;
        set.check.files = files;
        set.check.failures.splice(0..0, failures);
        Ok(set)
    }

    fn compile(parsed: ParsedRules, options: &EngineOptions) -> Result<RuleSet, DetectError> {
        let mut pipelines: Vec<Pipeline> = crate::pipeline::builtin_pipelines()?;
        if let Some(p) = crate::pipeline::placeholder_pipeline(&options.placeholders)? {
            pipelines.push(p);
        }
        let mut engines: BTreeMap<Option<String>, ProductRules> = BTreeMap::new();
        let mut check = RuleCheck::default();
        let mut infos = HashMap::new();
        for (rule, info) in &parsed.rules {
            let failure = |reason: String| RuleLoadError {
                path: info.path.clone(),
                rule: Some(info.title.clone()),
                reason,
            };
            // One rule's compiler panic must not take the rule set down with it.
            let product = rule
                .logsource
                .product
                .as_ref()
                .map(|p| p.to_ascii_lowercase());
            let group = engines.entry(product).or_insert_with(|| {
                let mut engine = Engine::new();
                for p in &pipelines {
                    engine.add_pipeline(p.clone());
                }
                ProductRules {
                    engine,
                    services: HashSet::new(),
                }
            });
            if let Some(service) = &rule.logsource.service {
                group.services.insert(service.to_ascii_lowercase());
            }
            let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                group.engine.add_rule(rule)
            }));
            match added {
                Ok(Ok(())) => {
                    check.detection_rules += 1;
                    let key = rule.id.clone().unwrap_or_else(|| rule.title.clone());
                    infos.entry(key).or_insert_with(|| Arc::new(info.clone()));
                }
                Ok(Err(e)) => check.failures.push(failure(e.to_string())),
                Err(_) => check.failures.push(failure("the compiler panicked".into())),
            }
        }
        for filter in &parsed.filters {
            // A filter names its rules; it applies to whichever evaluator holds them.
            let mut last_error = None;
            let mut applied = false;
            for group in engines.values_mut() {
                match group.engine.apply_filter(filter) {
                    Ok(()) => applied = true,
                    Err(e) => last_error = Some(e.to_string()),
                }
            }
            if !applied {
                check.failures.push(RuleLoadError {
                    path: PathBuf::new(),
                    rule: Some(filter.title.clone()),
                    reason: format!(
                        "filter: {}",
                        last_error.unwrap_or_else(|| "no rules to apply it to".into())
                    ),
                });
            }
        }
        // What a correlation's `rules:` entry (an id or a name) reports as.
        // Correlations referenced by other correlations (chaining) follow the same rule.
        let reported_id: HashMap<&str, &str> = parsed
            .rules
            .iter()
            .filter_map(|(r, _)| r.id.as_deref().map(|id| (r.name.as_deref(), id)))
            .chain(
                parsed
                    .correlations
                    .iter()
                    .filter_map(|(c, _)| c.id.as_deref().map(|id| (c.name.as_deref(), id))),
            )
            .flat_map(|(name, id)| [Some((id, id)), name.map(|n| (n, id))])
            .flatten()
            .collect();
        let mut correlation_only = HashSet::new();
        for (corr, _) in &parsed.correlations {
            if !corr.generate {
                correlation_only.extend(
                    corr.rules
                        .iter()
                        .filter_map(|r| reported_id.get(r.as_str()))
                        .map(|id| id.to_string()),
                );
            }
        }
        let correlation = if parsed.correlations.is_empty() {
            None
        } else {
            let mut corr = CorrelationEngine::new(CorrelationConfig::default());
            for p in &pipelines {
                corr.add_pipeline(p.clone());
            }
            for (rule, _) in &parsed.rules {
                // Already reported above if it fails.
                let _ = corr.add_rule(rule);
            }
            for (rule, info) in &parsed.correlations {
                match corr.add_correlation(rule) {
                    Ok(()) => {
                        check.correlation_rules += 1;
                        let key = rule.id.clone().unwrap_or_else(|| rule.title.clone());
                        infos.entry(key).or_insert_with(|| Arc::new(info.clone()));
                    }
                    Err(e) => check.failures.push(RuleLoadError {
                        path: info.path.clone(),
                        rule: Some(info.title.clone()),
                        reason: e.to_string(),
                    }),
                }
            }
            Some(corr)
        };
        Ok(RuleSet {
            engines,
            correlation,
            infos,
            correlation_only,
            check,
        })
    }

    /// How loading went: counts and every failure with its reason.
    pub fn check(&self) -> &RuleCheck {
        &self.check
    }

    /// Whether the set holds correlation rules (which need records in time order).
    pub fn has_correlations(&self) -> bool {
        self.correlation.is_some()
    }

    /// Stateless matching: the detection rules that match `record` (correlations ignored).
    pub fn detect(&self, record: &Record) -> Vec<Hit> {
        let event = JsonEvent::borrow(record.rule_json());
        self.evaluate(&event, record)
            .iter()
            .filter_map(|r| self.hit(r))
            .collect()
    }

    /// Detection results from the evaluators that apply to the record's product.
    fn evaluate(&self, event: &JsonEvent<'_>, record: &Record) -> Vec<EvaluationResult> {
        // Compared without lower-casing copies: this runs for every record.
        let product = record.logsource.product.as_deref();
        let service = record.logsource.service.as_deref();
        let mut results = Vec::new();
        for (rules_product, group) in &self.engines {
            if let (Some(rules), Some(product)) = (rules_product.as_deref(), product) {
                if !rules.eq_ignore_ascii_case(product) {
                    continue;
                }
            }
            let conflicts =
                service.is_some_and(|s| group.services.iter().any(|r| !r.eq_ignore_ascii_case(s)));
            if conflicts {
                // Conflict-based pruning: skip rules written for another service.
                results.extend(group.engine.evaluate_pruned(event, &record.logsource));
            } else {
                results.extend(group.engine.evaluate(event));
            }
        }
        results
    }

    /// Matching with correlation state: detections plus any correlation that fires on this
    /// record. Feed records in time order. Rules referenced by a correlation (detections, or
    /// correlations chained into another) are not reported on their own unless it says
    /// `generate: true`.
    pub fn process(&mut self, record: &Record) -> Vec<Hit> {
        let event = JsonEvent::borrow(record.rule_json());
        let results = self.evaluate(&event, record);
        let results = match &mut self.correlation {
            Some(corr) => {
                let ts = record.summary().epoch_secs.unwrap_or(0);
                corr.process_with_detections(&event, results, ts)
            }
            None => results,
        };
        // A correlation that only feeds another one (`generate: false` on the parent) is not
        // reported on its own either.
        results
            .iter()
            .filter(|r| {
                !r.header
                    .rule_id
                    .as_ref()
                    .is_some_and(|id| self.correlation_only.contains(id))
            })
            .filter_map(|r| self.hit(r))
            .collect()
    }

    fn hit(&self, result: &EvaluationResult) -> Option<Hit> {
        let key = result
            .header
            .rule_id
            .as_deref()
            .unwrap_or(&result.header.rule_title);
        let rule = match self.infos.get(key) {
            Some(info) => Arc::clone(info),
            // Not expected: every compiled rule is registered. Keep the match anyway.
            None => Arc::new(RuleInfo {
                id: result.header.rule_id.clone(),
                title: result.header.rule_title.clone(),
                level: result.header.level.map(|l| l.as_str().to_string()),
                author: None,
                kind: crate::rules::RuleKind::Detection,
                path: Path::new("").to_path_buf(),
            }),
        };
        let correlation = result.as_correlation().map(|c| CorrelationDetail {
            correlation_type: c.correlation_type.as_str().to_string(),
            group: c.group_key.clone(),
            value: c.aggregated_value,
        });
        Some(Hit { rule, correlation })
    }
}
