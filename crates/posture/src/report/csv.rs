//! CSV: one row per finding and control (a finding without controls gets one row).

use std::io::{self, Write};

use crate::engine::Assessment;
use crate::finding::Finding;

const HEADER: [&str; 14] = [
    "benchmark",
    "control",
    "section",
    "check_id",
    "status",
    "severity",
    "provider",
    "account",
    "region",
    "resource_type",
    "resource_id",
    "resource_name",
    "message",
    "evidence",
];

/// Quotes a field when it holds a separator, quote or line break (RFC 4180). Fields that a
/// spreadsheet would run as a formula get a leading apostrophe.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn row(w: &mut impl Write, cols: &[&str]) -> io::Result<()> {
    let line: Vec<String> = cols.iter().map(|c| field(c)).collect();
    w.write_all(line.join(",").as_bytes())?;
    w.write_all(b"\r\n")
}

fn finding_rows(w: &mut impl Write, f: &Finding) -> io::Result<()> {
    let ev = f.evidence.as_json().to_string();
    let base = |bench: &str, ctrl: &str, sect: &str| {
        [
            bench.to_string(),
            ctrl.to_string(),
            sect.to_string(),
            f.check_id.to_string(),
            f.status.as_str().to_string(),
            f.severity.as_str().to_string(),
            f.resource.provider.as_str().to_string(),
            f.resource.account.clone(),
            f.resource.region.clone(),
            f.resource.resource_type.clone(),
            f.resource.id.clone(),
            f.resource.name.clone(),
            f.message.to_string(),
            ev.clone(),
        ]
    };
    if f.controls.is_empty() {
        let r = base("", "", "");
        return row(w, &r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    for c in f.controls.iter() {
        let r = base(&c.benchmark, &c.id, &c.section);
        row(w, &r.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// Writes the findings as CSV with a header row.
pub fn write_csv(a: &Assessment, w: &mut impl Write) -> io::Result<()> {
    row(w, &HEADER)?;
    for f in &a.findings {
        finding_rows(w, f)?;
    }
    Ok(())
}
