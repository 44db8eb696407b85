//! The normalised inventory: one JSON document per cloud resource.
//!
//! A collector (AWS SDK, Azure REST, or a test) writes [`ResourceDoc`]s; the checks only ever
//! read them. The `raw` field keeps the cloud API's own response shape, so a collector can store
//! what it received and the checks can be tested against recorded responses.
//!
//! On disk an inventory is a directory of `*.json` files (one document, or an array of
//! documents) and `*.ndjson` / `*.jsonl` files (one document per line). Loading is all or
//! nothing: the first malformed file stops the load with an error that names it.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::InventoryError;

/// The resource type of a document that records a failed collection call.
pub const COLLECTION_ERROR: &str = "collection_error";

/// The region value for global (not regional) data such as IAM or a subscription setting.
pub const GLOBAL: &str = "global";

/// Which cloud a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Microsoft Azure (Resource Manager and Microsoft Graph).
    Azure,
}

impl Provider {
    /// The lowercase name used in documents and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
        }
    }
}

/// One resource (or one settings object, or one recorded collection error).
///
/// ```json
/// {"provider":"aws","account":"111122223333","region":"us-east-1",
///  "type":"aws.s3.bucket","id":"arn:aws:s3:::logs","name":"logs",
///  "raw":{"Name":"logs","Versioning":{"Status":"Enabled","MFADelete":"Disabled"}}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDoc {
    /// The cloud.
    pub provider: Provider,
    /// AWS account id, Azure subscription id (or tenant id for Microsoft Graph data).
    pub account: String,
    /// Region or Azure location; [`GLOBAL`] for global data.
    pub region: String,
    /// Dotted resource type such as `aws.iam.user` or `azure.storage.account`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// ARN, Azure resource id, or another id unique within the account.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The properties as the cloud API returned them.
    #[serde(default)]
    pub raw: Value,
}

impl ResourceDoc {
    /// Builds a document.
    pub fn new(
        provider: Provider,
        account: impl Into<String>,
        region: impl Into<String>,
        resource_type: impl Into<String>,
        id: impl Into<String>,
        name: impl Into<String>,
        raw: Value,
    ) -> Self {
        ResourceDoc {
            provider,
            account: account.into(),
            region: region.into(),
            resource_type: resource_type.into(),
            id: id.into(),
            name: name.into(),
            raw,
        }
    }

    /// Builds a `collection_error` document: the call for `service` failed, so the listed
    /// resource types are unknown for this account and region (or for one resource when
    /// `resource_id` is given).
    pub fn collection_error(
        provider: Provider,
        account: &str,
        region: &str,
        service: &str,
        resource_types: &[&str],
        message: &str,
        resource_id: Option<&str>,
    ) -> Self {
        let id = format!("{service}/{region}/{}", resource_id.unwrap_or("*"));
        ResourceDoc::new(
            provider,
            account,
            region,
            COLLECTION_ERROR,
            id,
            service,
            serde_json::json!({
                "service": service,
                "resource_types": resource_types,
                "resource_id": resource_id,
                "message": message,
            }),
        )
    }

    /// Reads a JSON pointer (`/a/b/0`) inside `raw`.
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        crate::checks::util::walk(&self.raw, pointer)
    }
}

/// A recorded collection failure, read from a [`COLLECTION_ERROR`] document.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionError {
    /// The cloud.
    pub provider: Provider,
    /// Account or subscription.
    pub account: String,
    /// Region, or [`GLOBAL`] when it covers every region of the account.
    pub region: String,
    /// The service whose call failed (`iam`, `s3`, `Microsoft.Storage`, ...).
    pub service: String,
    /// The resource types that are therefore unknown.
    pub resource_types: Vec<String>,
    /// One resource the failure is limited to, if any.
    pub resource_id: Option<String>,
    /// The error as the API reported it.
    pub message: String,
}

/// A loaded inventory, indexed by resource type.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    docs: Vec<ResourceDoc>,
    by_type: HashMap<String, Vec<usize>>,
    errors: Vec<CollectionError>,
    // Scope indexes, kept up to date by `push`, so that checks never scan every document.
    accounts_by_type: HashMap<String, BTreeSet<String>>,
    regions_by_account: HashMap<(Provider, String), BTreeSet<String>>,
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an inventory from documents.
    pub fn from_docs(docs: impl IntoIterator<Item = ResourceDoc>) -> Self {
        let mut inv = Inventory::new();
        for d in docs {
            inv.push(d);
        }
        inv
    }

    /// Adds one document.
    pub fn push(&mut self, doc: ResourceDoc) {
        let idx = self.docs.len();
        if doc.resource_type == COLLECTION_ERROR {
            self.errors.push(parse_collection_error(&doc));
        }
        match self.by_type.get_mut(doc.resource_type.as_str()) {
            Some(v) => v.push(idx),
            None => {
                self.by_type.insert(doc.resource_type.clone(), vec![idx]);
            }
        }
        let accounts = match self.accounts_by_type.get_mut(doc.resource_type.as_str()) {
            Some(s) => s,
            None => self
                .accounts_by_type
                .entry(doc.resource_type.clone())
                .or_default(),
        };
        if !accounts.contains(&doc.account) {
            accounts.insert(doc.account.clone());
        }
        if doc.region != GLOBAL && doc.resource_type != COLLECTION_ERROR {
            let key = (doc.provider, doc.account.clone());
            let regions = self.regions_by_account.entry(key).or_default();
            if !regions.contains(&doc.region) {
                regions.insert(doc.region.clone());
            }
        }
        self.docs.push(doc);
    }

    /// Every document, in load order.
    pub fn docs(&self) -> &[ResourceDoc] {
        &self.docs
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Documents of one resource type.
    pub fn of_type<'a>(
        &'a self,
        resource_type: &str,
    ) -> impl Iterator<Item = &'a ResourceDoc> + 'a {
        self.by_type
            .get(resource_type)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(move |&i| &self.docs[i])
    }

    /// Whether any document of this type exists.
    pub fn has_type(&self, resource_type: &str) -> bool {
        self.by_type.contains_key(resource_type)
    }

    /// The recorded collection errors.
    pub fn collection_errors(&self) -> &[CollectionError] {
        &self.errors
    }

    /// Distinct accounts (subscriptions, tenants) of one provider, sorted.
    pub fn accounts(&self, provider: Provider) -> Vec<String> {
        let prefix = format!("{}.", provider.as_str());
        let mut set: BTreeSet<&String> = BTreeSet::new();
        for (t, accounts) in &self.accounts_by_type {
            if t.starts_with(&prefix) {
                set.extend(accounts);
            }
        }
        for e in self.errors.iter().filter(|e| e.provider == provider) {
            set.insert(&e.account);
        }
        set.into_iter().cloned().collect()
    }

    /// Accounts that have documents of each type, by type.
    pub fn accounts_by_type(&self) -> &HashMap<String, BTreeSet<String>> {
        &self.accounts_by_type
    }

    /// Non-global regions any document of the account is in, sorted.
    pub fn regions_of(&self, provider: Provider, account: &str) -> Vec<String> {
        self.regions_by_account
            .get(&(provider, account.to_string()))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Loads every `*.json`, `*.ndjson` and `*.jsonl` file of a directory (not recursive),
    /// in file-name order. Any malformed file fails the whole load, and so does a directory
    /// that yields no document at all ([`InventoryError::Empty`]).
    pub fn load_dir(dir: &Path) -> Result<Inventory, InventoryError> {
        let entries = fs::read_dir(dir).map_err(|source| InventoryError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = Vec::new();
        let mut others = 0usize;
        for e in entries {
            let e = e.map_err(|source| InventoryError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let p = e.path();
            if p.is_file() && file_kind(&p).is_some() {
                files.push(p);
            } else {
                others += 1;
            }
        }
        files.sort();
        let mut inv = Inventory::new();
        for f in &files {
            inv.load_file(f)?;
        }
        if inv.is_empty() {
            let reason = if !files.is_empty() {
                format!("its {} JSON file(s) hold no documents", files.len())
            } else if others > 0 {
                format!("none of its {others} entries is a .json, .ndjson or .jsonl file")
            } else {
                "the directory is empty".to_string()
            };
            return Err(InventoryError::Empty {
                path: dir.to_path_buf(),
                reason,
            });
        }
        Ok(inv)
    }

    /// Loads one file into this inventory (see [`Inventory::load_dir`] for the formats).
    pub fn load_file(&mut self, path: &Path) -> Result<(), InventoryError> {
        let text = fs::read_to_string(path).map_err(|source| InventoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        match file_kind(path) {
            Some(FileKind::Lines) => {
                for (n, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let doc: ResourceDoc =
                        serde_json::from_str(line).map_err(|source| InventoryError::Parse {
                            path: path.to_path_buf(),
                            line: n + 1,
                            source,
                        })?;
                    self.push(checked(doc, path, n + 1)?);
                }
            }
            Some(FileKind::Json) | None => {
                let value: Value =
                    serde_json::from_str(&text).map_err(|source| InventoryError::Parse {
                        path: path.to_path_buf(),
                        line: source.line(),
                        source,
                    })?;
                let items = match value {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                for item in items {
                    let doc: ResourceDoc =
                        serde_json::from_value(item).map_err(|source| InventoryError::Parse {
                            path: path.to_path_buf(),
                            line: 0,
                            source,
                        })?;
                    self.push(checked(doc, path, 0)?);
                }
            }
        }
        Ok(())
    }

    /// Writes the inventory as `inventory.ndjson` inside `dir` (created if missing).
    pub fn save_dir(&self, dir: &Path) -> Result<PathBuf, InventoryError> {
        fs::create_dir_all(dir).map_err(|source| InventoryError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("inventory.ndjson");
        let io = |source| InventoryError::Io {
            path: path.clone(),
            source,
        };
        let file = fs::File::create(&path).map_err(io)?;
        let mut w = BufWriter::new(file);
        for d in &self.docs {
            serde_json::to_writer(&mut w, d).map_err(|e| InventoryError::Io {
                path: path.clone(),
                source: e.into(),
            })?;
            w.write_all(b"\n").map_err(io)?;
        }
        w.flush().map_err(io)?;
        Ok(path)
    }
}

enum FileKind {
    Json,
    Lines,
}

fn file_kind(p: &Path) -> Option<FileKind> {
    match p.extension().and_then(|e| e.to_str()) {
        Some("json") => Some(FileKind::Json),
        Some("ndjson") | Some("jsonl") => Some(FileKind::Lines),
        _ => None,
    }
}

/// Field checks serde cannot express: the identifying strings must not be empty.
fn checked(doc: ResourceDoc, path: &Path, line: usize) -> Result<ResourceDoc, InventoryError> {
    let missing = if doc.account.is_empty() {
        Some("account")
    } else if doc.resource_type.is_empty() {
        Some("type")
    } else if doc.id.is_empty() {
        Some("id")
    } else if doc.region.is_empty() {
        Some("region")
    } else {
        None
    };
    if let Some(field) = missing {
        return Err(InventoryError::Invalid {
            path: path.to_path_buf(),
            line,
            reason: format!("empty `{field}`"),
        });
    }
    if doc.resource_type == COLLECTION_ERROR && doc.raw.get("resource_types").is_none() {
        return Err(InventoryError::Invalid {
            path: path.to_path_buf(),
            line,
            reason: "collection_error without `resource_types`".into(),
        });
    }
    Ok(doc)
}

fn parse_collection_error(doc: &ResourceDoc) -> CollectionError {
    let s = |k: &str| {
        doc.raw
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    CollectionError {
        provider: doc.provider,
        account: doc.account.clone(),
        region: doc.region.clone(),
        service: s("service"),
        resource_types: doc
            .raw
            .get("resource_types")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        resource_id: doc
            .raw
            .get("resource_id")
            .and_then(Value::as_str)
            .map(String::from),
        message: s("message"),
    }
}
