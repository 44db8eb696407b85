//! Trustplane's detection engine: Sigma rules over cloud logs.
//!
//! The pipeline, in the order data flows:
//!
//! - [`stream_records`] reads CloudTrail and Azure exports (envelopes, arrays, NDJSON,
//!   gzipped or not) from any reader and hands over one [`Item`] at a time: a [`Record`], or a
//!   [`MalformedRecord`] counted instead of failing, within [`ReadLimits`] (inflated size,
//!   records per object, bytes per record), so memory stays bounded whatever the input size.
//!   [`read_file`] / [`decode_limited`] / [`read_file_limited`] collect the same records;
//!   [`list_log_files`] walks folders.
//! - [`Hunter`] matches records as they stream and hands matches to a sink
//!   ([`Hunter::with_sink`]), which is what `trustplane detect` runs.
//! - Each [`Record`] keeps the original JSON and the Sigma log source it belongs to, and gives
//!   a normalised [`EventSummary`] (time, provider, action, [`Actor`], source IP, outcome,
//!   region, account), built on first use so that records no rule matches do not pay for it.
//! - [`RuleSet`] loads and compiles Sigma rules once (Sigma specification 2.0, through the
//!   `rsigma-parser` and `rsigma-eval` crates, with corrections where they depart from the
//!   specification), applying a field mapping so that SigmaHQ's Azure rules match both Log
//!   Analytics and diagnostic-export records, and `%placeholder%` values from
//!   [`EngineOptions`]. Rules that cannot be loaded are reported with the reason
//!   ([`RuleLoadError`]); [`check_rules`] does only that.
//! - [`builtin_rules`] / [`RuleSet::builtin`]: Trustplane's own rules (cross-cloud password
//!   spray, MFA removed anywhere, activity from an address never seen in the person's
//!   sign-ins, AWS console sign-in by an IAM user, role-assumption bursts across accounts),
//!   over CloudTrail, Azure and Trustplane's own sign-in and audit events, grouped by the
//!   `trustplane.person` field the server adds.
//! - [`parse_rule_text`] is the parser entry point for fuzzing: any text, no panic.
//! - [`RuleSet::process`] matches a record, feeding correlation rules; [`hunt`] does all of it
//!   over folders and returns [`Match`]es that carry the rule's author, which the Detection
//!   Rule License requires showing with every match.
//!
//! ```no_run
//! use trustplane_detect::{hunt, HuntOptions};
//! let report = hunt(&HuntOptions {
//!     rules: vec!["sigma/rules/cloud".into()],
//!     inputs: vec!["logs/".into()],
//!     ..HuntOptions::default()
//! })?;
//! for m in &report.matches {
//!     println!("{} by {:?}: {:?}", m.rule.title, m.rule.author, m.summary.action);
//! }
//! # Ok::<(), trustplane_detect::DetectError>(())
//! ```
#![deny(missing_docs)]

mod builtin;
mod engine;
mod error;
mod fixups;
mod hunt;
mod limits;
mod normalize;
mod pipeline;
mod reader;
mod record;
mod rules;
mod stream;

pub use builtin::builtin_rules;
pub use engine::{CorrelationDetail, EngineOptions, Hit, RuleCheck, RuleSet};
pub use error::DetectError;
pub use hunt::{
    check_rules, hunt, hunt_with_progress, HuntOptions, HuntProgress, HuntReport, Hunter, Match,
    MALFORMED_KEPT,
};
pub use limits::{
    decode_limited, inflate_bounded, inflate_reader, read_bounded, read_file_limited, ReadError,
    ReadLimits, GZIP_MAGIC,
};
pub use reader::{
    decode_bytes, list_log_files, parse_bytes, read_file, FileRecords, MalformedRecord,
};
pub use record::{Actor, EventSummary, Outcome, Provider, Record, RecordOrigin};
pub use rules::{parse_rule_text, ParsedRules, RuleInfo, RuleKind, RuleLoadError};
pub use stream::{stream_bytes, stream_records, Item};
