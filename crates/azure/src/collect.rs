//! The collection itself: subscriptions, then every list of the catalog per subscription and
//! the calls under each resource, and Microsoft Graph for the tenant, all at once within the
//! bounds of [`Options::max_concurrency`].

use std::future::Future;
use std::pin::Pin;

use futures_util::future::join_all;
use reqwest::Url;
use serde_json::Value;
use trustplane_posture::{arm_doc, Provider, ResourceDoc, GLOBAL};

use crate::auth::{self, Tokens};
use crate::catalog::{self, ArmList, Child, ARM_LISTS, GRAPH_CALLS, SUBSCRIPTION};
use crate::error::{AzureError, CallError};
use crate::http::{Http, Paging};
use crate::options::{Credential, Options};

/// Tenant used for Graph documents when no tenant id is known at all.
const UNKNOWN_TENANT: &str = "unknown-tenant";

/// Collects the inventory. Fails only when nothing sensible can be collected (credentials
/// refused, Resource Manager unreachable, subscriptions unreadable); every narrower failure is
/// a `collection_error` document naming the call, so the assessment reports ERROR for it.
///
/// Runs on the caller's tokio runtime (it sleeps with `tokio::time` between retries).
pub async fn collect(options: &Options) -> Result<Vec<ResourceDoc>, AzureError> {
    let arm = base_url(&options.arm_endpoint, "arm_endpoint")?;
    let graph = base_url(&options.graph_endpoint, "graph_endpoint")?;
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .build()?;
    let tokens = auth::acquire(&client, options).await?;
    let c = Collector {
        http: Http::new(
            client,
            options.max_concurrency,
            options.max_retries,
            options.max_retry_wait,
        )
        .with_progress(options.progress.clone()),
        arm,
        graph,
        tokens,
    };
    let subs = c.subscriptions(&options.subscriptions).await?;
    let tenant = options
        .tenant_id
        .clone()
        .or_else(|| match &options.credential {
            Credential::ClientSecret { tenant_id, .. } => Some(tenant_id.clone()),
            Credential::Token { .. } => None,
        })
        .or_else(|| {
            subs.iter()
                .find_map(|s| s.raw.get("tenantId").and_then(Value::as_str))
                .map(str::to_string)
        })
        .unwrap_or_else(|| UNKNOWN_TENANT.to_string());
    let arm_work = join_all(subs.iter().map(|s| c.subscription(&s.account)));
    let graph_work = async {
        if options.graph {
            c.graph(&tenant).await
        } else {
            Vec::new()
        }
    };
    let (per_sub, graph_docs) = tokio::join!(arm_work, graph_work);
    let mut docs = subs;
    docs.extend(per_sub.into_iter().flatten());
    docs.extend(graph_docs);
    Ok(docs)
}

pub(crate) fn base_url(s: &str, what: &str) -> Result<String, AzureError> {
    let t = s.trim().trim_end_matches('/');
    let u = Url::parse(t).map_err(|e| AzureError::Options(format!("{what} `{s}`: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(AzureError::Options(format!("{what} `{s}` is not http(s)")));
    }
    Ok(t.to_string())
}

type Docs<'a> = Pin<Box<dyn Future<Output = Vec<ResourceDoc>> + Send + 'a>>;

struct Collector {
    http: Http,
    arm: String,
    graph: String,
    tokens: Tokens,
}

/// The path and query of a URL, to name a call in messages without the host.
fn call(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("GET {}?{q}", url.path()),
        None => format!("GET {}", url.path()),
    }
}

fn error_doc(
    account: &str,
    region: &str,
    service: &str,
    types: &[&str],
    message: &str,
    resource_id: Option<&str>,
) -> ResourceDoc {
    ResourceDoc::collection_error(
        Provider::Azure,
        account,
        region,
        service,
        types,
        message,
        resource_id,
    )
}

impl Collector {
    fn arm_url(&self, path: &str, api: &str, query: &str) -> Result<Url, CallError> {
        let mut s = format!("{}{path}?api-version={api}", self.arm);
        if !query.is_empty() {
            s.push('&');
            s.push_str(query);
        }
        Url::parse(&s).map_err(|e| CallError::Body(format!("bad URL `{s}`: {e}")))
    }

    /// The subscriptions to scan, as documents. Any failure here is fatal: without it the
    /// report would be empty rather than wrong, and an empty report must not look clean.
    async fn subscriptions(&self, wanted: &[String]) -> Result<Vec<ResourceDoc>, AzureError> {
        let fatal = |url: &Url, e: CallError| match e {
            CallError::Status {
                status, message, ..
            } if status == 401 || status == 403 => AzureError::Unauthorized {
                url: url.to_string(),
                status,
                message,
            },
            CallError::Transport(message) => AzureError::Unreachable {
                url: url.to_string(),
                message,
            },
            other => AzureError::Subscriptions(format!("{}: {other}", call(url))),
        };
        let bad = |e: CallError| AzureError::Subscriptions(e.to_string());
        let objects = if wanted.is_empty() {
            let url = self
                .arm_url("/subscriptions", catalog::RESOURCES, "")
                .map_err(bad)?;
            let items = self
                .http
                .list(&url, &self.tokens.arm, Paging::Arm)
                .await
                .map_err(|e| fatal(&url, e))?;
            if items.is_empty() {
                return Err(AzureError::Subscriptions(
                    "the credential sees no subscription".to_string(),
                ));
            }
            items
        } else {
            let mut v = Vec::new();
            for id in wanted {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(AzureError::Options(format!(
                        "invalid subscription id `{id}`"
                    )));
                }
                let url = self
                    .arm_url(&format!("/subscriptions/{id}"), catalog::RESOURCES, "")
                    .map_err(bad)?;
                v.push(
                    self.http
                        .get(&url, &self.tokens.arm)
                        .await
                        .map_err(|e| fatal(&url, e))?,
                );
            }
            v
        };
        objects
            .iter()
            .map(|o| {
                let id = o
                    .get("subscriptionId")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        AzureError::Subscriptions("a subscription without subscriptionId".into())
                    })?;
                let mut d = arm_doc(id, SUBSCRIPTION, o);
                d.name = o
                    .get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
                    .to_string();
                Ok(d)
            })
            .collect()
    }

    async fn subscription(&self, sub: &str) -> Vec<ResourceDoc> {
        let lists = join_all(ARM_LISTS.iter().map(|l| self.arm_list(sub, l))).await;
        lists.into_iter().flatten().collect()
    }

    async fn arm_list(&self, sub: &str, l: &'static ArmList) -> Vec<ResourceDoc> {
        let types = catalog::types_under(l.rtype, l.children);
        let path = format!("/subscriptions/{sub}{}", l.path);
        let items = match self.arm_url(&path, l.api, l.query) {
            Ok(url) => self
                .http
                .list(&url, &self.tokens.arm, Paging::Arm)
                .await
                .map_err(|e| format!("{}: {e}", call(&url))),
            Err(e) => Err(e.to_string()),
        };
        match items {
            Err(msg) => vec![error_doc(sub, GLOBAL, l.service, &types, &msg, None)],
            Ok(items) => {
                let mut docs: Vec<ResourceDoc> =
                    items.iter().map(|i| arm_doc(sub, l.rtype, i)).collect();
                let kids = self.children(sub, l.service, &docs, l.children).await;
                docs.extend(kids);
                docs
            }
        }
    }

    fn children<'a>(
        &'a self,
        sub: &'a str,
        service: &'static str,
        parents: &'a [ResourceDoc],
        specs: &'static [Child],
    ) -> Docs<'a> {
        Box::pin(async move {
            if specs.is_empty() {
                return Vec::new();
            }
            let work = parents
                .iter()
                .flat_map(|p| specs.iter().map(move |c| self.child(sub, service, p, c)));
            join_all(work).await.into_iter().flatten().collect()
        })
    }

    /// One call under a resource. Child ids are `<parent id><suffix>[/<name>]`: that is what
    /// ARM returns, and it keeps children joined to the parent they were listed under.
    async fn child(
        &self,
        sub: &str,
        service: &'static str,
        parent: &ResourceDoc,
        c: &'static Child,
    ) -> Vec<ResourceDoc> {
        let child_id = format!("{}{}", parent.id.trim_end_matches('/'), c.suffix);
        let fail = |msg: String| {
            vec![error_doc(
                sub,
                &parent.region,
                service,
                &catalog::types_under(c.rtype, c.children),
                &msg,
                Some(&parent.id),
            )]
        };
        let url = match self.arm_url(&child_id, c.api, "") {
            Ok(u) => u,
            Err(e) => return fail(e.to_string()),
        };
        let place = |mut d: ResourceDoc, id: String| {
            d.id = id;
            if d.region == GLOBAL {
                d.region = parent.region.clone();
            }
            d
        };
        let mut docs: Vec<ResourceDoc> = if c.list {
            match self.http.list(&url, &self.tokens.arm, Paging::Arm).await {
                Err(e) => return fail(format!("{}: {e}", call(&url))),
                Ok(items) => items
                    .iter()
                    .map(|i| {
                        let d = arm_doc(sub, c.rtype, i);
                        let id = if d.name.is_empty() {
                            d.id.clone()
                        } else {
                            format!("{child_id}/{}", d.name)
                        };
                        place(d, id)
                    })
                    .collect(),
            }
        } else {
            match self.http.get(&url, &self.tokens.arm).await {
                // A singleton that does not exist (e.g. no file service on a blob-only account).
                Err(e) if e.is_not_found() => return Vec::new(),
                Err(e) => return fail(format!("{}: {e}", call(&url))),
                Ok(v) if !v.is_object() => {
                    return fail(format!("{}: expected a JSON object", call(&url)))
                }
                Ok(v) => vec![place(arm_doc(sub, c.rtype, &v), child_id.clone())],
            }
        };
        let kids = self.children(sub, service, &docs, c.children).await;
        docs.extend(kids);
        docs
    }

    async fn graph(&self, tenant: &str) -> Vec<ResourceDoc> {
        let Some(token) = &self.tokens.graph else {
            let types: Vec<&str> = GRAPH_CALLS.iter().map(|g| g.rtype).collect();
            return vec![error_doc(
                tenant,
                GLOBAL,
                "Microsoft.Graph",
                &types,
                "no Microsoft Graph token (give a Graph token or use a service principal)",
                None,
            )];
        };
        let work = GRAPH_CALLS.iter().map(|g| async move {
            let url = match Url::parse(&format!("{}{}", self.graph, g.path)) {
                Ok(u) => u,
                Err(e) => {
                    let msg = format!("bad Graph URL: {e}");
                    return vec![error_doc(
                        tenant,
                        GLOBAL,
                        "Microsoft.Graph",
                        &[g.rtype],
                        &msg,
                        None,
                    )];
                }
            };
            let got = if g.list {
                self.http.list(&url, token, Paging::Graph).await
            } else {
                self.http.get(&url, token).await.map(|v| vec![v])
            };
            match got {
                Ok(items) => items
                    .iter()
                    .map(|i| graph_doc(tenant, g.rtype, i))
                    .collect(),
                Err(e) => {
                    let msg = format!("{}: {e}", call(&url));
                    vec![error_doc(
                        tenant,
                        GLOBAL,
                        "Microsoft.Graph",
                        &[g.rtype],
                        &msg,
                        None,
                    )]
                }
            }
        });
        join_all(work).await.into_iter().flatten().collect()
    }
}

/// A Graph object as a document, named by its UPN or display name (Graph has no `name`).
fn graph_doc(tenant: &str, rtype: &str, v: &Value) -> ResourceDoc {
    let mut d = arm_doc(tenant, rtype, v);
    if d.name.is_empty() {
        let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        d.name = text("userPrincipalName")
            .or_else(|| text("displayName"))
            .unwrap_or(&d.id)
            .to_string();
    }
    d
}
