//! Scores, `--fail-on`, OCSF, CSV and HTML over the AWS fixtures.
#![allow(clippy::unwrap_used)]

mod common;

use trustplane_posture::report::{
    control_summaries, fails_at, ocsf_findings, render_html, render_report, section_scores,
    write_csv, write_ocsf_json, ReportMeta,
};
use trustplane_posture::{
    assess, AssessOptions, Assessment, Inventory, Registry, Severity, Status,
};

const NOW: i64 = 1_795_824_000;

fn run() -> Assessment {
    let inv = Inventory::load_dir(&common::fixtures().join("aws")).unwrap();
    let opts = AssessOptions {
        now: NOW,
        ..Default::default()
    };
    assess(&inv, &common::benchmarks(), &Registry::builtin(), &opts)
}

#[test]
fn section_scores_are_passed_over_passed_plus_failed() {
    let a = run();
    let scores = section_scores(&a);
    let aws3: Vec<_> = scores
        .iter()
        .filter(|s| s.benchmark == "cis_3.0_aws")
        .collect();
    let sections: Vec<&str> = aws3.iter().map(|s| s.section.as_str()).collect();
    assert_eq!(
        sections,
        [
            "1 Identity and Access Management",
            "2 Storage",
            "3 Logging",
            "4 Monitoring",
            "5 Networking"
        ]
    );
    for s in &scores {
        let total = s.passed + s.failed;
        match s.score {
            Some(x) => assert!((x - s.passed as f64 / total as f64).abs() < 1e-12),
            None => assert_eq!(total, 0),
        }
    }
    // Monitoring (4.x): 15 controls x 2 accounts; account B passes 14 of 15, account A none;
    // 4.16 Security Hub has 3 passing regions and 1 failing.
    let mon = aws3.iter().find(|s| s.section == "4 Monitoring").unwrap();
    assert_eq!((mon.passed, mon.failed, mon.error), (14 + 3, 16 + 1, 0));
    // No Azure findings: the Azure benchmarks have no sections with findings.
    assert!(scores.iter().all(|s| !s.benchmark.contains("azure")));
}

#[test]
fn control_summary_is_fail_if_any_resource_fails() {
    let a = run();
    let c = control_summaries(&a);
    let root_mfa = c
        .iter()
        .find(|c| c.benchmark == "cis_3.0_aws" && c.id == "1.5")
        .unwrap();
    assert_eq!(
        (root_mfa.status, root_mfa.passed, root_mfa.failed),
        (Status::Fail, 1, 1)
    );
    let manual = c
        .iter()
        .find(|c| c.benchmark == "cis_3.0_aws" && c.id == "1.1")
        .unwrap();
    assert_eq!(manual.status, Status::Manual);
    let ids: Vec<&str> = c
        .iter()
        .filter(|c| c.benchmark == "cis_3.0_aws")
        .map(|c| c.id.as_str())
        .take(4)
        .collect();
    assert_eq!(ids, ["1.1", "1.2", "1.3", "1.4"]);
}

#[test]
fn fail_on_compares_severity_of_failed_findings() {
    let a = run();
    assert!(fails_at(&a, Severity::Critical)); // root access key
    let mut only_low = a.clone();
    only_low
        .findings
        .retain(|f| f.status != Status::Fail || f.severity <= Severity::Low);
    assert!(fails_at(&only_low, Severity::Low));
    assert!(!fails_at(&only_low, Severity::Medium));
    assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
    assert!("severe".parse::<Severity>().is_err());
}

#[test]
fn ocsf_findings_are_compliance_findings() {
    let a = run();
    let all = ocsf_findings(&a, NOW * 1000);
    assert_eq!(all.len(), a.findings.len());
    let f = all
        .iter()
        .find(|o| {
            o["finding_info"]["types"][0] == "iam_no_root_access_key"
                && o["cloud"]["account"]["uid"] == "111111111111"
        })
        .unwrap();
    assert_eq!(f["class_uid"], 2003);
    assert_eq!(f["type_uid"], 200301);
    assert_eq!(f["severity_id"], 5);
    assert_eq!(f["compliance"]["status"], "Fail");
    assert_eq!(f["compliance"]["status_id"], 3);
    assert_eq!(
        f["compliance"]["standards"],
        serde_json::json!(["CIS AWS 3.0", "CIS AWS 7.0"])
    );
    assert_eq!(
        f["compliance"]["requirements"],
        serde_json::json!(["CIS AWS 3.0 1.4", "CIS AWS 7.0 2.4"])
    );
    assert_eq!(f["resources"][0]["uid"], "arn:aws:iam::111111111111:root");
    assert_eq!(f["evidences"][0]["data"]["access_key_1_active"], true);
    assert!(!f["remediation"]["desc"].as_str().unwrap().is_empty());
    let mut buf = Vec::new();
    write_ocsf_json(&a, NOW * 1000, &mut buf).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), a.findings.len());
}

#[test]
fn csv_has_one_row_per_finding_and_control_with_quoting() {
    let a = run();
    let mut buf = Vec::new();
    write_csv(&a, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "benchmark,control,section,check_id,status,severity,provider,account,region,resource_type,resource_id,resource_name,message,evidence"
    );
    let expected_rows: usize = a.findings.iter().map(|f| f.controls.len().max(1)).sum();
    assert_eq!(text.matches("\r\n").count(), expected_rows + 1);
    let row = text
        .split("\r\n")
        .find(|l| l.starts_with("cis_3.0_aws,1.8,") && l.contains("111111111111"))
        .unwrap();
    assert!(row.contains(",FAIL,medium,aws,111111111111,global,aws.iam.password_policy,"));
    assert!(
        row.ends_with(",minimum password length is 8,\"{\"\"MinimumPasswordLength\"\":8}\""),
        "{row}"
    );
}

#[test]
fn html_report_is_self_contained_and_escaped() {
    let mut a = run();
    // A hostile resource name from an inventory must not become markup.
    let f = a
        .findings
        .iter_mut()
        .find(|f| f.status == Status::Fail)
        .unwrap();
    std::sync::Arc::make_mut(&mut f.resource).id = "<script>alert('x')</script>".into();
    f.message = "a & b \"quoted\"".into();
    let html = render_html(&a, "Scan <2026-11-28>");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("a &amp; b &quot;quoted&quot;"));
    assert!(html.contains("<title>Scan &lt;2026-11-28&gt;</title>"));
    // One script, the page's own filters, inline; nothing is loaded from anywhere (links in
    // remediation text are anchors a person may follow, not loads).
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("<script>\n(function(){"));
    for external in ["<link", "<img", "<iframe", "src=", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(html.contains("Compliance by benchmark"));
    assert!(html.contains("<details><summary>How to fix</summary><div class=\"remediation\">"));
}

#[test]
fn html_report_names_the_scan_and_sorts_findings_by_severity() {
    let a = run();
    let meta = ReportMeta {
        title: "Posture".into(),
        scanned_at: Some(NOW),
        version: "9.9.9".into(),
        source: "saved inventory".into(),
        failure: None,
    };
    let html = render_report(&a, &meta);
    assert!(
        html.contains("<b id=\"scan-date\">2026-11-28 00:00 UTC</b>"),
        "date"
    );
    assert!(html.contains("<b id=\"scan-version\">9.9.9</b>"));
    let accounts = between(&html, "<b id=\"scan-accounts\">", "</b>");
    assert_eq!(accounts, "111111111111, 222222222222, 333333333333");
    assert!(between(&html, "<b id=\"scan-regions\">", "</b>").contains("eu-west-1"));
    // Errors in the fixtures: the page says the scan is partial.
    assert!(html.contains("data-state=\"partial\""));
    // One SVG bar chart per section and per account for each benchmark with findings.
    assert!(html.contains("aria-label=\"CIS AWS 3.0 score per section\""));
    assert!(html.contains("aria-label=\"CIS AWS 3.0 score per account\""));

    // Rows: FAIL and ERROR first, most severe first within them.
    let rank = |s: &str| {
        ["critical", "high", "medium", "low", "informational"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let rows: Vec<(String, String)> = html
        .split("<tr data-status=\"")
        .skip(1)
        .map(|r| {
            let status = r[..r.find('"').unwrap()].to_string();
            (status, between(r, "data-severity=\"", "\"").to_string())
        })
        .collect();
    assert!(rows.len() > 100);
    let bad = rows
        .iter()
        .take_while(|(s, _)| s == "FAIL" || s == "ERROR")
        .count();
    assert!(rows[bad..]
        .iter()
        .all(|(s, _)| s == "PASS" || s == "MANUAL"));
    for w in rows[..bad].windows(2) {
        assert!(rank(&w[0].1) <= rank(&w[1].1), "{w:?}");
    }
    assert_eq!(rows[0].1, "critical");

    // Remediation is rendered from the benchmark's Markdown: no markers are left.
    for raw in ["**", "```", "]("] {
        assert!(!html.contains(raw), "raw Markdown {raw:?} in the report");
    }
    assert!(html.contains("<template id=\"rem-cis_3_0_aws-1_5\">"));
    assert!(html.contains("data-rem=\"cis_3_0_aws-1_5 cis_7_0_aws-2_5\""));
}

#[test]
fn html_report_marks_an_empty_or_failed_scan() {
    let empty = trustplane_posture::Assessment::default();
    let html = render_html(&empty, "Posture");
    assert!(html.contains("data-state=\"empty\""), "{html}");
    assert!(html.contains("This is not a clean result"));
    assert!(!html.contains("id=\"findings\""));

    let mut meta = ReportMeta::new("Posture");
    meta.failure = Some("cannot read the inventory in /x: the directory is empty".into());
    let html = render_report(&run(), &meta);
    assert!(html.contains("data-state=\"failed\""));
    assert!(html.contains("Scan failed: cannot read the inventory in /x: the directory is empty."));
    assert!(
        !html.contains("id=\"findings\""),
        "no results on a failed scan"
    );
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap() + start.len();
    &s[from..from + s[from..].find(end).unwrap()]
}

#[test]
fn findings_map_only_to_benchmarks_of_their_cloud_and_uncovered_controls_are_reported() {
    let mut inv = Inventory::load_dir(&common::fixtures().join("aws")).unwrap();
    for d in Inventory::load_dir(&common::fixtures().join("azure"))
        .unwrap()
        .docs()
    {
        inv.push(d.clone());
    }
    let opts = AssessOptions {
        now: NOW,
        ..Default::default()
    };
    let a = assess(&inv, &common::benchmarks(), &Registry::builtin(), &opts);
    for f in &a.findings {
        for c in f.controls.iter() {
            let cloud = if c.benchmark.ends_with("_aws") {
                "aws"
            } else {
                "azure"
            };
            assert_eq!(
                f.resource.provider.as_str(),
                cloud,
                "{} -> {}",
                f.check_id,
                c.benchmark
            );
        }
    }
    // An automated control without a check is still visible: MANUAL, with the reason.
    let storage_logging = a
        .findings
        .iter()
        .find(|f| {
            f.controls
                .iter()
                .any(|c| c.benchmark == "cis_3.0_azure" && c.id == "4.12")
        })
        .unwrap();
    assert_eq!(storage_logging.status, Status::Manual);
    assert!(storage_logging
        .message
        .starts_with("not automated by trustplane: "));
}
