//! Log shapes as they arrive: Azure diagnostic exports and Log Analytics rows matched by
//! SigmaHQ's Azure rules through the field mapping; CloudTrail gzipped, as arrays or NDJSON;
//! malformed records counted, never fatal.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use trustplane_detect::{hunt, HuntOptions, HuntReport, Outcome, Provider};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("detect-sources")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hunt_azure(dir: &Path) -> HuntReport {
    hunt(&HuntOptions {
        rules: vec![common::sigma("rules/cloud/azure")],
        inputs: vec![dir.to_path_buf()],
        ..HuntOptions::default()
    })
    .unwrap()
}

fn titles(report: &HuntReport, index: usize) -> Vec<String> {
    let mut t: Vec<String> = report
        .matches
        .iter()
        .filter(|m| m.origin.index == index)
        .map(|m| m.rule.title.clone())
        .collect();
    t.sort();
    t
}

#[test]
fn azure_sign_in_logs_in_both_shapes() {
    let dir = tmp("signin");
    // Diagnostic settings export (storage account / Event Hubs): a `records` envelope.
    let export = json!({"records": [
        {
            "time": "2024-05-01T10:00:00.0000000Z",
            "resourceId": "/tenants/t1/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity",
            "category": "SignInLogs",
            "tenantId": "t1",
            "resultType": "53003",
            "resultDescription": "Access has been blocked by Conditional Access policies.",
            "callerIpAddress": "203.0.113.7",
            "properties": {
                "userPrincipalName": "alice@contoso.com",
                "userId": "9f1c-alice",
                "ipAddress": "203.0.113.7",
                "status": {"errorCode": 53003},
                "userAgent": "Mozilla/5.0"
            }
        },
        {
            "time": "2024-05-01T10:05:00Z",
            "operationName": "Sign-in activity",
            "category": "SignInLogs",
            "resultType": "0",
            "callerIpAddress": "198.51.100.9",
            "properties": {
                "userPrincipalName": "bob@contoso.com",
                "userAgent": "azurehound/v2.1.0",
                "status": {"errorCode": 0}
            }
        },
        {
            "time": "2024-05-01T10:06:00Z",
            "operationName": "Sign-in activity",
            "category": "SignInLogs",
            "resultType": "50126",
            "properties": {"userPrincipalName": "bob@contoso.com", "userAgent": "azurehound/v2.1.0"}
        }
    ]});
    std::fs::write(dir.join("export.json"), export.to_string()).unwrap();
    let report = hunt_azure(&dir);
    assert!(report.rules.failures.is_empty());
    assert_eq!(report.records, 3);
    assert_eq!(
        titles(&report, 0),
        ["User Access Blocked by Azure Conditional Access"]
    );
    assert_eq!(titles(&report, 1), ["Discovery Using AzureHound"]);
    // AzureHound's failed sign-in: ResultType is not 0.
    assert!(titles(&report, 2).is_empty());
    let blocked = &report.matches[0];
    assert_eq!(blocked.summary.provider, Provider::Azure);
    assert_eq!(
        blocked.summary.actor.upn.as_deref(),
        Some("alice@contoso.com")
    );
    assert_eq!(
        blocked.summary.actor.object_id.as_deref(),
        Some("9f1c-alice")
    );
    assert_eq!(blocked.summary.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(blocked.summary.outcome, Outcome::Failure);
    assert_eq!(blocked.summary.account.as_deref(), Some("t1"));

    // Log Analytics `SigninLogs` rows, one per line.
    let dir = tmp("signin-la");
    let rows = [
        json!({"TimeGenerated": "2024-05-01T10:00:00Z", "Type": "SigninLogs", "Category": "SignInLogs",
               "OperationName": "Sign-in activity", "ResultType": "53003",
               "UserPrincipalName": "alice@contoso.com", "IPAddress": "203.0.113.7"}),
        json!({"TimeGenerated": "2024-05-01T10:00:00Z", "Type": "SigninLogs", "Category": "SignInLogs",
               "OperationName": "Sign-in activity", "ResultType": "0",
               "UserPrincipalName": "alice@contoso.com", "IPAddress": "203.0.113.7"}),
    ];
    let text: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    std::fs::write(dir.join("signin.ndjson"), text.join("\n")).unwrap();
    let report = hunt_azure(&dir);
    assert_eq!(
        titles(&report, 0),
        ["User Access Blocked by Azure Conditional Access"]
    );
    assert!(titles(&report, 1).is_empty());
    assert_eq!(
        report.matches[0].summary.source_ip.as_deref(),
        Some("203.0.113.7")
    );
}

#[test]
fn azure_audit_logs_match_properties_message_rules() {
    let dir = tmp("audit");
    let export = json!({"records": [{
        "time": "2024-05-01T11:00:00Z",
        "operationName": "Add owner to application",
        "category": "AuditLogs",
        "resultSignature": "None",
        "properties": {
            "activityDisplayName": "Add owner to application",
            "category": "ApplicationManagement",
            "result": "success",
            "loggedByService": "Core Directory",
            "initiatedBy": {"user": {"id": "9f1c-alice", "userPrincipalName": "alice@contoso.com", "ipAddress": "203.0.113.7"}},
            "targetResources": [{"displayName": "Payroll", "type": "Application"}]
        }
    }, {
        "time": "2024-05-01T11:01:00Z",
        "operationName": "Update user",
        "category": "AuditLogs",
        "properties": {"activityDisplayName": "Update user", "result": "success"}
    }]});
    std::fs::write(dir.join("PT1H.json"), export.to_string()).unwrap();
    let report = hunt_azure(&dir);
    assert_eq!(titles(&report, 0), ["Added Owner To Application"]);
    assert!(titles(&report, 1).is_empty());
    let m = &report.matches[0];
    assert_eq!(m.summary.actor.upn.as_deref(), Some("alice@contoso.com"));
    assert_eq!(m.summary.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(m.summary.outcome, Outcome::Success);
    assert_eq!(
        m.rule.author.as_deref(),
        Some("Mark Morowczynski '@markmorow', Bailey Bercik '@baileybercik'")
    );
}

#[test]
fn azure_activity_logs_in_both_shapes() {
    let dir = tmp("activity");
    let export = json!({"records": [{
        "time": "2024-05-01T12:00:00Z",
        "resourceId": "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.PORTAL/CONSOLES/DEFAULT",
        "operationName": "MICROSOFT.PORTAL/CONSOLES/WRITE",
        "category": "Administrative",
        "resultType": "Success",
        "callerIpAddress": "203.0.113.7",
        "identity": {"claims": {"http://schemas.microsoft.com/identity/claims/objectidentifier": "9f1c-alice"}},
        "properties": {"caller": "alice@contoso.com"}
    }]});
    std::fs::write(dir.join("export.json"), export.to_string()).unwrap();
    // Log Analytics `AzureActivity`.
    let row = json!([{
        "TimeGenerated": "2024-05-01T12:00:00Z", "Type": "AzureActivity",
        "OperationNameValue": "Microsoft.Portal/consoles/write", "OperationName": "Create Cloud Shell",
        "CategoryValue": "Administrative", "ActivityStatusValue": "Success",
        "Caller": "alice@contoso.com", "CallerIpAddress": "203.0.113.7"
    }]);
    std::fs::write(dir.join("la.json"), row.to_string()).unwrap();
    let report = hunt_azure(&dir);
    assert_eq!(report.records, 2);
    let files: Vec<(String, String)> = report
        .matches
        .iter()
        .map(|m| {
            (
                m.origin
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                m.rule.title.clone(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            (
                "export.json".to_string(),
                "Azure New CloudShell Created".to_string()
            ),
            (
                "la.json".to_string(),
                "Azure New CloudShell Created".to_string()
            ),
        ]
    );
    assert_eq!(
        report.matches[0].summary.actor.object_id.as_deref(),
        Some("9f1c-alice")
    );
    assert_eq!(
        report.matches[1].summary.actor.caller.as_deref(),
        Some("alice@contoso.com")
    );
}

#[test]
fn cloudtrail_gzipped_ndjson_and_arrays_with_malformed_records() {
    let dir = tmp("cloudtrail");
    let src = common::logs("stratus-red-team/aws.defense-evasion.cloudtrail-stop.json");
    let records: serde_json::Value = serde_json::from_slice(&std::fs::read(&src).unwrap()).unwrap();
    // An S3 object: gzipped `{"Records":[...]}`.
    let envelope = json!({"Records": records});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(envelope.to_string().as_bytes()).unwrap();
    std::fs::write(dir.join("object.json.gz"), gz.finish().unwrap()).unwrap();
    // NDJSON with a broken line and a non-object line among good ones.
    let one = records[0].to_string();
    std::fs::write(
        dir.join("lines.jsonl"),
        format!("{one}\n{{\"eventName\": broken\n[1,2]\n\n{one}\n"),
    )
    .unwrap();
    // Truncated JSON document.
    std::fs::write(dir.join("truncated.json"), &one[..one.len() / 2]).unwrap();
    // Not a log file: skipped when walking a folder.
    std::fs::write(dir.join("README.md"), "not logs").unwrap();

    let report = hunt(&HuntOptions {
        rules: vec![common::sigma("rules/cloud/aws")],
        inputs: vec![dir.clone()],
        ..HuntOptions::default()
    })
    .unwrap();
    assert_eq!(report.files, 3);
    assert_eq!(report.records, 3);
    assert_eq!(report.matches.len(), 3);
    assert!(report
        .matches
        .iter()
        .all(|m| m.rule.title == "AWS CloudTrail Important Change"));
    let mut malformed: Vec<(String, Option<usize>)> = report
        .malformed
        .iter()
        .map(|m| {
            (
                m.path.file_name().unwrap().to_string_lossy().to_string(),
                m.index,
            )
        })
        .collect();
    malformed.sort();
    assert_eq!(
        malformed,
        [
            ("lines.jsonl".to_string(), Some(1)),
            ("lines.jsonl".to_string(), Some(2)),
            ("truncated.json".to_string(), Some(0)),
        ]
    );
    let m = &report.matches[0];
    assert_eq!(m.summary.provider, Provider::Aws);
    assert_eq!(m.summary.action.as_deref(), Some("StopLogging"));
    assert_eq!(m.summary.time.as_deref(), Some("2024-07-31T13:06:24Z"));
    assert_eq!(m.summary.epoch_secs, Some(1_722_431_184));
    assert_eq!(m.summary.region.as_deref(), Some("apiso-centralnorth-2r"));
    assert_eq!(m.summary.account.as_deref(), Some("143434273843"));
}

#[test]
fn cloudtrail_identity_fields_are_normalised() {
    let report = hunt(&HuntOptions {
        rules: vec![common::sigma("rules/cloud/aws")],
        inputs: vec![common::logs(
            "stratus-red-team/aws.credential-access.ec2-get-password-data.json",
        )],
        ..HuntOptions::default()
    })
    .unwrap();
    let m = &report.matches[0];
    let actor = &m.summary.actor;
    assert_eq!(actor.kind.as_deref(), Some("AssumedRole"));
    let arn = actor.arn.as_deref().unwrap();
    let session = actor.session_name.as_deref().unwrap();
    assert!(
        arn.contains(":assumed-role/") && arn.ends_with(&format!("/{session}")),
        "{arn}"
    );
    assert!(actor
        .principal_id
        .as_deref()
        .unwrap()
        .ends_with(&format!(":{session}")));
}

#[test]
fn a_missing_input_is_an_error_but_a_bad_file_is_not() {
    let err = hunt(&HuntOptions {
        rules: vec![common::sigma("rules/cloud/aws")],
        inputs: vec!["/nonexistent/detect-input".into()],
        ..HuntOptions::default()
    });
    assert!(err.is_err());
    let dir = tmp("badgz");
    std::fs::write(dir.join("x.json.gz"), [0x1f, 0x8b, 0, 1, 2, 3]).unwrap();
    let report = hunt(&HuntOptions {
        rules: vec![common::sigma("rules/cloud/aws")],
        inputs: vec![dir],
        ..HuntOptions::default()
    })
    .unwrap();
    assert_eq!(report.malformed.len(), 1);
    assert_eq!(report.malformed[0].index, None);
}

/// Objects read from elsewhere than files (S3) go through `decode_bytes` and a `Hunter`: the
/// same matches as the hunt over the same file, gzipped or not; a broken object is counted.
#[test]
fn a_hunter_fed_objects_matches_like_the_file_hunt() {
    use trustplane_detect::{decode_bytes, EngineOptions, Hunter};
    let file = common::logs("stratus-red-team/aws.defense-evasion.cloudtrail-stop.json");
    let rules = vec![common::sigma("rules/cloud/aws")];
    let by_file = hunt(&HuntOptions {
        rules: rules.clone(),
        inputs: vec![file.clone()],
        ..HuntOptions::default()
    })
    .unwrap();
    assert!(!by_file.matches.is_empty());
    let plain = std::fs::read(&file).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let zipped = gz.finish().unwrap();

    let mut hunter = Hunter::new(&rules, &EngineOptions::default()).unwrap();
    hunter.add(decode_bytes(zipped, Path::new("s3://b/a.json.gz")));
    hunter.add(decode_bytes(plain, Path::new("s3://b/b.json")));
    hunter.add(decode_bytes(
        vec![0x1f, 0x8b, 9, 9],
        Path::new("s3://b/c.json.gz"),
    ));
    hunter.add_unreadable(Path::new("s3://b/d.json.gz"), "AccessDenied".into());
    let report = hunter.finish();
    assert_eq!(report.files, 4);
    assert_eq!(report.records, 2 * by_file.records);
    assert_eq!(report.matches.len(), 2 * by_file.matches.len());
    let origins: Vec<String> = report
        .matches
        .iter()
        .map(|m| m.origin.path.display().to_string())
        .collect();
    assert!(origins.contains(&"s3://b/a.json.gz".to_string()));
    assert!(origins.contains(&"s3://b/b.json".to_string()));
    let broken: Vec<(String, Option<usize>)> = report
        .malformed
        .iter()
        .map(|m| (m.path.display().to_string(), m.index))
        .collect();
    assert_eq!(
        broken,
        [
            ("s3://b/c.json.gz".to_string(), None),
            ("s3://b/d.json.gz".to_string(), None)
        ]
    );
}
