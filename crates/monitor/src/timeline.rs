//! One timeline per person across Trustplane, AWS and Azure: what Trustplane decided and issued
//! for them (sign-ins with their conditional-access results, tokens, SAML responses with the AWS
//! role, PIM steps, administrators' changes to them) merged in time order with the cloud records
//! the detection pipeline resolved to them. Filterable by time, source and category, read in
//! pages, and exported as NDJSON or OCSF.

use serde::Serialize;
use serde_json::Value;
use trustplane_model::{from_ms, to_ms, Event, Outcome, Timestamp};
use trustplane_store::{PersonEvent, PersonEventPosition, Store, StoreError, TimeRange};

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// Trustplane's own audit trail.
    Trustplane,
    /// AWS CloudTrail.
    Aws,
    /// Azure activity and Entra ID logs.
    Azure,
}

impl Source {
    /// The name used in queries and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Trustplane => "trustplane",
            Source::Aws => "aws",
            Source::Azure => "azure",
        }
    }

    fn parse(s: &str) -> Result<Self, TimelineError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trustplane" => Ok(Source::Trustplane),
            "aws" => Ok(Source::Aws),
            "azure" => Ok(Source::Azure),
            _ => Err(TimelineError::Invalid {
                field: "source",
                message: format!(
                    "`{}` is not a source: use trustplane, aws or azure",
                    clip(s)
                ),
            }),
        }
    }
}

/// The category of every cloud record on a timeline.
pub const CLOUD_ACTIVITY: &str = "cloudActivity";

/// The category of the identity-aware proxy's monitoring records.
const PROXY: &str = "proxy";

/// The most entries one page holds.
pub const MAX_PAGE: usize = 1000;

/// What a timeline read may fail with.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// A query parameter is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The parameter.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    /// The window (ms since the epoch; `to` exclusive).
    pub range: TimeRange,
    /// Only these sources (all when empty).
    pub sources: Vec<Source>,
    /// Only these categories: audit categories (`signIn`, `federation`, `pim`, ...) and
    /// [`CLOUD_ACTIVITY`] for cloud records (all when empty).
    pub categories: Vec<String>,
    /// Page size (1 to [`MAX_PAGE`]).
    pub top: usize,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

impl TimelineQuery {
    /// A query from the API's comma-separated parameters; times in RFC 3339.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        sources: Option<&str>,
        categories: Option<&str>,
        top: Option<usize>,
        cursor: Option<String>,
    ) -> Result<Self, TimelineError> {
        let time = |field: &'static str, v: Option<&str>| {
            v.map(|v| {
                time::OffsetDateTime::parse(
                    v.trim(),
                    &time::format_description::well_known::Rfc3339,
                )
                .map(to_ms)
                .map_err(|_| TimelineError::Invalid {
                    field,
                    message: format!("`{}` is not an RFC 3339 time", clip(v)),
                })
            })
            .transpose()
        };
        let range = TimeRange {
            from: time("from", from)?,
            to: time("to", to)?,
        };
        if let (Some(f), Some(t)) = (range.from, range.to) {
            if f >= t {
                return Err(TimelineError::Invalid {
                    field: "to",
                    message: "must be after `from`".into(),
                });
            }
        }
        let list = |v: Option<&str>| -> Vec<String> {
            v.map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
        };
        let sources = list(sources);
        let categories = list(categories);
        for (field, values, most) in [("source", &sources, 3), ("category", &categories, 32)] {
            if values.len() > most {
                return Err(TimelineError::Invalid {
                    field,
                    message: format!("at most {most} values"),
                });
            }
        }
        if let Some(c) = categories
            .iter()
            .find(|c| c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()))
        {
            return Err(TimelineError::Invalid {
                field: "category",
                message: format!("`{}` is not a category", clip(c)),
            });
        }
        let top = top.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&top) {
            return Err(TimelineError::Invalid {
                field: "top",
                message: format!("must be between 1 and {MAX_PAGE}"),
            });
        }
        Ok(TimelineQuery {
            range,
            sources: sources
                .iter()
                .map(|s| Source::parse(s))
                .collect::<Result<_, _>>()?,
            categories,
            top,
            cursor,
        })
    }

    fn wants(&self, source: Source) -> bool {
        self.sources.is_empty() || self.sources.contains(&source)
    }

    /// The audit categories to read: `None` for none at all, an empty list for every one.
    fn audit_categories(&self) -> Option<Vec<&str>> {
        if !self.wants(Source::Trustplane) {
            return None;
        }
        if self.categories.is_empty() {
            return Some(Vec::new());
        }
        let wanted: Vec<&str> = self
            .categories
            .iter()
            .map(String::as_str)
            .filter(|c| *c != CLOUD_ACTIVITY)
            .collect();
        (!wanted.is_empty()).then_some(wanted)
    }

    /// The record providers to read (none: no records): the clouds' `cloudActivity`, and
    /// Trustplane's own records that are not audit entries (the proxy's monitoring, category
    /// `proxy`).
    fn providers(&self) -> Vec<&'static str> {
        let asked = |c: &str| self.categories.is_empty() || self.categories.iter().any(|x| x == c);
        let mut out = Vec::new();
        if self.wants(Source::Trustplane) && asked(PROXY) {
            out.push(Source::Trustplane.as_str());
        }
        if asked(CLOUD_ACTIVITY) {
            out.extend(
                [Source::Aws, Source::Azure]
                    .into_iter()
                    .filter(|s| self.wants(*s))
                    .map(Source::as_str),
            );
        }
        out
    }
}

/// One entry of a timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// When it happened (RFC 3339).
    pub time: String,
    /// The same in ms since the epoch, for ordering.
    #[serde(skip)]
    pub at: Timestamp,
    /// Where it comes from.
    pub source: Source,
    /// The audit category, or [`CLOUD_ACTIVITY`].
    pub category: String,
    /// What happened: the audit activity, or the cloud's event or operation name.
    pub activity: String,
    /// `success`, `failure` or `unknown`.
    pub result: String,
    /// The address it came from, when known.
    pub ip_address: Option<String>,
    /// One line for people.
    pub summary: String,
    /// The audit entry, or the cloud record's normalised summary.
    pub detail: Value,
}

/// A page of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePage {
    /// The entries, oldest first.
    pub value: Vec<TimelineEntry>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Where the two halves of a timeline go on from.
#[derive(Debug, Clone, Default, PartialEq)]
struct Cursor {
    audit_seq: i64,
    cloud: Option<PersonEventPosition>,
}

impl Cursor {
    fn encode(&self) -> String {
        match &self.cloud {
            Some((at, id)) => format!("{}.{at}.{id}", self.audit_seq),
            None => format!("{}..", self.audit_seq),
        }
    }

    fn decode(s: &str) -> Result<Self, TimelineError> {
        let bad = || TimelineError::Invalid {
            field: "cursor",
            message: "is not a cursor this timeline gave".into(),
        };
        let mut parts = s.splitn(3, '.');
        let audit_seq = parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(bad)?;
        let at = parts.next().ok_or_else(bad)?;
        let id = parts.next().ok_or_else(bad)?;
        let cloud = match (at, id) {
            ("", "") => None,
            (at, id) => {
                let ok_id = !id.is_empty()
                    && id.len() <= 64
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                let at = at.parse::<i64>().ok().filter(|_| ok_id).ok_or_else(bad)?;
                Some((at, id.to_string()))
            }
        };
        Ok(Cursor { audit_seq, cloud })
    }
}

/// One page of a person's timeline, oldest first.
pub async fn person_timeline(
    store: &Store,
    person: &str,
    q: &TimelineQuery,
) -> Result<TimelinePage, TimelineError> {
    let cursor = match &q.cursor {
        Some(c) => Cursor::decode(c)?,
        None => Cursor::default(),
    };
    let top = q.top.clamp(1, MAX_PAGE);
    // One more of each than a page holds tells whether a next page exists.
    let audit = match q.audit_categories() {
        Some(categories) => {
            store
                .audit_involving(
                    person,
                    q.range,
                    &categories,
                    Some(cursor.audit_seq),
                    top + 1,
                )
                .await?
        }
        None => Vec::new(),
    };
    let providers = q.providers();
    let cloud = if providers.is_empty() {
        Vec::new()
    } else {
        store
            .person_events_after(person, q.range, &providers, cursor.cloud.as_ref(), top + 1)
            .await?
    };
    let (mut a, mut c) = (audit.into_iter().peekable(), cloud.into_iter().peekable());
    let mut next = cursor;
    let mut value = Vec::with_capacity(top);
    while value.len() < top {
        let take_audit = match (a.peek(), c.peek()) {
            (Some(e), Some(p)) => to_ms(e.activity_date_time) <= p.at,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_audit {
            let Some(e) = a.next() else { break };
            next.audit_seq = e.sequence;
            value.push(from_audit(e));
        } else {
            let Some(p) = c.next() else { break };
            next.cloud = Some((p.at, p.id.clone()));
            value.push(from_cloud(p));
        }
    }
    let more = a.peek().is_some() || c.peek().is_some();
    Ok(TimelinePage {
        value,
        next: more.then(|| next.encode()),
    })
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
    }
}

fn from_audit(e: Event) -> TimelineEntry {
    let at = to_ms(e.activity_date_time);
    let target = e
        .target
        .as_ref()
        .map(|t| t.display_name.clone().unwrap_or_else(|| t.id.clone()));
    let by = e
        .initiated_by
        .display_name
        .clone()
        .unwrap_or_else(|| e.initiated_by.id.clone());
    let summary = match (&target, &e.result_reason) {
        (Some(t), Some(r)) => format!("{} by {by} on {t}: {r}", e.activity),
        (Some(t), None) => format!("{} by {by} on {t}", e.activity),
        (None, Some(r)) => format!("{} by {by}: {r}", e.activity),
        (None, None) => format!("{} by {by}", e.activity),
    };
    TimelineEntry {
        time: rfc3339(at),
        at,
        source: Source::Trustplane,
        category: e.category.clone(),
        activity: e.activity.clone(),
        result: outcome_name(&e.result).into(),
        ip_address: e.initiated_by.ip_address.clone(),
        summary,
        detail: serde_json::to_value(&e).unwrap_or(Value::Null),
    }
}

fn from_cloud(p: PersonEvent) -> TimelineEntry {
    let s = &p.summary;
    let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
    let activity = text("action").unwrap_or_else(|| "unknown".into());
    let service = text("source").unwrap_or_default();
    let (source, category) = match p.provider.as_str() {
        "azure" => (Source::Azure, CLOUD_ACTIVITY.to_string()),
        "aws" => (Source::Aws, CLOUD_ACTIVITY.to_string()),
        // Trustplane's records outside the audit trail: their category leads the activity
        // (`proxy.request`).
        _ => (
            Source::Trustplane,
            activity.split('.').next().unwrap_or(PROXY).to_string(),
        ),
    };
    let summary = match (&text("account"), source) {
        (Some(acct), Source::Aws | Source::Azure) => format!("{service} {activity} in {acct}"),
        _ => format!("{service} {activity}"),
    };
    TimelineEntry {
        time: rfc3339(p.at),
        at: p.at,
        source,
        category,
        activity,
        result: text("outcome").unwrap_or_else(|| "unknown".into()),
        ip_address: text("sourceIp"),
        summary: summary.trim().to_string(),
        detail: p.summary,
    }
}

fn rfc3339(at: Timestamp) -> String {
    from_ms(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The person a timeline is about, as OCSF names them.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Directory id.
    pub id: String,
    /// User principal name.
    pub upn: String,
}

/// How a timeline is exported: one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The timeline entries as the API shows them.
    Ndjson,
    /// OCSF 1.3 events.
    Ocsf,
}

impl ExportFormat {
    /// Reads `ndjson` or `ocsf`.
    pub fn parse(s: &str) -> Result<Self, TimelineError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ndjson" => Ok(ExportFormat::Ndjson),
            "ocsf" => Ok(ExportFormat::Ocsf),
            _ => Err(TimelineError::Invalid {
                field: "format",
                message: format!("`{}` is not an export format: use ndjson or ocsf", clip(s)),
            }),
        }
    }

    /// The entries as lines, each ending in a newline.
    pub fn lines(self, entries: &[TimelineEntry], subject: &Subject) -> Vec<u8> {
        let mut out = Vec::new();
        for e in entries {
            let v = match self {
                ExportFormat::Ndjson => serde_json::to_value(e).unwrap_or(Value::Null),
                ExportFormat::Ocsf => crate::ocsf::event(e, subject),
            };
            // Serialising a Value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &v);
            out.push(b'\n');
        }
        out
    }
}
