//! The catalogue of cloud apps that web destinations are matched against: shipped as data
//! (`data/catalog.json`, source and licence in `data/README.md`), extended or overridden by
//! an administrator's file of the same shape.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::DiscoveryError;

const BUILTIN: &str = include_str!("../data/catalog.json");

/// Most apps one catalogue (built-in plus extensions) may hold.
pub const MAX_CATALOG_APPS: usize = 100_000;
/// Largest catalogue file read.
pub const MAX_CATALOG_BYTES: u64 = 32 * 1024 * 1024;

/// How risky unsanctioned use of an app is, in the catalogue authors' judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogRisk {
    /// Little harm expected.
    Low,
    /// Some harm expected.
    Medium,
    /// Data is likely to leave (file sharing, generative AI, anonymous messaging).
    High,
}

/// One app of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogApp {
    /// Stable id; discovered web apps are `web:<id>`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Category (file sharing, messaging, ...).
    pub category: String,
    /// Domains served by the app.
    pub domains: Vec<String>,
    /// Risk of unsanctioned use.
    pub risk: CatalogRisk,
    /// Certifications the vendor states publicly.
    #[serde(default)]
    pub certifications: Vec<String>,
    /// Single sign-on protocols offered (`saml`, `oidc`).
    #[serde(default)]
    pub sso: Vec<String>,
    /// Whether the app offers multi-factor sign-in.
    #[serde(default)]
    pub mfa: bool,
    /// Its sign-in address.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Deserialize)]
struct CatalogFile {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    licence: Option<String>,
    apps: Vec<CatalogApp>,
}

/// A loaded catalogue, indexed by domain.
#[derive(Debug, Clone)]
pub struct Catalog {
    apps: Vec<CatalogApp>,
    by_domain: HashMap<String, usize>,
}

impl Catalog {
    /// The catalogue shipped with Trustplane.
    pub fn builtin() -> Result<Catalog, DiscoveryError> {
        let mut c = Catalog {
            apps: Vec::new(),
            by_domain: HashMap::new(),
        };
        c.extend_from_str(BUILTIN, Path::new("builtin"))?;
        Ok(c)
    }

    /// Adds (or replaces, by id) the apps of a catalogue file.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), DiscoveryError> {
        let io = |error| DiscoveryError::Io {
            path: path.to_path_buf(),
            error,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_CATALOG_BYTES {
            return Err(DiscoveryError::Catalog {
                path: path.to_path_buf(),
                reason: format!("larger than {MAX_CATALOG_BYTES} bytes"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        self.extend_from_str(&text, path)
    }

    /// Adds (or replaces, by id) the apps of catalogue text.
    pub fn extend_from_str(&mut self, text: &str, path: &Path) -> Result<(), DiscoveryError> {
        let bad = |reason: String| DiscoveryError::Catalog {
            path: path.to_path_buf(),
            reason,
        };
        let file: CatalogFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        for mut app in file.apps {
            if app.id.trim().is_empty() || app.name.trim().is_empty() {
                return Err(bad("an app without `id` or `name`".into()));
            }
            app.domains = app
                .domains
                .iter()
                .map(|d| d.trim().trim_start_matches("*.").to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect();
            if app.domains.is_empty() {
                return Err(bad(format!("app `{}` has no domains", app.id)));
            }
            match self.apps.iter().position(|a| a.id == app.id) {
                Some(i) => self.apps[i] = app,
                None => {
                    if self.apps.len() >= MAX_CATALOG_APPS {
                        return Err(bad(format!("more than {MAX_CATALOG_APPS} apps")));
                    }
                    self.apps.push(app);
                }
            }
        }
        self.reindex();
        Ok(())
    }

    fn reindex(&mut self) {
        self.by_domain.clear();
        for (i, app) in self.apps.iter().enumerate() {
            for d in &app.domains {
                self.by_domain.insert(d.clone(), i);
            }
        }
    }

    /// Every app.
    pub fn apps(&self) -> &[CatalogApp] {
        &self.apps
    }

    /// The app serving `host` (already lowercase, without port): the longest domain that
    /// equals the host or of which the host is a subdomain.
    pub fn lookup(&self, host: &str) -> Option<&CatalogApp> {
        let mut rest = host.trim_end_matches('.');
        loop {
            if let Some(&i) = self.by_domain.get(rest) {
                return self.apps.get(i);
            }
            match rest.find('.') {
                Some(dot) => rest = &rest[dot + 1..],
                None => return None,
            }
        }
    }

    /// An app by id.
    pub fn get(&self, id: &str) -> Option<&CatalogApp> {
        self.apps.iter().find(|a| a.id == id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn builtin_is_consistent() {
        let c = Catalog::builtin().unwrap();
        assert!(c.apps().len() >= 40);
        let mut ids = std::collections::HashSet::new();
        let mut domains = HashMap::new();
        for a in c.apps() {
            assert!(ids.insert(a.id.clone()), "duplicate id {}", a.id);
            for d in &a.domains {
                if let Some(other) = domains.insert(d.clone(), a.id.clone()) {
                    panic!("{d} claimed by {other} and {}", a.id);
                }
            }
        }
    }

    #[test]
    fn longest_domain_wins_and_subdomains_match() {
        let c = Catalog::builtin().unwrap();
        assert_eq!(c.lookup("www.dropbox.com").unwrap().id, "dropbox");
        assert_eq!(c.lookup("dropbox.com").unwrap().id, "dropbox");
        assert!(c.lookup("notdropbox.com").is_none());
        assert!(c.lookup("com").is_none());
        // drive.google.com is Google Drive, gemini.google.com Gemini, google.com nothing.
        assert_eq!(c.lookup("drive.google.com").unwrap().id, "google-drive");
        assert_eq!(c.lookup("gemini.google.com").unwrap().id, "gemini");
        assert!(c.lookup("www.google.com").is_none());
    }

    #[test]
    fn extension_overrides_and_adds() {
        let mut c = Catalog::builtin().unwrap();
        let n = c.apps().len();
        c.extend_from_str(
            r#"{"apps":[{"id":"dropbox","name":"Dropbox (ours)","category":"File sharing","domains":["dropbox.com"],"risk":"low"},
                {"id":"intranet","name":"Intranet","category":"Internal","domains":["*.Corp.Example"],"risk":"low"}]}"#,
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.apps().len(), n + 1);
        assert_eq!(c.lookup("a.corp.example").unwrap().id, "intranet");
        assert_eq!(c.lookup("www.dropbox.com").unwrap().name, "Dropbox (ours)");
        // The overriding entry dropped dropboxapi.com.
        assert!(c.lookup("api.dropboxapi.com").is_none());
        for bad in [
            r#"{"apps":[{"id":"","name":"x","category":"c","domains":["a.b"],"risk":"low"}]}"#,
            r#"{"apps":[{"id":"a","name":"x","category":"c","domains":[],"risk":"low"}]}"#,
            r#"{"apps":[{"id":"a","name":"x","category":"c","domains":["a.b"],"risk":"extreme"}]}"#,
            r#"{"apps":[{"id":"a","name":"x","category":"c","domains":["a.b"],"risk":"low","extra":1}]}"#,
            "not json",
        ] {
            assert!(c.extend_from_str(bad, Path::new("bad")).is_err(), "{bad}");
        }
    }
}
