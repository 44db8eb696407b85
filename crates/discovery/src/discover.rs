//! The aggregation: every source adds use to an app entry (keyed by its id); `finish` scores
//! and sorts.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::model::{
    AppKind, DiscoveredApp, DiscoveryReport, ReviewState, SourceSummary, UncataloguedHost,
    Unparsed, UnparsedExample,
};
use crate::traffic::TrafficEvent;

/// Most distinct users kept per app; beyond it users are counted as truncated.
pub const MAX_USERS_PER_APP: usize = 10_000;
/// Most distinct apps and access paths one run keeps.
pub const MAX_APPS: usize = 200_000;
/// Most distinct uncatalogued destinations counted.
pub const MAX_UNCATALOGUED: usize = 100_000;
/// Examples of unparsed lines kept.
pub const MAX_UNPARSED_EXAMPLES: usize = 10;

/// What discovery needs to know about this Trustplane node and its reviews.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryOptions {
    /// ARNs of IAM SAML providers that point at Trustplane.
    pub trustplane_saml_providers: Vec<String>,
    /// This node's SAML entity id / OIDC issuer URLs (e.g. its public URL): a provider whose
    /// metadata or URL names one is Trustplane's own.
    pub trustplane_issuers: Vec<String>,
    /// Catalogue ids of web apps whose sign-in goes through Trustplane.
    pub sso_through_trustplane: HashSet<String>,
    /// Reviews by app id.
    pub reviews: HashMap<String, ReviewState>,
    /// Now (seconds since the epoch), for the age of credentials.
    pub now: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Acc {
    pub kind: Option<AppKind>,
    pub name: String,
    pub account: Option<String>,
    pub category: Option<String>,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub users: BTreeSet<String>,
    pub users_truncated: bool,
    pub events: u64,
    pub bytes: u64,
    pub blocked: u64,
    pub bypass: bool,
    pub remediation: Option<String>,
    pub details: Map<String, Value>,
    /// Catalogue id for web apps.
    pub catalog: Option<String>,
}

impl Acc {
    pub(crate) fn seen(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    pub(crate) fn user(&mut self, u: &str) {
        if self.users.contains(u) {
            return;
        }
        if self.users.len() >= MAX_USERS_PER_APP {
            self.users_truncated = true;
        } else {
            self.users.insert(u.to_string());
        }
    }
}

/// Collects use from every source, then [`Discoverer::finish`]es into a report.
#[derive(Debug)]
pub struct Discoverer {
    pub(crate) catalog: Catalog,
    pub(crate) options: DiscoveryOptions,
    pub(crate) apps: HashMap<String, Acc>,
    apps_dropped: u64,
    pub(crate) sources: Vec<SourceSummary>,
    pub(crate) unparsed: Unparsed,
    uncatalogued: HashMap<String, (u64, u64)>,
    pub(crate) inventory_documents: usize,
}

impl Discoverer {
    /// A discoverer over a catalogue.
    pub fn new(catalog: Catalog, options: DiscoveryOptions) -> Discoverer {
        Discoverer {
            catalog,
            options,
            apps: HashMap::new(),
            apps_dropped: 0,
            sources: Vec::new(),
            unparsed: Unparsed::default(),
            uncatalogued: HashMap::new(),
            inventory_documents: 0,
        }
    }

    /// The entry for `id`, created with `init` on first use; `None` once [`MAX_APPS`] are
    /// held (the use is counted as dropped).
    pub(crate) fn entry(&mut self, id: &str, init: impl FnOnce() -> Acc) -> Option<&mut Acc> {
        if !self.apps.contains_key(id) {
            if self.apps.len() >= MAX_APPS {
                self.apps_dropped += 1;
                return None;
            }
            self.apps.insert(id.to_string(), init());
        }
        self.apps.get_mut(id)
    }

    /// Records an unparsed line or record.
    pub fn unparsed(&mut self, path: &str, line: Option<u64>, reason: &str, text: Option<&str>) {
        self.unparsed.count += 1;
        if self.unparsed.examples.len() < MAX_UNPARSED_EXAMPLES {
            self.unparsed.examples.push(UnparsedExample {
                path: path.to_string(),
                line,
                reason: reason.to_string(),
                text: text.map(|t| t.chars().take(200).collect()),
            });
        }
    }

    /// Adds one CloudTrail record (AWS service use, and federated sign-ins to the provider
    /// they came through) or Azure activity record (resource provider use). Other records
    /// are ignored; returns whether the record was used.
    pub fn add_cloud_record(&mut self, v: &Value) -> bool {
        if let Some(source) = v.get("eventSource").and_then(Value::as_str) {
            self.add_cloudtrail(v, source);
            return true;
        }
        self.add_azure_activity(v)
    }

    fn add_cloudtrail(&mut self, v: &Value, source: &str) {
        let ui = v.get("userIdentity");
        let s = |p: &str| ui.and_then(|u| u.pointer(p)).and_then(Value::as_str);
        let account = v
            .get("recipientAccountId")
            .and_then(Value::as_str)
            .or_else(|| s("/accountId"))
            .unwrap_or("unknown")
            .to_string();
        let user = cloudtrail_user(ui);
        let time = v
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(crate::parse_time);
        let id = format!("aws-service:{account}:{source}");
        let name = source.strip_suffix(".amazonaws.com").unwrap_or(source);
        let init = || Acc {
            kind: Some(AppKind::AwsService),
            name: name.to_string(),
            account: Some(account.clone()),
            category: Some("AWS service".into()),
            ..Acc::default()
        };
        if let Some(acc) = self.entry(&id, init) {
            acc.events += 1;
            acc.seen(time);
            if let Some(u) = &user {
                acc.user(u);
            }
        }
        // Federated sign-ins name the provider they came through.
        let kind = s("/type").unwrap_or("");
        if kind == "SAMLUser" || kind == "WebIdentityUser" {
            if let Some(provider) = s("/identityProvider") {
                let arn = if provider.starts_with("arn:") {
                    provider.to_string()
                } else {
                    format!("arn:aws:iam::{account}:oidc-provider/{provider}")
                };
                let pid = format!("idp:{arn}");
                let pname = arn.rsplit('/').next().unwrap_or(&arn).to_string();
                let acct = account.clone();
                let init = || Acc {
                    kind: Some(AppKind::IdentityProvider),
                    name: pname,
                    account: Some(acct),
                    category: Some("identity provider".into()),
                    ..Acc::default()
                };
                if let Some(acc) = self.entry(&pid, init) {
                    acc.events += 1;
                    acc.seen(time);
                    if let Some(u) = s("/userName") {
                        acc.user(u);
                    }
                }
            }
        }
    }

    fn add_azure_activity(&mut self, v: &Value) -> bool {
        let op = v.get("operationName").and_then(|o| {
            o.as_str()
                .or_else(|| o.get("value").and_then(Value::as_str))
        });
        let Some(op) = op else { return false };
        let Some((provider, _)) = op.split_once('/') else {
            return false;
        };
        if !provider.to_ascii_lowercase().starts_with("microsoft.") {
            return false;
        }
        let sub = v
            .get("subscriptionId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                let rid = v.get("resourceId").and_then(Value::as_str)?;
                let rest = rid.to_ascii_lowercase();
                let rest = rest.split("/subscriptions/").nth(1)?;
                rest.split('/').next().map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".into());
        let provider = provider.to_string();
        let id = format!("azure-rp:{sub}:{}", provider.to_ascii_lowercase());
        let time = ["time", "eventTimestamp", "TimeGenerated"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .and_then(crate::parse_time);
        let caller = v.get("caller").and_then(Value::as_str).map(str::to_string);
        let init = || Acc {
            kind: Some(AppKind::AzureResourceProvider),
            name: provider,
            account: Some(sub.clone()),
            category: Some("Azure resource provider".into()),
            ..Acc::default()
        };
        if let Some(acc) = self.entry(&id, init) {
            acc.events += 1;
            acc.seen(time);
            if let Some(c) = caller {
                acc.user(&c);
            }
        }
        true
    }

    /// Adds one proxy or firewall request.
    pub fn add_traffic(&mut self, e: &TrafficEvent) {
        let Some(app) = self.catalog.lookup(&e.host) else {
            let n = self.uncatalogued.len();
            match self.uncatalogued.get_mut(&e.host) {
                Some(c) => {
                    c.0 += 1;
                    c.1 = c.1.saturating_add(e.bytes);
                }
                None if n < MAX_UNCATALOGUED => {
                    self.uncatalogued.insert(e.host.clone(), (1, e.bytes));
                }
                None => {}
            }
            return;
        };
        let id = format!("web:{}", app.id);
        let app = app.clone();
        let init = || Acc {
            kind: Some(AppKind::WebApp),
            name: app.name.clone(),
            category: Some(app.category.clone()),
            catalog: Some(app.id.clone()),
            ..Acc::default()
        };
        if let Some(acc) = self.entry(&id, init) {
            acc.events += 1;
            acc.bytes = acc.bytes.saturating_add(e.bytes);
            if e.blocked {
                acc.blocked += 1;
            }
            acc.seen(e.time);
            if let Some(u) = e.who() {
                acc.user(u);
            }
        }
    }

    /// Scores, sorts (highest risk first, then id) and returns the report.
    pub fn finish(self) -> DiscoveryReport {
        let mut apps: Vec<DiscoveredApp> = Vec::with_capacity(self.apps.len());
        for (id, acc) in self.apps {
            let review = self.options.reviews.get(&id).copied();
            let catalog = acc.catalog.as_deref().and_then(|c| self.catalog.get(c));
            let risk = crate::score::score(&acc, review, catalog, &self.options);
            let mut details = acc.details;
            if let Some(c) = catalog {
                details.insert(
                    "catalogue".into(),
                    serde_json::to_value(c).unwrap_or_default(),
                );
            }
            apps.push(DiscoveredApp {
                kind: acc.kind.unwrap_or(AppKind::AwsService),
                name: acc.name,
                account: acc.account,
                category: acc.category,
                first_seen: acc.first.and_then(crate::format_time),
                last_seen: acc.last.and_then(crate::format_time),
                user_count: acc.users.len(),
                users: acc.users.into_iter().collect(),
                users_truncated: acc.users_truncated,
                events: acc.events,
                bytes: acc.bytes,
                blocked: acc.blocked,
                bypasses_trustplane: acc.bypass,
                remediation: acc.remediation,
                details: Value::Object(details),
                review,
                risk,
                id,
            });
        }
        apps.sort_by(|a, b| b.risk.score.cmp(&a.risk.score).then(a.id.cmp(&b.id)));
        let mut top: Vec<UncataloguedHost> = self
            .uncatalogued
            .iter()
            .map(|(h, (events, bytes))| UncataloguedHost {
                host: h.clone(),
                events: *events,
                bytes: *bytes,
            })
            .collect();
        top.sort_by(|a, b| b.events.cmp(&a.events).then(a.host.cmp(&b.host)));
        top.truncate(20);
        let mut unparsed = self.unparsed;
        if self.apps_dropped > 0 {
            unparsed.count += self.apps_dropped;
            if unparsed.examples.len() < MAX_UNPARSED_EXAMPLES {
                unparsed.examples.push(UnparsedExample {
                    path: String::new(),
                    line: None,
                    reason: format!(
                        "{} uses of apps beyond the first {MAX_APPS} were not kept",
                        self.apps_dropped
                    ),
                    text: None,
                });
            }
        }
        DiscoveryReport {
            apps,
            sources: self.sources,
            inventory_documents: self.inventory_documents,
            unparsed,
            uncatalogued_hosts: self.uncatalogued.len(),
            top_uncatalogued: top,
        }
    }
}

/// Who a CloudTrail record names: the principal's ARN, else its principal id, else the
/// service that invoked the call, else the identity type.
pub fn cloudtrail_user(ui: Option<&Value>) -> Option<String> {
    let ui = ui?;
    ["arn", "principalId", "invokedBy", "type"]
        .iter()
        .find_map(|k| ui.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(str::to_string)
}
