//! A self-contained HTML report: inline CSS, inline SVG charts and a small inline script for
//! the findings filters; no external assets. Every value from the inventory or the benchmark
//! files is HTML-escaped, and remediation Markdown is rendered (see `markdown`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{control_summaries, markdown, section_key, section_scores};
use crate::engine::Assessment;
use crate::finding::{Finding, Severity, Status};
use crate::inventory::GLOBAL;

/// At most this many findings are listed one by one (FAIL and ERROR first); a page with
/// millions of rows helps nobody, and the totals above stay exact.
pub const HTML_FINDINGS_LIMIT: usize = 5_000;

/// What the report says about the scan itself, beside its findings.
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    /// Page title.
    pub title: String,
    /// When the scan ran, as Unix seconds (UTC); `None` leaves the date out.
    pub scanned_at: Option<i64>,
    /// The scanner's version.
    pub version: String,
    /// Where the inventory came from (`AWS`, `saved inventory scan-2026-11-28`).
    pub source: String,
    /// Why the scan failed, when it did: the page then says so instead of showing scores.
    pub failure: Option<String>,
}

impl ReportMeta {
    /// A title and this crate's version; no date, source or failure.
    pub fn new(title: &str) -> Self {
        ReportMeta {
            title: title.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        }
    }
}

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

const STYLE: &str = r#"
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f4f6f9;font-size:14px;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}h3{font-size:15px;margin:0 0 8px}
.meta{display:flex;flex-wrap:wrap;gap:6px 24px;color:#4a5366;margin:6px 0 16px}
.meta b{color:#1d2330;font-weight:600}
.banner{padding:12px 16px;border-radius:6px;margin:12px 0;font-weight:600;border:1px solid}
.banner.failed{background:#fdecee;border-color:#e5a3ab;color:#8a1020}
.banner.empty{background:#fff6e0;border-color:#e6c46e;color:#6b4a00}
.banner.partial{background:#fff6e0;border-color:#e6c46e;color:#6b4a00}
.banner.ok{background:#e8f5ec;border-color:#9fd1ad;color:#145a2a}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px}
.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:14px;min-width:0}
.big{font-size:30px;font-weight:700}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
svg{max-width:100%;height:auto;display:block}
svg text{font-family:inherit}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff}
th,td{border-bottom:1px solid #e3e7ee;padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef1f6;font-weight:600;font-size:13px;position:sticky;top:0}
.sev,.st{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.sev-critical{background:#7a0016;color:#fff}.sev-high{background:#d2362b;color:#fff}
.sev-medium{background:#f0a202;color:#1d2330}.sev-low{background:#f6d66b;color:#1d2330}
.sev-informational{background:#d9dee7;color:#1d2330}
.st-FAIL{background:#fdecee;color:#a0101f}.st-PASS{background:#e8f5ec;color:#17692f}
.st-ERROR{background:#fff0dc;color:#8f4a00}.st-MANUAL{background:#eef1f6;color:#4a5366}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0;background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px}
.filters input,.filters select{font:inherit;padding:5px 8px;border:1px solid #c4cbd6;border-radius:5px;background:#fff;max-width:220px}
.filters input{flex:1 1 220px;max-width:none}
.muted{color:#5b6478;font-size:12px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#eef1f6;padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f5f8;border:1px solid #e0e4ea;border-radius:5px;padding:8px;margin:6px 0;font-size:12px}
pre code{background:none;padding:0}
details{margin:4px 0}summary{cursor:pointer;color:#1f4fa8}
.remediation ol,.remediation ul{padding-left:22px;margin:4px 0}.remediation p{margin:4px 0}
.col-sev{width:92px}.col-st{width:78px}.col-check{width:26%}.col-res{width:24%}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
"#;

/// Filters the findings table by the search box and the selects; rows carry their values
/// in data attributes, so nothing is parsed out of the cells.
const SCRIPT: &str = r#"
(function(){
var q=document.getElementById('q'),sels=document.querySelectorAll('.filters select'),
rows=document.querySelectorAll('#findings tbody tr'),shown=document.getElementById('shown');
function apply(){var t=q.value.trim().toLowerCase(),n=0;
rows.forEach(function(r){var ok=!t||r.textContent.toLowerCase().indexOf(t)>=0;
sels.forEach(function(s){if(s.value&&r.dataset[s.name]!==s.value)ok=false;});
r.hidden=!ok;if(ok)n++;});shown.textContent=n;}
q.addEventListener('input',apply);sels.forEach(function(s){s.addEventListener('change',apply);});
document.querySelectorAll('details.fix').forEach(function(d){d.addEventListener('toggle',function(){
var box=d.querySelector('.remediation');if(box.childElementCount)return;
d.dataset.rem.split(' ').forEach(function(k){var t=document.getElementById('rem-'+k);
if(t)box.appendChild(t.content.cloneNode(true));});});});
apply();})();
"#;

/// Renders the report with only a title (no date or source). `title` is escaped like
/// everything else.
pub fn render_html(a: &Assessment, title: &str) -> String {
    render_report(a, &ReportMeta::new(title))
}

/// Renders the report.
pub fn render_report(a: &Assessment, meta: &ReportMeta) -> String {
    let mut h = String::with_capacity(64 * 1024 + a.findings.len().min(HTML_FINDINGS_LIMIT) * 600);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head><body><main><h1>{t}</h1>",
        t = escape(&meta.title)
    );
    let accounts: BTreeSet<&str> = a
        .findings
        .iter()
        .map(|f| f.resource.account.as_str())
        .collect();
    let regions: BTreeSet<&str> = a
        .findings
        .iter()
        .map(|f| f.resource.region.as_str())
        .filter(|r| *r != GLOBAL)
        .collect();
    write_meta(&mut h, a, meta, &accounts, &regions);

    let count = |s: Status| a.findings.iter().filter(|f| f.status == s).count();
    let (pass, fail, error, manual) = (
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Manual),
    );
    if let Some(why) = &meta.failure {
        let _ = write!(
            h,
            "<div class=\"banner failed\" id=\"scan-state\" data-state=\"failed\">Scan failed: {}. Nothing below is a result.</div>",
            escape(why)
        );
    } else if pass + fail == 0 {
        let _ = write!(
            h,
            "<div class=\"banner empty\" id=\"scan-state\" data-state=\"empty\">Nothing was assessed: no check found a resource to judge ({} error, {} manual findings). This is not a clean result.</div>",
            error, manual
        );
    } else if error > 0 {
        let _ = write!(
            h,
            "<div class=\"banner partial\" id=\"scan-state\" data-state=\"partial\">Partial scan: {error} findings are ERROR because data could not be collected; the scores leave them out.</div>"
        );
    } else {
        h.push_str("<div class=\"banner ok\" id=\"scan-state\" data-state=\"complete\">Every automated check ran.</div>");
    }

    if meta.failure.is_none() && !a.findings.is_empty() {
        write_summary(&mut h, a, pass, fail, error, manual);
        write_charts(&mut h, a, &accounts);
        write_findings(&mut h, a);
        write_controls(&mut h, a);
    }
    h.push_str("</main><script>");
    if meta.failure.is_none() && !a.findings.is_empty() {
        h.push_str(SCRIPT);
    }
    h.push_str("</script></body></html>\n");
    h
}

fn write_meta(
    h: &mut String,
    a: &Assessment,
    meta: &ReportMeta,
    accounts: &BTreeSet<&str>,
    regions: &BTreeSet<&str>,
) {
    h.push_str("<div class=\"meta\">");
    if let Some(t) = meta
        .scanned_at
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
    {
        let _ = write!(
            h,
            "<span>Scanned <b id=\"scan-date\">{:04}-{:02}-{:02} {:02}:{:02} UTC</b></span>",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        );
    }
    if !meta.source.is_empty() {
        let _ = write!(h, "<span>Source <b>{}</b></span>", escape(&meta.source));
    }
    let list = |items: &BTreeSet<&str>| {
        let shown: Vec<String> = items.iter().take(12).map(|s| escape(s)).collect();
        let more = items.len().saturating_sub(12);
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else if shown.is_empty() {
            "none".into()
        } else {
            shown.join(", ")
        }
    };
    let _ = write!(
        h,
        "<span>Accounts ({}) <b id=\"scan-accounts\">{}</b></span><span>Regions ({}) <b id=\"scan-regions\">{}</b></span>",
        accounts.len(),
        list(accounts),
        regions.len(),
        list(regions)
    );
    let benchmarks: Vec<String> = a.benchmarks.iter().map(|(_, l)| escape(l)).collect();
    let _ = write!(
        h,
        "<span>Benchmarks <b>{}</b></span><span>Trustplane <b id=\"scan-version\">{}</b></span></div>",
        if benchmarks.is_empty() { "none".to_string() } else { benchmarks.join(", ") },
        escape(&meta.version)
    );
}

fn pct(passed: usize, failed: usize) -> Option<f64> {
    let total = passed + failed;
    (total > 0).then(|| passed as f64 / total as f64)
}

/// Score colour: red below 50 %, amber below 80 %, green above.
fn colour(score: Option<f64>) -> &'static str {
    match score {
        None => "#c4cbd6",
        Some(x) if x < 0.5 => "#d2362b",
        Some(x) if x < 0.8 => "#f0a202",
        Some(_) => "#2e9d52",
    }
}

fn write_summary(
    h: &mut String,
    a: &Assessment,
    pass: usize,
    fail: usize,
    error: usize,
    manual: usize,
) {
    let score = pct(pass, fail);
    h.push_str("<div class=\"cards\">");
    // Donut: the passed share of PASS + FAIL.
    let r = 42.0;
    let circ = 2.0 * std::f64::consts::PI * r;
    let done = score.unwrap_or(0.0) * circ;
    let _ = write!(
        h,
        "<div class=\"card\"><h3>Overall score</h3><svg viewBox=\"0 0 220 100\" width=\"220\" role=\"img\" aria-label=\"overall score\"><circle cx=\"50\" cy=\"50\" r=\"{r}\" fill=\"none\" stroke=\"#e3e7ee\" stroke-width=\"14\"/><circle cx=\"50\" cy=\"50\" r=\"{r}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"14\" stroke-dasharray=\"{done:.1} {circ:.1}\" transform=\"rotate(-90 50 50)\"/><text x=\"50\" y=\"56\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"700\">{s}</text><text x=\"110\" y=\"40\" font-size=\"12\" fill=\"#17692f\">{pass} pass</text><text x=\"110\" y=\"60\" font-size=\"12\" fill=\"#a0101f\">{fail} fail</text><text x=\"110\" y=\"80\" font-size=\"11\" fill=\"#5b6478\">of PASS + FAIL</text></svg></div>",
        c = colour(score),
        s = score.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "n/a".into()),
    );
    let _ = write!(
        h,
        "<div class=\"card\"><h3>Findings</h3><div class=\"big\">{}</div><div><span class=\"st st-FAIL\">{fail} FAIL</span> <span class=\"st st-PASS\">{pass} PASS</span> <span class=\"st st-ERROR\">{error} ERROR</span> <span class=\"st st-MANUAL\">{manual} MANUAL</span></div></div>",
        a.findings.len()
    );
    // Failed findings by severity, as bars.
    let sevs = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ];
    let by_sev: Vec<usize> = sevs
        .iter()
        .map(|s| {
            a.findings
                .iter()
                .filter(|f| f.status == Status::Fail && f.severity == *s)
                .count()
        })
        .collect();
    let max = by_sev.iter().copied().max().unwrap_or(0).max(1);
    h.push_str("<div class=\"card\"><h3>Failed by severity</h3><svg viewBox=\"0 0 300 110\" width=\"300\" role=\"img\" aria-label=\"failed findings by severity\">");
    let fills = ["#7a0016", "#d2362b", "#f0a202", "#f6d66b", "#c4cbd6"];
    for (n, (s, c)) in sevs.iter().zip(&by_sev).enumerate() {
        let y = 4 + n * 21;
        let w = 170.0 * *c as f64 / max as f64;
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"92\" y=\"{y}\" width=\"{w:.1}\" height=\"15\" rx=\"2\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{c}</text>",
            y + 12,
            s.as_str(),
            fills[n],
            96.0 + w,
            y + 12
        );
    }
    h.push_str("</svg></div></div>");
}

/// Horizontal bar chart: one row per (label, passed, failed, error).
fn bar_chart(h: &mut String, label: &str, rows: &[(String, usize, usize, usize)]) {
    let row_h = 24;
    let height = rows.len() * row_h + 8;
    let _ = write!(
        h,
        "<svg viewBox=\"0 0 620 {height}\" width=\"620\" role=\"img\" aria-label=\"{}\">",
        escape(label)
    );
    for (n, (name, passed, failed, error)) in rows.iter().enumerate() {
        let y = 4 + n * row_h;
        let score = pct(*passed, *failed);
        let short: String = if name.chars().count() > 30 {
            format!("{}…", name.chars().take(29).collect::<String>())
        } else {
            name.clone()
        };
        let w = 200.0 * score.unwrap_or(0.0);
        let text = match score {
            Some(x) => format!("{:.0}% · {passed}/{}", x * 100.0, passed + failed),
            None => "n/a".into(),
        };
        let err = if *error > 0 {
            format!(" · {error} error")
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<g><title>{full}: {text}{err}</title><text x=\"0\" y=\"{ty}\" font-size=\"12\">{short}</text><rect x=\"210\" y=\"{y}\" width=\"200\" height=\"16\" rx=\"3\" fill=\"#e3e7ee\"/><rect x=\"210\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" rx=\"3\" fill=\"{c}\"/><text x=\"416\" y=\"{ty}\" font-size=\"12\">{text}{err}</text></g>",
            full = escape(name),
            short = escape(&short),
            ty = y + 12,
            c = colour(score),
        );
    }
    h.push_str("</svg>");
}

fn write_charts(h: &mut String, a: &Assessment, accounts: &BTreeSet<&str>) {
    let scores = section_scores(a);
    // (benchmark, account) -> section -> counts, from the findings themselves.
    type Counts = (usize, usize, usize);
    let mut per_account: BTreeMap<(&str, &str), (usize, usize, usize)> = BTreeMap::new();
    let mut cells: BTreeMap<(&str, (u32, String), &str), Counts> = BTreeMap::new();
    for f in &a.findings {
        for c in f.controls.iter() {
            let bump = |e: &mut Counts| match f.status {
                Status::Pass => e.0 += 1,
                Status::Fail => e.1 += 1,
                Status::Error => e.2 += 1,
                Status::Manual => {}
            };
            bump(
                per_account
                    .entry((c.benchmark.as_str(), f.resource.account.as_str()))
                    .or_default(),
            );
            bump(
                cells
                    .entry((
                        c.benchmark.as_str(),
                        section_key(&c.section),
                        f.resource.account.as_str(),
                    ))
                    .or_default(),
            );
        }
    }
    h.push_str("<h2>Compliance by benchmark</h2>");
    for (key, label) in &a.benchmarks {
        let sections: Vec<(String, usize, usize, usize)> = scores
            .iter()
            .filter(|s| &s.benchmark == key && s.passed + s.failed + s.error > 0)
            .map(|s| (s.section.clone(), s.passed, s.failed, s.error))
            .collect();
        if sections.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<div class=\"card\" data-benchmark=\"{}\" style=\"margin-bottom:12px\"><h3>{}</h3><div class=\"grid2\"><div><div class=\"muted\">Score per section (PASS of PASS + FAIL)</div>",
            escape(key),
            escape(label)
        );
        bar_chart(h, &format!("{label} score per section"), &sections);
        h.push_str("</div><div><div class=\"muted\">Score per account</div>");
        let rows: Vec<(String, usize, usize, usize)> = per_account
            .iter()
            .filter(|((b, _), _)| b == key)
            .map(|((_, acc), (p, f, e))| (acc.to_string(), *p, *f, *e))
            .collect();
        bar_chart(h, &format!("{label} score per account"), &rows);
        h.push_str("</div></div>");
        // Section x account: a table of coloured cells, only when there is more than one
        // account to compare; wide account lists wrap into the cell text.
        let accs: Vec<&str> = rows
            .iter()
            .map(|r| r.0.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let accs: Vec<&str> = accs.into_iter().filter(|x| accounts.contains(x)).collect();
        if accs.len() > 1 && accs.len() <= 12 {
            h.push_str("<details><summary>Score per section and account</summary><table class=\"matrix\"><thead><tr><th>Section</th>");
            for acc in &accs {
                let _ = write!(h, "<th>{}</th>", escape(acc));
            }
            h.push_str("</tr></thead><tbody>");
            for s in &sections {
                let _ = write!(h, "<tr><td>{}</td>", escape(&s.0));
                for acc in &accs {
                    let c = cells
                        .get(&(key.as_str(), section_key(&s.0), *acc))
                        .copied()
                        .unwrap_or_default();
                    let score = pct(c.0, c.1);
                    let _ = write!(
                        h,
                        "<td style=\"background:{}22\">{}</td>",
                        colour(score),
                        score
                            .map(|x| format!("{:.0}% ({}/{})", x * 100.0, c.0, c.0 + c.1))
                            .unwrap_or_else(|| "n/a".into())
                    );
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table></details>");
        }
        h.push_str("</div>");
    }
}

/// The service a finding is about: the check's prefix (`iam`, `s3`, `keyvault`), as the
/// checks are named by service.
fn service(f: &Finding) -> &str {
    if f.check_id.as_ref() == "manual" {
        return "manual";
    }
    f.check_id.split('_').next().unwrap_or("")
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Pass => 2,
        Status::Manual => 3,
    }
}

/// A key for one benchmark requirement, safe in an element id.
fn control_key(benchmark: &str, id: &str) -> String {
    format!("{benchmark}-{id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_findings(h: &mut String, a: &Assessment) {
    let mut order: Vec<&Finding> = a.findings.iter().collect();
    // FAIL and ERROR before PASS and MANUAL, then the most severe first: what needs work
    // is on top, and the listing limit cuts passes first.
    order.sort_by(|x, y| {
        let bad = |f: &Finding| !matches!(f.status, Status::Fail | Status::Error);
        (
            bad(x),
            std::cmp::Reverse(x.severity),
            status_rank(x.status),
            &x.check_id,
            &x.resource.id,
        )
            .cmp(&(
                bad(y),
                std::cmp::Reverse(y.severity),
                status_rank(y.status),
                &y.check_id,
                &y.resource.id,
            ))
    });
    let listed = &order[..order.len().min(HTML_FINDINGS_LIMIT)];
    let options = |vals: BTreeSet<&str>| {
        vals.into_iter()
            .map(|v| format!("<option value=\"{0}\">{0}</option>", escape(v)))
            .collect::<String>()
    };
    let _ = write!(
        h,
        "<h2>Findings</h2><div class=\"filters\"><input id=\"q\" type=\"search\" placeholder=\"Search checks, resources, messages\" aria-label=\"search\">\
<select name=\"status\" aria-label=\"status\"><option value=\"\">Any status</option>{}</select>\
<select name=\"severity\" aria-label=\"severity\"><option value=\"\">Any severity</option>{}</select>\
<select name=\"service\" aria-label=\"service\"><option value=\"\">Any service</option>{}</select>\
<select name=\"account\" aria-label=\"account\"><option value=\"\">Any account</option>{}</select>\
<select name=\"region\" aria-label=\"region\"><option value=\"\">Any region</option>{}</select>\
<span class=\"muted\"><span id=\"shown\">{}</span> of {} shown</span></div>",
        options(["FAIL", "ERROR", "PASS", "MANUAL"].into_iter().filter(|s| listed.iter().any(|f| f.status.as_str() == *s)).collect()),
        {
            // Most severe first, not alphabetical.
            let mut s: Vec<Severity> = listed.iter().map(|f| f.severity).collect::<BTreeSet<_>>().into_iter().collect();
            s.reverse();
            s.iter().map(|v| format!("<option value=\"{0}\">{0}</option>", v.as_str())).collect::<String>()
        },
        options(listed.iter().map(|f| service(f)).collect()),
        options(listed.iter().map(|f| f.resource.account.as_str()).collect()),
        options(listed.iter().map(|f| f.resource.region.as_str()).collect()),
        listed.len(),
        listed.len()
    );
    if order.len() > listed.len() {
        let _ = write!(
            h,
            "<p class=\"muted\">The first {} of {} findings are listed (failed and errored first); all of them are in the JSON and CSV outputs.</p>",
            listed.len(),
            order.len()
        );
    }
    h.push_str("<table id=\"findings\"><colgroup><col class=\"col-sev\"><col class=\"col-st\"><col class=\"col-check\"><col class=\"col-res\"><col></colgroup><thead><tr><th>Severity</th><th>Status</th><th>Check</th><th>Resource</th><th>Details</th></tr></thead><tbody>");
    for f in listed {
        let controls: Vec<String> = f
            .controls
            .iter()
            .map(|c| format!("{} {}", c.benchmark_label, c.id))
            .collect();
        let title = f
            .controls
            .first()
            .map(|c| c.title.as_str())
            .unwrap_or(f.check_id.as_ref());
        let _ = write!(
            h,
            "<tr data-status=\"{st}\" data-severity=\"{sev}\" data-service=\"{svc}\" data-account=\"{acc}\" data-region=\"{reg}\"><td><span class=\"sev sev-{sev}\">{sev}</span></td><td><span class=\"st st-{st}\">{st}</span></td><td>{title}<div class=\"muted\"><code>{check}</code> · {controls}</div></td><td>{name}<div class=\"muted\">{rtype} · {acc} · {reg}</div></td><td>{msg}",
            st = f.status.as_str(),
            sev = f.severity.as_str(),
            svc = escape(service(f)),
            acc = escape(&f.resource.account),
            reg = escape(&f.resource.region),
            title = escape(title),
            check = escape(&f.check_id),
            controls = escape(&controls.join(", ")),
            name = escape(if f.resource.name.is_empty() { &f.resource.id } else { &f.resource.name }),
            rtype = escape(&f.resource.resource_type),
            msg = escape(&f.message),
        );
        let evidence = f.evidence.as_json();
        if evidence != "null" && evidence != "{}" {
            let pretty = serde_json::from_str::<serde_json::Value>(evidence)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| evidence.to_string());
            let _ = write!(
                h,
                "<details class=\"evidence\"><summary>Evidence</summary><div class=\"muted\">{}</div><pre>{}</pre></details>",
                escape(&f.resource.id),
                escape(&pretty)
            );
        }
        if f.status == Status::Fail {
            let keys: Vec<String> = f
                .controls
                .iter()
                .filter(|c| !c.remediation.is_empty())
                .map(|c| control_key(&c.benchmark, &c.id))
                .collect();
            if !keys.is_empty() {
                // The remediation is rendered once per control (in a template below) and
                // copied in when opened: thousands of findings share a few dozen texts.
                let _ = write!(
                    h,
                    "<details class=\"fix\" data-rem=\"{}\"><summary>How to fix</summary><div class=\"remediation\"></div></details>",
                    escape(&keys.join(" "))
                );
            }
        }
        h.push_str("</td></tr>");
    }
    h.push_str("</tbody></table>");
}

fn write_controls(h: &mut String, a: &Assessment) {
    let summaries = control_summaries(a);
    let labels: BTreeMap<&str, &str> = a
        .benchmarks
        .iter()
        .map(|(k, l)| (k.as_str(), l.as_str()))
        .collect();
    h.push_str("<h2>Controls</h2><table id=\"controls\"><colgroup><col style=\"width:120px\"><col style=\"width:64px\"><col><col style=\"width:86px\"><col style=\"width:110px\"></colgroup><thead><tr><th>Benchmark</th><th>Control</th><th>Title and remediation</th><th>Status</th><th>Pass / Fail</th></tr></thead><tbody>");
    let mut templates = String::new();
    for c in &summaries {
        let rendered = if c.remediation.is_empty() {
            String::new()
        } else {
            markdown::render(&c.remediation)
        };
        let fix = if c.status == Status::Fail && !rendered.is_empty() {
            let _ = write!(
                templates,
                "<template id=\"rem-{}\"><div class=\"muted\">{} {}</div>{rendered}</template>",
                control_key(&c.benchmark, &c.id),
                escape(
                    labels
                        .get(c.benchmark.as_str())
                        .copied()
                        .unwrap_or(&c.benchmark)
                ),
                escape(&c.id)
            );
            format!("<details><summary>How to fix</summary><div class=\"remediation\">{rendered}</div></details>")
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}{fix}</td><td><span class=\"st st-{st}\">{st}</span></td><td>{} / {}</td></tr>",
            escape(labels.get(c.benchmark.as_str()).copied().unwrap_or(&c.benchmark)),
            escape(&c.id),
            escape(&c.title),
            c.passed,
            c.failed,
            st = c.status.as_str()
        );
    }
    h.push_str("</tbody></table>");
    h.push_str(&templates);
}
