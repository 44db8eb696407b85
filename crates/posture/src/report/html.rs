//! A self-contained HTML report: inline CSS, no scripts, no external assets; every value
//! from the inventory or the benchmark files is HTML-escaped.

use std::fmt::Write as _;

use super::{control_summaries, section_scores};
use crate::engine::Assessment;
use crate::finding::Status;

/// At most this many FAIL / ERROR findings are listed one by one; a page with millions of
/// rows helps nobody, and the totals above stay exact.
pub const HTML_FINDINGS_LIMIT: usize = 5_000;

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0;width:100%}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}\
th{background:#f3f3f3}.PASS{color:#176f2c}.FAIL{color:#b00020;font-weight:bold}\
.MANUAL{color:#555}.ERROR{color:#b35c00;font-weight:bold}code{font-size:12px;word-break:break-all}";

/// Renders the report. `title` is escaped like everything else.
pub fn render_html(a: &Assessment, title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = escape(title)
    );
    let count = |s: Status| a.findings.iter().filter(|f| f.status == s).count();
    let _ = write!(
        h,
        "<p>{} findings: <span class=\"FAIL\">{} FAIL</span>, <span class=\"PASS\">{} PASS</span>, <span class=\"ERROR\">{} ERROR</span>, <span class=\"MANUAL\">{} MANUAL</span></p>",
        a.findings.len(),
        count(Status::Fail),
        count(Status::Pass),
        count(Status::Error),
        count(Status::Manual)
    );
    h.push_str("<h2>Compliance by section</h2><table><tr><th>Benchmark</th><th>Section</th><th>Score</th><th>Pass</th><th>Fail</th><th>Error</th><th>Manual</th></tr>");
    for s in section_scores(a) {
        let score = s
            .score
            .map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.benchmark_label), escape(&s.section), score, s.passed, s.failed, s.error, s.manual
        );
    }
    h.push_str("</table><h2>Controls</h2><table><tr><th>Benchmark</th><th>Control</th><th>Title</th><th>Status</th><th>Pass</th><th>Fail</th><th>Remediation</th></tr>");
    for c in control_summaries(a) {
        // Remediation text only where something failed; <details> needs no script.
        let remediation = if c.status == Status::Fail && !c.remediation.is_empty() {
            format!(
                "<details><summary>how to fix</summary>{}</details>",
                escape(&c.remediation)
            )
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.benchmark),
            escape(&c.id),
            escape(&c.title),
            c.passed,
            c.failed,
            remediation,
            st = c.status.as_str()
        );
    }
    h.push_str("</table><h2>Failed and errored findings</h2><table><tr><th>Status</th><th>Severity</th><th>Controls</th><th>Check</th><th>Resource</th><th>Message</th><th>Evidence</th></tr>");
    let bad = a
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error));
    let total_bad = bad.clone().count();
    for f in bad.take(HTML_FINDINGS_LIMIT) {
        let controls: Vec<String> = f
            .controls
            .iter()
            .map(|c| format!("{} {}", c.benchmark_label, c.id))
            .collect();
        let _ = write!(
            h,
            "<tr><td class=\"{st}\">{st}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<br><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
            f.severity.as_str(),
            escape(&controls.join(", ")),
            escape(&f.check_id),
            escape(&f.resource.resource_type),
            escape(&format!("{}/{}/{}", f.resource.account, f.resource.region, f.resource.id)),
            escape(&f.message),
            escape(f.evidence.as_json()),
            st = f.status.as_str()
        );
    }
    h.push_str("</table>");
    if total_bad > HTML_FINDINGS_LIMIT {
        let _ = write!(
            h,
            "<p>{} more failed or errored findings are in the JSON and CSV outputs.</p>",
            total_bad - HTML_FINDINGS_LIMIT
        );
    }
    h.push_str("</body></html>\n");
    h
}
