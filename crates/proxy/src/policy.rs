//! The session policy in force for one session of one application: the application's own
//! (`settings.proxy.sessionPolicy`) with what conditional access's
//! `sessionControls.cloudAppSecurity` adds, and the decisions it makes on requests and
//! responses.

use hyper::header::{HeaderMap, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use trustplane_access::CloudAppSecurityType;
use trustplane_model::{AppSessionPolicy, DownloadRule, UploadRule};

/// What the proxy enforces on a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enforcement {
    /// Every request is recorded (detection pipeline and timeline).
    pub monitor: bool,
    /// Downloads are refused; the value names the policy that says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_downloads: Option<String>,
    /// What counts as a download.
    #[serde(default)]
    pub downloads: DownloadRule,
    /// Uploads refused by type or size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_uploads: Option<UploadRule>,
    /// Path prefixes that need a recent second factor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_up_paths: Vec<String>,
}

/// Names the application's own policy in block pages and audit entries.
pub const OWN_POLICY: &str = "the application's session policy";

impl Enforcement {
    /// The application's own policy, with conditional access's control on top:
    /// `monitorOnly` and `mcasConfigured` (use the policy configured here) turn monitoring
    /// on; `blockDownloads` also blocks downloads. `ca_policies` names the policies that set
    /// the control.
    pub fn new(
        own: &AppSessionPolicy,
        ca: Option<&CloudAppSecurityType>,
        ca_policies: &[String],
    ) -> Self {
        let mut e = Enforcement {
            monitor: own.monitor,
            block_downloads: own.block_downloads.then(|| OWN_POLICY.to_string()),
            downloads: own.downloads.clone(),
            block_uploads: own.block_uploads.clone(),
            step_up_paths: own.step_up_paths.clone(),
        };
        let named = || {
            if ca_policies.is_empty() {
                "conditional access".to_string()
            } else {
                format!("conditional access: {}", ca_policies.join(", "))
            }
        };
        match ca {
            Some(CloudAppSecurityType::BlockDownloads) => {
                e.monitor = true;
                e.block_downloads = Some(named());
            }
            Some(CloudAppSecurityType::MonitorOnly | CloudAppSecurityType::McasConfigured) => {
                e.monitor = true;
            }
            _ => {}
        }
        e
    }

    /// Whether `path` is under a step-up prefix (whole segments: `/admin` covers
    /// `/admin/x`, not `/administrator`).
    pub fn needs_step_up(&self, path: &str) -> bool {
        self.step_up_paths.iter().any(|p| {
            let p = p.trim_end_matches('/');
            p.is_empty()
                || path == p
                || path
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Whether a response is a download this session may not have: an attachment, a listed
    /// MIME type, or at least the listed size.
    pub fn blocks_download(&self, headers: &HeaderMap) -> bool {
        self.block_downloads.is_some() && is_download(headers, &self.downloads)
    }

    /// Why an upload is refused, if it is: its size, its MIME type or its file name.
    pub fn upload_refusal(&self, headers: &HeaderMap, path: &str) -> Option<String> {
        let rule = self.block_uploads.as_ref()?;
        if let (Some(max), Some(len)) = (rule.max_bytes, content_length(headers)) {
            if len > max {
                return Some(format!("uploads larger than {max} bytes are not allowed"));
            }
        }
        let mime = mime_of(headers);
        if let Some(m) = mime.as_deref() {
            if rule.mime_types.iter().any(|p| mime_matches(p, m)) {
                return Some(format!("uploads of type {m} are not allowed"));
            }
        }
        let names = file_names(headers, path);
        for name in names {
            let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            if let Some(ext) = ext {
                if rule
                    .extensions
                    .iter()
                    .any(|x| x.trim_start_matches('.').eq_ignore_ascii_case(&ext))
                {
                    return Some(format!("uploads of .{ext} files are not allowed"));
                }
            }
        }
        None
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn mime_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty())
}

/// `type/sub` against a pattern `type/sub` or `type/*`.
fn mime_matches(pattern: &str, mime: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    match pattern.strip_suffix("/*") {
        Some(top) => mime.split('/').next() == Some(top),
        None => pattern == mime,
    }
}

/// A response is a download when it is an attachment, of a listed type, or large enough.
pub fn is_download(headers: &HeaderMap, rule: &DownloadRule) -> bool {
    let attachment = headers
        .get(CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("attachment"))
        })
        // A disposition that is not text is treated as an attachment rather than trusted.
        || headers
            .get(CONTENT_DISPOSITION)
            .is_some_and(|v| v.to_str().is_err());
    if attachment {
        return true;
    }
    if let Some(m) = mime_of(headers) {
        if rule.mime_types.iter().any(|p| mime_matches(p, &m)) {
            return true;
        }
    }
    matches!((rule.min_bytes, content_length(headers)), (Some(min), Some(len)) if len >= min)
}

/// File names an upload names: `X-File-Name`, a `filename=` in `Content-Disposition`, and the
/// last path segment of a `PUT`.
fn file_names(headers: &HeaderMap, path: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(v) = headers.get("x-file-name").and_then(|v| v.to_str().ok()) {
        names.push(v.to_string());
    }
    if let Some(v) = headers
        .get(CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
    {
        names.extend(disposition_file_name(v));
    }
    if let Some(last) = path.rsplit('/').next().filter(|s| s.contains('.')) {
        names.push(last.to_string());
    }
    names
}

/// The `filename` (or `filename*`) of a `Content-Disposition` value, unquoted.
pub fn disposition_file_name(v: &str) -> Option<String> {
    v.split(';').find_map(|p| {
        let (k, val) = p.trim().split_once('=')?;
        let k = k.trim().to_ascii_lowercase();
        if k != "filename" && k != "filename*" {
            return None;
        }
        let val = val.trim().trim_matches('"');
        // RFC 5987: charset'lang'value; the extension is what matters.
        Some(val.rsplit('\'').next().unwrap_or(val).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn conditional_access_adds_to_the_own_policy() {
        let own = AppSessionPolicy::default();
        let none = Enforcement::new(&own, None, &[]);
        assert!(!none.monitor && none.block_downloads.is_none());
        let block = Enforcement::new(
            &own,
            Some(&CloudAppSecurityType::BlockDownloads),
            &["Untrusted".into()],
        );
        assert!(block.monitor);
        assert_eq!(
            block.block_downloads.as_deref(),
            Some("conditional access: Untrusted")
        );
        let monitor = Enforcement::new(&own, Some(&CloudAppSecurityType::MonitorOnly), &[]);
        assert!(monitor.monitor && monitor.block_downloads.is_none());
    }

    #[test]
    fn downloads_by_disposition_type_and_size() {
        let rule = DownloadRule {
            mime_types: vec!["application/pdf".into(), "application/vnd.*".into()],
            min_bytes: Some(1000),
        };
        assert!(is_download(
            &headers(&[("content-disposition", "Attachment; filename=\"a.txt\"")]),
            &rule
        ));
        assert!(is_download(
            &headers(&[("content-type", "application/pdf; x=1")]),
            &rule
        ));
        assert!(is_download(&headers(&[("content-length", "1000")]), &rule));
        assert!(!is_download(
            &headers(&[("content-type", "text/html"), ("content-length", "999")]),
            &rule
        ));
        assert!(!is_download(
            &headers(&[("content-disposition", "inline")]),
            &rule
        ));
    }

    #[test]
    fn uploads_by_size_type_and_name() {
        let e = Enforcement {
            block_uploads: Some(UploadRule {
                extensions: vec!["exe".into()],
                mime_types: vec!["application/x-msdownload".into()],
                max_bytes: Some(100),
            }),
            ..Default::default()
        };
        assert!(e
            .upload_refusal(&headers(&[("content-length", "101")]), "/up")
            .is_some());
        assert!(e
            .upload_refusal(&headers(&[("x-file-name", "setup.EXE")]), "/up")
            .is_some());
        assert!(e.upload_refusal(&headers(&[]), "/files/tool.exe").is_some());
        assert!(e
            .upload_refusal(&headers(&[("content-length", "10")]), "/files/notes.txt")
            .is_none());
    }

    #[test]
    fn step_up_prefixes_match_whole_segments() {
        let e = Enforcement {
            step_up_paths: vec!["/admin".into()],
            ..Default::default()
        };
        assert!(e.needs_step_up("/admin"));
        assert!(e.needs_step_up("/admin/users"));
        assert!(!e.needs_step_up("/administrator"));
    }
}
