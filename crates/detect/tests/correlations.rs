//! Correlation rules (`event_count`, `value_count`, `temporal`, `temporal_ordered`) with
//! `group-by` and `timespan`, built from the examples of the Sigma correlation specification.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use trustplane_detect::{EngineOptions, Hit, Record, RecordOrigin, RuleKind, RuleSet};

const FAILED_LOGON: &str = "title: Failed logon
id: 0e95725d-7320-415d-80f7-004da920fc11
name: failed_logon
author: spec
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
";

const SUCCESS_LOGON: &str = "title: Successful logon
name: successful_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
  condition: selection
";

fn set(text: &str) -> RuleSet {
    let set = RuleSet::from_yaml(text, &EngineOptions::default()).unwrap();
    assert!(
        set.check().failures.is_empty(),
        "{:?}",
        set.check().failures
    );
    assert!(set.has_correlations());
    set
}

fn at(second: i64, fields: Value) -> Record {
    let mut v = fields;
    let t = chrono_free_rfc3339(second);
    v["time"] = json!(t);
    Record::from_json(
        v,
        RecordOrigin {
            path: "mem".into(),
            index: 0,
        },
    )
}

/// 2024-01-01T00:00:00Z plus `second` (under a day).
fn chrono_free_rfc3339(second: i64) -> String {
    format!(
        "2024-01-01T{:02}:{:02}:{:02}Z",
        second / 3600,
        (second / 60) % 60,
        second % 60
    )
}

fn correlation_hits(hits: &[Hit]) -> Vec<&Hit> {
    hits.iter()
        .filter(|h| h.rule.kind == RuleKind::Correlation)
        .collect()
}

/// Runs the records in order; returns, per record, the correlation titles that fired.
fn run(set: &mut RuleSet, records: &[Record]) -> Vec<Vec<String>> {
    records
        .iter()
        .map(|r| {
            correlation_hits(&set.process(r))
                .iter()
                .map(|h| h.rule.title.clone())
                .collect()
        })
        .collect()
}

#[test]
fn event_count_with_group_by_and_timespan() {
    let text = format!(
        "{FAILED_LOGON}---
title: Many failed logons
author: spec author
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - TargetUserName
    - TargetDomainName
  timespan: 5m
  condition:
    gte: 3
level: high
"
    );
    let mut s = set(&text);
    let bob = json!({"EventID": 4625, "TargetUserName": "bob", "TargetDomainName": "CORP"});
    let eve = json!({"EventID": 4625, "TargetUserName": "eve", "TargetDomainName": "CORP"});
    let fired = run(
        &mut s,
        &[
            at(0, bob.clone()),
            at(10, eve.clone()),
            at(20, bob.clone()),
            at(30, eve.clone()),
            // Third for bob within five minutes: fires for bob only.
            at(40, bob.clone()),
        ],
    );
    assert_eq!(
        fired[..4],
        [vec![], vec![], vec![], vec![]] as [Vec<String>; 4]
    );
    assert_eq!(fired[4], ["Many failed logons"]);
    let hits = s.process(&at(50, bob.clone()));
    let hit = correlation_hits(&hits)[0];
    let detail = hit.correlation.as_ref().unwrap();
    assert_eq!(detail.correlation_type, "event_count");
    assert!(detail
        .group
        .contains(&("TargetUserName".to_string(), "bob".to_string())));
    assert_eq!(hit.rule.author.as_deref(), Some("spec author"));

    // Spread out over more than five minutes: never three in one window.
    let mut s = set(&text);
    let fired = run(
        &mut s,
        &[
            at(0, eve.clone()),
            at(200, eve.clone()),
            at(400, eve.clone()),
            at(600, eve),
        ],
    );
    assert!(fired.iter().all(Vec::is_empty), "{fired:?}");
}

#[test]
fn referenced_rules_are_not_reported_alone_unless_generate() {
    let text = format!(
        "{FAILED_LOGON}---
title: Two failures
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 1m
  condition:
    gte: 2
"
    );
    let mut s = set(&text);
    let hits = s.process(&at(0, json!({"EventID": 4625, "TargetUserName": "a"})));
    assert!(hits.is_empty(), "{hits:?}");
    let with_generate = text.replace("correlation:\n", "correlation:\n  generate: true\n");
    let mut s = set(&with_generate);
    let hits = s.process(&at(0, json!({"EventID": 4625, "TargetUserName": "a"})));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].rule.title, "Failed logon");
    assert_eq!(hits[0].rule.author.as_deref(), Some("spec"));
}

#[test]
fn value_count_counts_distinct_values() {
    // The specification's example: one source trying many user names.
    let text = format!(
        "{FAILED_LOGON}---
title: Failed logons with many users from one address
correlation:
  type: value_count
  rules:
    - failed_logon
  group-by:
    - IpAddress
  timespan: 5m
  condition:
    field: TargetUserName
    gte: 3
"
    );
    let mut s = set(&text);
    let from =
        |ip: &str, user: &str| json!({"EventID": 4625, "IpAddress": ip, "TargetUserName": user});
    let fired = run(
        &mut s,
        &[
            at(0, from("10.0.0.1", "alice")),
            // Repeats do not count.
            at(1, from("10.0.0.1", "alice")),
            at(2, from("10.0.0.1", "bob")),
            at(3, from("10.0.0.2", "carol")),
            at(4, from("10.0.0.1", "carol")),
        ],
    );
    assert_eq!(
        fired.iter().map(Vec::len).collect::<Vec<_>>(),
        [0, 0, 0, 0, 1]
    );
    let hits = s.process(&at(5, from("10.0.0.1", "dave")));
    let detail = correlation_hits(&hits)[0].correlation.clone().unwrap();
    assert_eq!(detail.correlation_type, "value_count");
    assert_eq!(detail.value, 4.0);
}

const RECON: &str = "title: whoami
name: recon_whoami
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
---
title: net
name: recon_net
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\net.exe'
  condition: selection
";

#[test]
fn temporal_needs_all_rules_in_the_window_in_any_order() {
    let text = format!(
        "{RECON}---
title: Reconnaissance
correlation:
  type: temporal
  rules:
    - recon_whoami
    - recon_net
  group-by:
    - ComputerName
  timespan: 5m
"
    );
    let ev = |host: &str, image: &str| json!({"ComputerName": host, "Image": image});
    let mut s = set(&text);
    let fired = run(
        &mut s,
        &[
            at(0, ev("pc1", "C:\\Windows\\net.exe")),
            // Other host: separate group.
            at(10, ev("pc2", "C:\\Windows\\whoami.exe")),
            at(20, ev("pc1", "C:\\Windows\\whoami.exe")),
        ],
    );
    assert_eq!(fired, [vec![], vec![], vec!["Reconnaissance".to_string()]]);
    // Too far apart.
    let mut s = set(&text);
    let fired = run(
        &mut s,
        &[
            at(0, ev("pc1", "C:\\Windows\\net.exe")),
            at(400, ev("pc1", "C:\\Windows\\whoami.exe")),
        ],
    );
    assert!(fired.iter().all(Vec::is_empty));
}

#[test]
fn temporal_ordered_needs_the_order() {
    // The specification's example: many failed logons followed by a successful one.
    let text = format!(
        "{FAILED_LOGON}---
{SUCCESS_LOGON}---
title: Many failed logons
name: many_failed_logons
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [User]
  timespan: 10m
  condition:
    gte: 2
---
title: Failed logons then success
correlation:
  type: temporal_ordered
  rules:
    - many_failed_logons
    - successful_logon
  group-by:
    - User
  timespan: 1h
"
    );
    let failed = json!({"EventID": 4625, "User": "bob"});
    let ok = json!({"EventID": 4624, "User": "bob"});
    let mut s = set(&text);
    let fired = run(
        &mut s,
        &[
            at(0, failed.clone()),
            at(10, failed.clone()),
            at(20, ok.clone()),
        ],
    );
    assert_eq!(fired[2], ["Failed logons then success"]);
    // Success first, failures after: no firing of the ordered rule.
    let mut s = set(&text);
    let fired = run(&mut s, &[at(0, ok), at(10, failed.clone()), at(20, failed)]);
    assert!(
        !fired
            .iter()
            .flatten()
            .any(|t| t == "Failed logons then success"),
        "{fired:?}"
    );
}

#[test]
fn temporal_ordered_between_detection_rules() {
    let text = format!(
        "{RECON}---
title: net then whoami
correlation:
  type: temporal_ordered
  rules:
    - recon_net
    - recon_whoami
  group-by:
    - ComputerName
  timespan: 5m
"
    );
    let ev = |image: &str| json!({"ComputerName": "pc1", "Image": image});
    let mut s = set(&text);
    let fired = run(
        &mut s,
        &[
            at(0, ev("C:\\Windows\\net.exe")),
            at(20, ev("C:\\Windows\\whoami.exe")),
        ],
    );
    assert_eq!(fired, [vec![], vec!["net then whoami".to_string()]]);
    let mut s = set(&text);
    let fired = run(
        &mut s,
        &[
            at(0, ev("C:\\Windows\\whoami.exe")),
            at(20, ev("C:\\Windows\\net.exe")),
        ],
    );
    assert!(fired.iter().all(Vec::is_empty), "{fired:?}");
}

#[test]
fn aliases_join_differently_named_fields() {
    // The specification's example: the same person under different field names per rule.
    let text = "title: VPN login
name: vpn_login
logsource:
  product: vpn
detection:
  selection:
    action: login
  condition: selection
---
title: Admin action
name: admin_action
logsource:
  product: app
detection:
  selection:
    action: admin
  condition: selection
---
title: VPN then admin, same person
correlation:
  type: temporal
  rules:
    - vpn_login
    - admin_action
  aliases:
    person:
      vpn_login: vpn_user
      admin_action: app_user
  group-by:
    - person
  timespan: 10m
";
    let mut s = set(text);
    let fired = run(
        &mut s,
        &[
            at(0, json!({"action": "login", "vpn_user": "bob"})),
            at(10, json!({"action": "admin", "app_user": "alice"})),
            at(20, json!({"action": "admin", "app_user": "bob"})),
        ],
    );
    assert_eq!(
        fired,
        [
            vec![],
            vec![],
            vec!["VPN then admin, same person".to_string()]
        ]
    );
}

#[test]
fn sigma_filters_exclude_matches_of_their_rules() {
    // A Sigma filter document (meta filter) against the failed-logon rule.
    let text = format!(
        "{FAILED_LOGON}---
title: Ignore the service account
logsource:
  product: windows
  service: security
filter:
  rules:
    - 0e95725d-7320-415d-80f7-004da920fc11
  selection:
    TargetUserName: svc_backup
  condition: not selection
"
    );
    let s = RuleSet::from_yaml(&text, &EngineOptions::default()).unwrap();
    assert!(s.check().failures.is_empty(), "{:?}", s.check().failures);
    let hits = |user: &str| {
        s.detect(&at(0, json!({"EventID": 4625, "TargetUserName": user})))
            .len()
    };
    assert_eq!(hits("bob"), 1);
    assert_eq!(hits("svc_backup"), 0);
}

/// A correlation over real records through `hunt`: the ten-plus role sessions the Stratus
/// tool opened while stealing an instance's password data, within one hour.
#[test]
fn hunt_runs_correlations_in_time_order() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("detect-corr-hunt");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    std::fs::copy(
        data.join("sigma/rules/cloud/aws/cloudtrail/aws_sts_assumerole_misuse.yml"),
        dir.join("aws_sts_assumerole_misuse.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("burst.yml"),
        "title: Burst of role sessions
author: trustplane
correlation:
  type: event_count
  rules:
    - 905d389b-b853-46d0-9d3d-dea0d3a3cd49
  group-by:
    - recipientAccountId
  timespan: 1h
  condition:
    gte: 10
level: medium
",
    )
    .unwrap();
    let report = trustplane_detect::hunt(&trustplane_detect::HuntOptions {
        rules: vec![dir],
        inputs: vec![
            data.join("logs/stratus-red-team/aws.credential-access.ec2-get-password-data.json")
        ],
        ..Default::default()
    })
    .unwrap();
    assert!(
        report.rules.failures.is_empty(),
        "{:?}",
        report.rules.failures
    );
    assert_eq!(report.rules.correlation_rules, 1);
    // The 30 single matches are folded into the correlation (generate defaults to false).
    assert!(report
        .matches
        .iter()
        .all(|m| m.rule.title == "Burst of role sessions"));
    // 30 sessions in five seconds, one account: the 10th to the 30th each meet `gte: 10`
    // (no suppression window is configured).
    assert_eq!(report.matches.len(), 21);
    let first = &report.matches[0];
    let detail = first.correlation.as_ref().unwrap();
    assert_eq!(detail.value, 10.0);
    assert_eq!(detail.group[0].0, "recipientAccountId");
    assert_eq!(first.rule.author.as_deref(), Some("trustplane"));
}

#[test]
fn chained_correlations_report_only_the_top_unless_generate() {
    // A correlation over a correlation: three failures, then a success, per user. The inner
    // event_count feeds the outer temporal_ordered and is not reported on its own.
    let text = format!(
        "{FAILED_LOGON}---
{SUCCESS_LOGON}---
title: Three failures
name: three_failures
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 3
---
title: Any success
name: any_success
correlation:
  type: event_count
  rules: [successful_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 1
---
title: Failures then success
correlation:
  type: temporal_ordered
  rules: [three_failures, any_success]
  group-by: [TargetUserName]
  timespan: 10m
"
    );
    let fail = json!({"EventID": 4625, "TargetUserName": "bob"});
    let ok = json!({"EventID": 4624, "TargetUserName": "bob"});
    let records = [
        at(0, fail.clone()),
        at(10, fail.clone()),
        at(20, fail.clone()),
        at(30, ok.clone()),
    ];
    let mut s = set(&text);
    let fired: Vec<Vec<String>> = records
        .iter()
        .map(|r| s.process(r).iter().map(|h| h.rule.title.clone()).collect())
        .collect();
    assert_eq!(
        fired,
        [
            vec![],
            vec![],
            vec![],
            vec!["Failures then success".to_string()]
        ]
    );
    // With `generate: true` on the outer rule, what it builds on is reported too.
    let mut s = set(&text.replace(
        "  type: temporal_ordered\n",
        "  type: temporal_ordered\n  generate: true\n",
    ));
    let fired: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let mut t: Vec<String> = s.process(r).iter().map(|h| h.rule.title.clone()).collect();
            t.sort();
            t
        })
        .collect();
    assert_eq!(fired[2], ["Three failures"]);
    assert_eq!(fired[3], ["Any success", "Failures then success"]);
}
