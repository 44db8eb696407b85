//! OCSF output: one Compliance Finding (class 2003) per finding.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::engine::Assessment;
use crate::finding::{Finding, Status};

/// OCSF schema version the objects follow.
pub const OCSF_VERSION: &str = "1.3.0";

fn compliance_status(s: Status) -> (u8, &'static str) {
    match s {
        Status::Pass => (1, "Pass"),
        Status::Fail => (3, "Fail"),
        Status::Manual => (99, "Manual"),
        Status::Error => (99, "Error"),
    }
}

/// One OCSF Compliance Finding. `time_ms` is the assessment time.
pub fn ocsf_finding(f: &Finding, time_ms: i64) -> Value {
    let (status_id, status) = compliance_status(f.status);
    let mut standards: Vec<&str> = f
        .controls
        .iter()
        .map(|c| c.benchmark_label.as_str())
        .collect();
    standards.dedup();
    let requirements: Vec<String> = f
        .controls
        .iter()
        .map(|c| format!("{} {}", c.benchmark_label, c.id))
        .collect();
    let title = f
        .controls
        .first()
        .map(|c| c.title.clone())
        .unwrap_or_else(|| f.check_id.to_string());
    let remediation: Vec<&str> = f.controls.iter().map(|c| c.remediation.as_str()).collect();
    let r = &f.resource;
    json!({
        "class_uid": 2003,
        "class_name": "Compliance Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200301,
        "time": time_ms,
        "severity_id": f.severity.ocsf_id(),
        "severity": f.severity.as_str(),
        "status_id": 1,
        "status": "New",
        "message": f.message,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Trustplane", "vendor_name": "Trustplane"},
        },
        "finding_info": {
            "uid": format!("{}:{}:{}:{}", f.check_id, r.account, r.region, r.id),
            "title": title,
            "desc": f.message,
            "types": [f.check_id.as_ref()],
        },
        "compliance": {
            "standards": standards,
            "requirements": requirements,
            "control": f.controls.first().map(|c| c.id.as_str()),
            "status_id": status_id,
            "status": status,
            "status_detail": f.message,
        },
        "cloud": {
            "provider": r.provider.as_str(),
            "account": {"uid": r.account},
            "region": r.region,
        },
        "resources": [{
            "uid": r.id,
            "name": r.name,
            "type": r.resource_type,
            "region": r.region,
        }],
        "remediation": {"desc": remediation.first().copied().unwrap_or("")},
        "evidences": [{"data": f.evidence}],
    })
}

/// Every finding as an OCSF object.
pub fn ocsf_findings(a: &Assessment, time_ms: i64) -> Vec<Value> {
    a.findings
        .iter()
        .map(|f| ocsf_finding(f, time_ms))
        .collect()
}

/// Writes a JSON array of OCSF findings, one per line inside the array.
pub fn write_ocsf_json(a: &Assessment, time_ms: i64, w: &mut impl Write) -> io::Result<()> {
    w.write_all(b"[")?;
    for (n, f) in a.findings.iter().enumerate() {
        if n > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut *w, &ocsf_finding(f, time_ms))?;
    }
    w.write_all(b"\n]\n")
}
