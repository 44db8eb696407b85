//! The recorded attacks fire the right SigmaHQ rules, and nothing else.
//!
//! Expectations come from reading each technique file next to the rules: a technique is
//! listed with the rules its records meet; every file not listed matches nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use trustplane_detect::{hunt, HuntOptions, HuntReport, Match};

const ASSUME: &str = "AWS STS AssumeRole Misuse";

fn stratus() -> &'static HuntReport {
    static REPORT: OnceLock<HuntReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        hunt(&HuntOptions {
            rules: vec![common::sigma("rules")],
            inputs: vec![common::logs("stratus-red-team")],
            ..HuntOptions::default()
        })
        .unwrap()
    })
}

fn file_of(m: &Match) -> String {
    let name = m.origin.path.file_name().unwrap().to_string_lossy();
    name.trim_start_matches("aws.")
        .trim_end_matches(".json")
        .to_string()
}

fn per_file(report: &HuntReport) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for m in &report.matches {
        *out.entry(file_of(m))
            .or_default()
            .entry(m.rule.title.clone())
            .or_default() += 1;
    }
    out
}

#[test]
fn stratus_techniques_fire_the_right_rules() {
    let report = stratus();
    assert_eq!(report.files, 35);
    assert_eq!(report.records, 310);
    assert!(report.malformed.is_empty());
    let expected: &[(&str, &[(&str, usize)])] = &[
        // AssumeRole calls the tool makes to get a session: the broad rule matches those only.
        ("credential-access.ec2-get-password-data", &[(ASSUME, 30)]),
        // Instance credentials used to run a command through SSM.
        (
            "credential-access.ec2-steal-instance-credentials",
            &[
                (ASSUME, 2),
                ("Potential Malicious Usage of CloudTrail System Manager", 1),
            ],
        ),
        (
            "defense-evasion.cloudtrail-delete",
            &[("AWS CloudTrail Important Change", 1)],
        ),
        (
            "defense-evasion.cloudtrail-stop",
            &[("AWS CloudTrail Important Change", 1)],
        ),
        ("defense-evasion.organizations-leave", &[(ASSUME, 1)]),
        (
            "defense-evasion.vpc-remove-flow-logs",
            &[("AWS VPC Flow Logs Deleted", 1)],
        ),
        ("discovery.ec2-download-user-data", &[(ASSUME, 15)]),
        ("execution.ec2-launch-unusual-instances", &[(ASSUME, 1)]),
        (
            "execution.ssm-send-command",
            &[("Potential Malicious Usage of CloudTrail System Manager", 1)],
        ),
        (
            "exfiltration.ec2-security-group-open-port-22-ingress",
            &[("Ingress/Egress Security Group Modification", 1)],
        ),
        (
            "exfiltration.ec2-share-ebs-snapshot",
            &[("AWS Snapshot Backup Exfiltration", 1)],
        ),
        ("impact.bedrock-invoke-model", &[(ASSUME, 15)]),
        (
            "initial-access.console-login-without-mfa",
            &[("AWS Successful Console Login Without MFA", 1)],
        ),
        (
            "lateral-movement.ec2-serial-console-send-ssh-public-key",
            &[(ASSUME, 4)],
        ),
        // CreateAccessKey for another user; the rule's filter is a literal (no `fieldref`), so
        // every CreateAccessKey matches, as written.
        (
            "persistence.iam-backdoor-user",
            &[("AWS IAM Backdoor Users Keys", 1)],
        ),
        (
            "persistence.iam-create-admin-user",
            &[("AWS IAM Backdoor Users Keys", 1)],
        ),
        (
            "persistence.lambda-layer-extension",
            &[("AWS New Lambda Layer Attached", 1)],
        ),
        (
            "privilege-escalation.iam-update-user-login-profile",
            &[("AWS User Login Profile Was Modified", 1)],
        ),
    ];
    let expected: BTreeMap<String, BTreeMap<String, usize>> = expected
        .iter()
        .map(|(f, rules)| {
            (
                f.to_string(),
                rules.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
            )
        })
        .collect();
    assert_eq!(per_file(report), expected);
}

#[test]
fn matches_credit_the_author_and_carry_the_evidence() {
    let report = stratus();
    let m = report
        .matches
        .iter()
        .find(|m| file_of(m) == "defense-evasion.cloudtrail-stop")
        .unwrap();
    assert_eq!(
        m.rule.id.as_deref(),
        Some("4db60cc0-36fb-42b7-9b58-a5b53019fb74")
    );
    assert_eq!(m.rule.author.as_deref(), Some("vitaliy0x1"));
    assert_eq!(m.rule.level.as_deref(), Some("medium"));
    assert_eq!(m.summary.action.as_deref(), Some("StopLogging"));
    assert_eq!(
        m.summary.source.as_deref(),
        Some("cloudtrail.amazonaws.com")
    );
    assert_eq!(
        m.record["requestParameters"]["name"],
        "stratus-red-team-ct-stop-trail-buykxbqejv"
    );
    assert!(report.matches.iter().all(|m| m.rule.author.is_some()));
}

/// The report serialises for `--output json`, author included.
#[test]
fn report_serialises_with_the_author() {
    let v = serde_json::to_value(stratus()).unwrap();
    let first = &v["matches"][0];
    assert!(first["rule"]["author"].is_string());
    assert!(first["record"]["eventName"].is_string());
    assert!(first["summary"]["provider"] == "aws");
    assert_eq!(v["records"], 310);
}

/// Setup and benign calls around the attacks match none of the specific rules.
#[test]
fn benign_records_do_not_match() {
    let report = stratus();
    for m in &report.matches {
        let action = m.summary.action.as_deref().unwrap_or_default();
        if m.rule.title == ASSUME {
            // The broad rule: role sessions only.
            assert_eq!(
                m.summary.actor.kind.as_deref(),
                Some("AssumedRole"),
                "{action}"
            );
            continue;
        }
        // No read-only or setup call matches a specific rule.
        assert!(
            !matches!(
                action,
                "DescribeInstances"
                    | "DescribeInstanceInformation"
                    | "GetCallerIdentity"
                    | "GetCommandInvocation"
                    | "ListSecrets"
                    | "DescribeParameters"
                    | "CreateUser"
                    | "AttachUserPolicy"
                    | "StopInstances"
                    | "StartInstances"
            ),
            "{} matched {action}",
            m.rule.title
        );
    }
    // The attack calls themselves: their rules match exactly one record each.
    let counts = &report.counts;
    assert_eq!(counts.get("AWS IAM Backdoor Users Keys"), Some(&2));
    assert_eq!(
        counts.get("Potential Malicious Usage of CloudTrail System Manager"),
        Some(&2)
    );
    // User data written through `userData` (not `attribute: userData`) is not what
    // aws_ec2_startup_script_change describes, and the record says so.
    assert!(!counts.contains_key("AWS EC2 Startup Shell Script Change"));
}

#[test]
fn invictus_capture_gives_the_verified_matches() {
    let report = hunt(&HuntOptions {
        rules: vec![common::sigma("rules")],
        inputs: vec![common::logs("invictus-ir-aws")],
        ..HuntOptions::default()
    })
    .unwrap();
    assert_eq!(report.records, 2900);
    // The LICENSE beside the objects is not read.
    assert!(report.malformed.is_empty());
    let find = |title: &str| -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = report
            .matches
            .iter()
            .filter(|m| m.rule.title == title)
            .map(|m| {
                let f = m.origin.path.file_name().unwrap().to_string_lossy();
                (f[43..59].to_string(), m.origin.index)
            })
            .collect();
        v.sort();
        v
    };
    // ConsoleLogin of the Stratus-created user, `MFAUsed: No`; bert-jan's login used MFA.
    assert_eq!(
        find("AWS Successful Console Login Without MFA"),
        [("1225Z_4iD2boYSOw".to_string(), 10)]
    );
    // bert-jan creating keys for `stratus-red-team-backdoor-u-user` and `malicious-iam-user`.
    assert_eq!(
        find("AWS IAM Backdoor Users Keys"),
        [
            ("1230Z_ZtUNbBkwAu".to_string(), 26),
            ("1230Z_ZtUNbBkwAu".to_string(), 29)
        ]
    );
    assert_eq!(
        find("AWS VPC Flow Logs Deleted"),
        [("1205Z_SjF3IkuNXJ".to_string(), 14)]
    );
    // Snapshot shared (add) and unshared (remove): the rule does not look at the direction.
    assert_eq!(
        find("AWS Snapshot Backup Exfiltration"),
        [
            ("1215Z_YMDRJwtmC8".to_string(), 103),
            ("1220Z_ovtmbuX3EN".to_string(), 2)
        ]
    );
    // StopLogging / DeleteTrail, including the failed attempts (TrailNotFoundException).
    assert_eq!(
        report.counts.get("AWS CloudTrail Important Change"),
        Some(&6)
    );
    assert_eq!(report.counts.get("AWS Bucket Deleted"), Some(&5));
    assert_eq!(report.counts.get("New Network Route Added"), Some(&6));
    // Failed calls are reported as failures in the summary.
    let failed = report
        .matches
        .iter()
        .filter(|m| m.rule.title == "AWS CloudTrail Important Change")
        .filter(|m| m.summary.error.as_deref() == Some("TrailNotFoundException"))
        .count();
    assert_eq!(failed, 4);
}

#[test]
fn otrf_captures_give_the_verified_matches() {
    let report = hunt(&HuntOptions {
        rules: vec![common::sigma("rules")],
        inputs: vec![common::logs("otrf")],
        ..HuntOptions::default()
    })
    .unwrap();
    assert!(report.malformed.is_empty());
    let aad: Vec<(usize, &str)> = report
        .matches
        .iter()
        .filter(|m| m.origin.path.ends_with("AADAuditEvents.json"))
        .map(|m| (m.origin.index, m.rule.title.as_str()))
        .collect();
    // Log Analytics `AuditLogs` rows matched by rules written for `properties.message`:
    // row 2 is "Update application", row 3 "Add delegated permission grant". Rows 0 and 1
    // ("Update application – Certificates and secrets management ") end in a space in the
    // export, so azure_app_credential_added (exact match) does not fire on them.
    let mut aad_sorted = aad.clone();
    aad_sorted.sort();
    assert_eq!(
        aad_sorted,
        [
            (2, "Application AppID Uri Configuration Changes"),
            (3, "App Granted Microsoft Permissions"),
            (3, "Delegated Permissions Granted For All Users"),
        ]
    );
    let m = report
        .matches
        .iter()
        .find(|m| m.origin.index == 3 && m.origin.path.ends_with("AADAuditEvents.json"))
        .unwrap();
    // The initiator comes from the `InitiatedBy` column, which holds JSON text.
    assert_eq!(
        m.summary.actor.upn.as_deref(),
        Some("pgustavo@simulandlabs.com")
    );
    assert_eq!(m.summary.provider, trustplane_detect::Provider::Azure);
    // The EC2 SSRF capture: the stolen instance-role session calls S3 and EC2 from outside.
    let ec2: Vec<&Match> = report
        .matches
        .iter()
        .filter(|m| {
            m.origin
                .path
                .ends_with("ec2_proxy_s3_exfiltration_2020-09-14011940.json")
        })
        .collect();
    assert_eq!(ec2.len(), 11);
    assert!(ec2.iter().all(|m| m.rule.title == ASSUME));
}

/// The placeholder rules load, and `expand` takes configured values: the Stratus console
/// login comes from 225.01.00.16, so listing it as legitimate silences the rule.
#[test]
fn placeholder_rules_use_configured_values() {
    let run = |placeholders: &[(&str, &str)]| {
        let report = hunt(&HuntOptions {
            rules: vec![common::sigma("rules-placeholder")],
            inputs: vec![common::logs(
                "stratus-red-team/aws.initial-access.console-login-without-mfa.json",
            )],
            engine: trustplane_detect::EngineOptions {
                placeholders: placeholders
                    .iter()
                    .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                    .collect(),
            },
        })
        .unwrap();
        assert!(report.rules.failures.is_empty());
        report
            .matches
            .iter()
            .map(|m| m.rule.title.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&[]), ["AWS Console Login Monitoring"]);
    assert_eq!(
        run(&[("Legitimate_IP_Ranges", "203.0.113.1")]),
        ["AWS Console Login Monitoring"]
    );
    assert!(run(&[("Legitimate_IP_Ranges", "225.01.00.16")]).is_empty());
}
