//! OCSF output: one Compliance Finding (class 2003) per finding.
//!
//! The objects are serialised from borrowed structs, not built as `serde_json::Value` trees:
//! a scan of a million resources writes millions of them.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

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

#[derive(Serialize)]
struct Ocsf<'a> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u8,
    category_name: &'static str,
    activity_id: u8,
    activity_name: &'static str,
    type_uid: u32,
    time: i64,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    message: &'a str,
    metadata: Metadata,
    finding_info: FindingInfo<'a>,
    compliance: Compliance<'a>,
    cloud: Cloud<'a>,
    resources: [Resource<'a>; 1],
    remediation: Remediation<'a>,
    evidences: [Evidence<'a>; 1],
}

#[derive(Serialize)]
struct Metadata {
    version: &'static str,
    product: Product,
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: String,
    title: &'a str,
    desc: &'a str,
    types: [&'a str; 1],
}

#[derive(Serialize)]
struct Compliance<'a> {
    standards: Vec<&'a str>,
    requirements: Vec<String>,
    control: Option<&'a str>,
    status_id: u8,
    status: &'static str,
    status_detail: &'a str,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    account: Uid<'a>,
    region: &'a str,
}

#[derive(Serialize)]
struct Uid<'a> {
    uid: &'a str,
}

#[derive(Serialize)]
struct Resource<'a> {
    uid: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    region: &'a str,
}

#[derive(Serialize)]
struct Remediation<'a> {
    desc: &'a str,
}

#[derive(Serialize)]
struct Evidence<'a> {
    data: &'a crate::finding::Evidence,
}

fn build(f: &Finding, time_ms: i64) -> Ocsf<'_> {
    let (status_id, status) = compliance_status(f.status);
    let mut standards: Vec<&str> = f
        .controls
        .iter()
        .map(|c| c.benchmark_label.as_str())
        .collect();
    standards.dedup();
    let r = &f.resource;
    Ocsf {
        class_uid: 2003,
        class_name: "Compliance Finding",
        category_uid: 2,
        category_name: "Findings",
        activity_id: 1,
        activity_name: "Create",
        type_uid: 200301,
        time: time_ms,
        severity_id: f.severity.ocsf_id(),
        severity: f.severity.as_str(),
        status_id: 1,
        status: "New",
        message: &f.message,
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: "Trustplane",
                vendor_name: "Trustplane",
            },
        },
        finding_info: FindingInfo {
            uid: format!("{}:{}:{}:{}", f.check_id, r.account, r.region, r.id),
            title: f
                .controls
                .first()
                .map(|c| c.title.as_str())
                .unwrap_or(&f.check_id),
            desc: &f.message,
            types: [&f.check_id],
        },
        compliance: Compliance {
            standards,
            requirements: f
                .controls
                .iter()
                .map(|c| format!("{} {}", c.benchmark_label, c.id))
                .collect(),
            control: f.controls.first().map(|c| c.id.as_str()),
            status_id,
            status,
            status_detail: &f.message,
        },
        cloud: Cloud {
            provider: r.provider.as_str(),
            account: Uid { uid: &r.account },
            region: &r.region,
        },
        resources: [Resource {
            uid: &r.id,
            name: &r.name,
            kind: &r.resource_type,
            region: &r.region,
        }],
        remediation: Remediation {
            desc: f
                .controls
                .first()
                .map(|c| c.remediation.as_str())
                .unwrap_or(""),
        },
        evidences: [Evidence { data: &f.evidence }],
    }
}

/// One OCSF Compliance Finding. `time_ms` is the assessment time.
pub fn ocsf_finding(f: &Finding, time_ms: i64) -> Value {
    serde_json::to_value(build(f, time_ms)).unwrap_or(Value::Null)
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
    let mut w = io::BufWriter::new(w);
    w.write_all(b"[")?;
    for (n, f) in a.findings.iter().enumerate() {
        if n > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut w, &build(f, time_ms))?;
    }
    w.write_all(b"\n]\n")?;
    w.flush()
}
