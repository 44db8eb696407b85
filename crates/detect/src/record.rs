//! The one record shape the engine works on: a normalised summary for people and alerts, the
//! original JSON for rules and evidence, and the Sigma log source the record belongs to.

use rsigma_parser::LogSource;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Which cloud (or log family) a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// AWS CloudTrail.
    Aws,
    /// Azure activity, Entra ID audit, sign-in or risk logs.
    Azure,
    /// Trustplane's own sign-in log (`category: signIn`) and authentication audit entries
    /// (`category: authentication`), and the identity-aware proxy's session records
    /// (`category: proxy`); Sigma log source `product: trustplane`, `service: signin`, `audit`
    /// or `proxy`.
    Trustplane,
    /// Not recognised; rules of every log source are tried.
    Unknown,
}

/// Whether the logged action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action succeeded.
    Success,
    /// The action was refused or failed.
    Failure,
    /// The record does not say.
    Unknown,
}

/// Who performed an action, in the terms each cloud uses. Identity resolution to a directory
/// user reads these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// AWS `userIdentity.type` (`IAMUser`, `AssumedRole`, `Root`, ...).
    pub kind: Option<String>,
    /// AWS `userIdentity.arn`.
    pub arn: Option<String>,
    /// AWS `userIdentity.principalId`.
    pub principal_id: Option<String>,
    /// The role session name of an assumed role (the last part of its ARN).
    pub session_name: Option<String>,
    /// AWS `userIdentity.userName` (IAM users), or Identity Center user name.
    pub user_name: Option<String>,
    /// AWS account the identity belongs to (`userIdentity.accountId`).
    pub account_id: Option<String>,
    /// Azure `caller` (activity logs): a UPN or an application id.
    pub caller: Option<String>,
    /// Azure user principal name.
    pub upn: Option<String>,
    /// Azure object id of the user or service principal.
    pub object_id: Option<String>,
}

/// The normalised summary of one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    /// Event time as written in the record (RFC 3339 in both clouds).
    pub time: Option<String>,
    /// `time` in seconds since the Unix epoch, when it parses.
    pub epoch_secs: Option<i64>,
    /// Which cloud.
    pub provider: Provider,
    /// The emitting service: `eventSource` (AWS) or category / resource provider (Azure).
    pub source: Option<String>,
    /// The action: `eventName` (AWS) or `operationName` (Azure).
    pub action: Option<String>,
    /// Who did it.
    pub actor: Actor,
    /// The caller's IP address (or, in CloudTrail, the calling service's name).
    pub source_ip: Option<String>,
    /// Success or failure.
    pub outcome: Outcome,
    /// Error code or failure reason, when the action failed.
    pub error: Option<String>,
    /// AWS region or Azure location.
    pub region: Option<String>,
    /// AWS account (`recipientAccountId`) or Azure tenant / subscription.
    pub account: Option<String>,
}

/// Where a record was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordOrigin {
    /// The file.
    pub path: PathBuf,
    /// Index of the record in the file (0-based; the line index for NDJSON).
    pub index: usize,
}

/// One log record, ready for matching.
///
/// The summary is built on first use: most records match no rule, and building it for each
/// would cost about as much as matching.
#[derive(Debug, Clone)]
pub struct Record {
    summary: OnceLock<EventSummary>,
    provider: Provider,
    /// The record exactly as read.
    pub original: Value,
    /// Where it came from.
    pub origin: RecordOrigin,
    /// What rules see, when it differs from `original` (Azure columns holding JSON text are
    /// expanded so that nested field names resolve).
    pub(crate) rule_view: Option<Value>,
    pub(crate) logsource: LogSource,
}

impl Record {
    /// Normalises one JSON record. Never fails: unknown shapes get [`Provider::Unknown`].
    pub fn from_json(original: Value, origin: RecordOrigin) -> Record {
        let provider = crate::normalize::classify(&original);
        let rule_view = match provider {
            Provider::Azure => crate::normalize::expand_json_text(&original),
            _ => None,
        };
        let logsource = match provider {
            Provider::Aws => crate::normalize::aws_logsource(),
            Provider::Azure => {
                crate::normalize::azure_logsource(rule_view.as_ref().unwrap_or(&original))
            }
            Provider::Trustplane => crate::normalize::trustplane_logsource(&original),
            Provider::Unknown => LogSource::default(),
        };
        Record {
            summary: OnceLock::new(),
            provider,
            original,
            origin,
            rule_view,
            logsource,
        }
    }

    /// The normalised summary (built on first call).
    pub fn summary(&self) -> &EventSummary {
        self.summary.get_or_init(|| {
            let view = self.rule_json();
            match self.provider {
                Provider::Aws => crate::normalize::aws(view),
                Provider::Azure => crate::normalize::azure(view),
                Provider::Trustplane => crate::normalize::trustplane(view),
                Provider::Unknown => crate::normalize::unknown(view),
            }
        })
    }

    /// Which cloud the record comes from.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The Sigma log source (`product`, `service`) this record was classified as.
    pub fn log_source(&self) -> (Option<&str>, Option<&str>) {
        (
            self.logsource.product.as_deref(),
            self.logsource.service.as_deref(),
        )
    }

    pub(crate) fn rule_json(&self) -> &Value {
        self.rule_view.as_ref().unwrap_or(&self.original)
    }
}
