//! Each field modifier, the condition grammar and keyword searches, against cases built from
//! the examples of the Sigma specification (2.0, "Sigma Modifiers Appendix" and "Sigma Rules
//! Specification").
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use trustplane_detect::{EngineOptions, Record, RecordOrigin, RuleSet};

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nauthor: tester\nlogsource:\n  product: test\ndetection:\n{detection}\nlevel: low\n"
    )
}

fn compile(detection: &str, options: &EngineOptions) -> RuleSet {
    let set = RuleSet::from_yaml(&rule(detection), options).unwrap();
    assert!(
        set.check().failures.is_empty(),
        "{:?}",
        set.check().failures
    );
    assert_eq!(set.check().detection_rules, 1);
    set
}

fn record(v: Value) -> Record {
    Record::from_json(
        v,
        RecordOrigin {
            path: "mem".into(),
            index: 0,
        },
    )
}

/// Whether the detection matches each event, in order.
fn check(detection: &str, events: &[(Value, bool)]) {
    check_with(detection, &EngineOptions::default(), events);
}

fn check_with(detection: &str, options: &EngineOptions, events: &[(Value, bool)]) {
    let set = compile(detection, options);
    for (event, expected) in events {
        let got = !set.detect(&record(event.clone())).is_empty();
        assert_eq!(got, *expected, "detection:\n{detection}\nevent: {event}");
    }
}

#[test]
fn plain_values_are_case_insensitive_and_wildcards_work() {
    check(
        "  sel:\n    Image: 'C:\\Windows\\\\*\\cmd.exe'\n    User: adm?n\n  condition: sel",
        &[
            (
                json!({"Image": "c:\\windows\\system32\\CMD.EXE", "User": "ADMIN"}),
                true,
            ),
            (
                json!({"Image": "C:\\Windows\\cmd.exe", "User": "admin"}),
                false,
            ),
            (
                json!({"Image": "C:\\Windows\\x\\cmd.exe", "User": "admiin"}),
                false,
            ),
        ],
    );
    // A backslash before a wildcard escapes it; `\\*` above is a backslash then a wildcard.
    check(
        "  sel:\n    Name: 'a\\*b'\n  condition: sel",
        &[
            (json!({"Name": "a*b"}), true),
            (json!({"Name": "axxb"}), false),
        ],
    );
}

#[test]
fn lists_are_or_and_maps_are_and() {
    check(
        "  sel:\n    EventID:\n      - 4624\n      - 4625\n    Logon: 3\n  condition: sel",
        &[
            (json!({"EventID": 4625, "Logon": 3}), true),
            // Numbers that arrive as strings compare equal to numeric values.
            (json!({"EventID": "4624", "Logon": "3"}), true),
            (json!({"EventID": 4624, "Logon": 2}), false),
            (json!({"EventID": 1, "Logon": 3}), false),
        ],
    );
    // A list of maps: any map.
    check(
        "  sel:\n    - a: 1\n      b: 2\n    - c: 3\n  condition: sel",
        &[
            (json!({"a": 1, "b": 2}), true),
            (json!({"c": 3}), true),
            (json!({"a": 1}), false),
        ],
    );
}

#[test]
fn contains_startswith_endswith_and_all() {
    check(
        "  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel",
        &[
            (json!({"CommandLine": "powershell -ENC abc"}), true),
            (json!({"CommandLine": "powershell -encoded"}), false),
        ],
    );
    check(
        "  sel:\n    Image|startswith: 'C:\\Temp\\'\n  condition: sel",
        &[
            (json!({"Image": "c:\\temp\\x.exe"}), true),
            (json!({"Image": "D:\\temp\\x.exe"}), false),
        ],
    );
    check(
        "  sel:\n    Image|endswith:\n      - '\\rundll32.exe'\n      - '\\regsvr32.exe'\n  condition: sel",
        &[
            (json!({"Image": "C:\\x\\REGSVR32.exe"}), true),
            (json!({"Image": "C:\\x\\regsvr32.exe.bak"}), false),
        ],
    );
    check(
        "  sel:\n    CommandLine|contains|all:\n      - ' -w hidden '\n      - ' -nop '\n  condition: sel",
        &[
            (json!({"CommandLine": "ps -nop -w hidden -c x"}), true),
            (json!({"CommandLine": "ps -w hidden -c x"}), false),
        ],
    );
}

#[test]
fn nested_fields_resolve_through_dots() {
    check(
        "  sel:\n    userIdentity.type: Root\n    userIdentity.sessionContext.attributes.mfaAuthenticated: 'false'\n  condition: sel",
        &[
            (
                json!({"userIdentity": {"type": "Root", "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}}}),
                true,
            ),
            (json!({"userIdentity": {"type": "IAMUser"}}), false),
        ],
    );
}

#[test]
fn regular_expressions_and_their_flags() {
    check(
        "  sel:\n    CommandLine|re: 'P(owershell|wsh)\\.exe'\n  condition: sel",
        &[
            (json!({"CommandLine": "x Pwsh.exe y"}), true),
            // Regular expressions are case-sensitive without `i`.
            (json!({"CommandLine": "x pwsh.exe y"}), false),
        ],
    );
    check(
        "  sel:\n    CommandLine|re|i: 'p(owershell|wsh)\\.exe'\n  condition: sel",
        &[(json!({"CommandLine": "x PWSH.EXE y"}), true)],
    );
    // m: `^` and `$` match at line boundaries.
    check(
        "  sel:\n    Text|re|m: '^second$'\n  condition: sel",
        &[
            (json!({"Text": "first\nsecond\nthird"}), true),
            (json!({"Text": "first second"}), false),
        ],
    );
    check(
        "  sel:\n    Text|re: '^second$'\n  condition: sel",
        &[(json!({"Text": "first\nsecond\nthird"}), false)],
    );
    // s: `.` matches newlines.
    check(
        "  sel:\n    Text|re|s: 'begin.+end'\n  condition: sel",
        &[(json!({"Text": "begin\nmiddle\nend"}), true)],
    );
    check(
        "  sel:\n    Text|re: 'begin.+end'\n  condition: sel",
        &[(json!({"Text": "begin\nmiddle\nend"}), false)],
    );
}

#[test]
fn cidr() {
    check(
        "  sel:\n    SourceIp|cidr:\n      - 192.168.0.0/16\n      - '2001:db8::/32'\n  condition: sel",
        &[
            (json!({"SourceIp": "192.168.7.1"}), true),
            (json!({"SourceIp": "2001:db8:1::5"}), true),
            (json!({"SourceIp": "192.169.0.1"}), false),
            (json!({"SourceIp": "ec2.amazonaws.com"}), false),
        ],
    );
}

#[test]
fn base64_and_base64offset() {
    check(
        "  sel:\n    Data|base64: 'sigma rules'\n  condition: sel",
        &[
            (json!({"Data": "c2lnbWEgcnVsZXM="}), true),
            (json!({"Data": "sigma rules"}), false),
        ],
    );
    // "yy ping zz", base64-encoded: `ping` sits at an offset that is a multiple of three.
    check(
        "  sel:\n    CommandLine|base64offset|contains: 'ping'\n  condition: sel",
        &[
            (
                json!({"CommandLine": "powershell -e eXkgcGluZyB6eg=="}),
                true,
            ),
            // "xping": offset 1.
            (json!({"CommandLine": "x eHBpbmc= x"}), true),
            // "xxping": offset 2.
            (json!({"CommandLine": "x eHhwaW5n x"}), true),
            (json!({"CommandLine": "x cG9uZw== x"}), false),
        ],
    );
}

#[test]
fn wide_and_utf16_encodings() {
    // wide = utf16le, then base64.
    check(
        "  sel:\n    Data|wide|base64: 'cmd'\n  condition: sel",
        &[
            (json!({"Data": "YwBtAGQA"}), true),
            (json!({"Data": "Y21k"}), false),
        ],
    );
    check(
        "  sel:\n    Data|utf16le|base64: 'cmd'\n  condition: sel",
        &[(json!({"Data": "YwBtAGQA"}), true)],
    );
    check(
        "  sel:\n    Data|utf16be|base64: 'cmd'\n  condition: sel",
        &[
            (json!({"Data": "AGMAbQBk"}), true),
            (json!({"Data": "YwBtAGQA"}), false),
        ],
    );
    // utf16: with a byte order mark.
    check(
        "  sel:\n    Data|utf16|base64: 'cmd'\n  condition: sel",
        &[(json!({"Data": "//5jAG0AZAA="}), true)],
    );
    // The specification's combination for encoded PowerShell: wide + base64offset + contains.
    check(
        "  sel:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: sel",
        &[
            (
                json!({"CommandLine": "powershell -enc IABjAG0AZAAgAHAAaQBuAGcAIAA="}),
                true,
            ),
            (
                json!({"CommandLine": "powershell -enc eXkgcGluZyB6eg=="}),
                false,
            ),
        ],
    );
}

#[test]
fn windash() {
    // `-` also matches `/`, en dash, em dash and horizontal bar.
    check(
        "  sel:\n    CommandLine|windash|contains: ' -exec '\n  condition: sel",
        &[
            (json!({"CommandLine": "psexec -exec x"}), true),
            (json!({"CommandLine": "psexec /exec x"}), true),
            (json!({"CommandLine": "psexec \u{2013}exec x"}), true),
            (json!({"CommandLine": "psexec \u{2014}exec x"}), true),
            (json!({"CommandLine": "psexec \u{2015}exec x"}), true),
            (json!({"CommandLine": "psexec +exec x"}), false),
        ],
    );
}

#[test]
fn exists_and_null() {
    check(
        "  sel:\n    errorCode|exists: true\n  condition: sel",
        &[
            (json!({"errorCode": "AccessDenied"}), true),
            (json!({"eventName": "x"}), false),
        ],
    );
    check(
        "  sel:\n    eventName: x\n    errorCode|exists: false\n  condition: sel",
        &[
            (json!({"eventName": "x"}), true),
            (
                json!({"eventName": "x", "errorCode": "AccessDenied"}),
                false,
            ),
        ],
    );
    // `null` matches a missing field or a JSON null.
    check(
        "  sel:\n    eventName: x\n    errorCode: null\n  condition: sel",
        &[
            (json!({"eventName": "x"}), true),
            (json!({"eventName": "x", "errorCode": null}), true),
            (json!({"eventName": "x", "errorCode": "Denied"}), false),
        ],
    );
}

#[test]
fn numeric_comparisons_accept_numbers_sent_as_strings() {
    check(
        "  sel:\n    bytesTransferredOut|gt: 1000000\n  condition: sel",
        &[
            (json!({"bytesTransferredOut": 2000000}), true),
            (json!({"bytesTransferredOut": "2000000"}), true),
            (json!({"bytesTransferredOut": 1000000}), false),
            (json!({"bytesTransferredOut": "lots"}), false),
        ],
    );
    check(
        "  sel:\n    n|gte: 10\n  condition: sel",
        &[(json!({"n": 10}), true), (json!({"n": "9.5"}), false)],
    );
    check(
        "  sel:\n    n|lt: 10\n  condition: sel",
        &[(json!({"n": 9.5}), true), (json!({"n": "10"}), false)],
    );
    check(
        "  sel:\n    n|lte: 10\n  condition: sel",
        &[(json!({"n": "10"}), true), (json!({"n": 11}), false)],
    );
}

#[test]
fn fieldref_compares_two_fields() {
    check(
        "  sel:\n    TargetUser|fieldref: SourceUser\n  condition: sel",
        &[
            (json!({"TargetUser": "Bob", "SourceUser": "bob"}), true),
            (json!({"TargetUser": "bob", "SourceUser": "alice"}), false),
            (json!({"TargetUser": "bob"}), false),
        ],
    );
    // What aws_iam_backdoor_users_keys means: a key created for someone else.
    check(
        "  sel:\n    eventName: CreateAccessKey\n  filter:\n    userIdentity.arn|fieldref|endswith: responseElements.accessKey.userName\n  condition: sel and not filter",
        &[
            (
                json!({"eventName": "CreateAccessKey", "userIdentity": {"arn": "arn:aws:iam::1:user/eve"},
                       "responseElements": {"accessKey": {"userName": "mallory"}}}),
                true,
            ),
            (
                json!({"eventName": "CreateAccessKey", "userIdentity": {"arn": "arn:aws:iam::1:user/eve"},
                       "responseElements": {"accessKey": {"userName": "eve"}}}),
                false,
            ),
        ],
    );
}

#[test]
fn cased_makes_matching_case_sensitive() {
    check(
        "  sel:\n    Name|cased: 'AdFind'\n  condition: sel",
        &[
            (json!({"Name": "AdFind"}), true),
            (json!({"Name": "adfind"}), false),
        ],
    );
    check(
        "  sel:\n    Name|contains|cased: 'Find'\n  condition: sel",
        &[
            (json!({"Name": "AdFind.exe"}), true),
            (json!({"Name": "adfind.exe"}), false),
        ],
    );
}

#[test]
fn expand_uses_configured_placeholders() {
    let mut placeholders = BTreeMap::new();
    placeholders.insert(
        "Admins".to_string(),
        vec![
            "alice@example.com".to_string(),
            "bob@example.com".to_string(),
        ],
    );
    let options = EngineOptions { placeholders };
    let detection = "  sel:\n    eventName: ConsoleLogin\n  filter:\n    user|expand: '%Admins%'\n  condition: sel and not filter";
    check_with(
        detection,
        &options,
        &[
            (
                json!({"eventName": "ConsoleLogin", "user": "bob@example.com"}),
                false,
            ),
            (
                json!({"eventName": "ConsoleLogin", "user": "mallory@example.com"}),
                true,
            ),
        ],
    );
}

#[test]
fn keywords_search_every_string_value() {
    check(
        "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords",
        &[
            (json!({"a": {"b": "run MIMIKATZ now"}}), true),
            (json!({"list": ["x", "sekurlsa::logonpasswords"]}), true),
            (json!({"a": "clean"}), false),
        ],
    );
    // Keywords combined with field selections.
    check(
        "  keywords:\n    - 'evil'\n  sel:\n    eventName: Run\n  condition: keywords and sel",
        &[
            (json!({"eventName": "Run", "x": "evil"}), true),
            (json!({"eventName": "Stop", "x": "evil"}), false),
        ],
    );
}

#[test]
fn condition_grammar() {
    let detection = "  sel_a:\n    a: 1\n  sel_b:\n    b: 1\n  filter:\n    f: 1\n  condition: (sel_a or sel_b) and not filter";
    check(
        detection,
        &[
            (json!({"a": 1}), true),
            (json!({"b": 1}), true),
            (json!({"a": 1, "f": 1}), false),
            (json!({"c": 1}), false),
        ],
    );
    // Precedence: not > and > or.
    check(
        "  x:\n    x: 1\n  y:\n    y: 1\n  z:\n    z: 1\n  condition: x or y and not z",
        &[
            (json!({"x": 1, "z": 1}), true),
            (json!({"y": 1, "z": 1}), false),
            (json!({"y": 1}), true),
        ],
    );
    let sel = "  selection_a:\n    a: 1\n  selection_b:\n    b: 1\n  other:\n    o: 1\n";
    check(
        &format!("{sel}  condition: 1 of selection_*"),
        &[(json!({"b": 1}), true), (json!({"o": 1}), false)],
    );
    check(
        &format!("{sel}  condition: all of selection_*"),
        &[(json!({"a": 1, "b": 1}), true), (json!({"a": 1}), false)],
    );
    check(
        &format!("{sel}  condition: 1 of them"),
        &[(json!({"o": 1}), true), (json!({"z": 1}), false)],
    );
    check(
        &format!("{sel}  condition: all of them"),
        &[
            (json!({"a": 1, "b": 1, "o": 1}), true),
            (json!({"a": 1, "b": 1}), false),
        ],
    );
    check(
        &format!("{sel}  condition: other and not 1 of selection_*"),
        &[(json!({"o": 1}), true), (json!({"o": 1, "a": 1}), false)],
    );
    // Several conditions in a list: any of them.
    check(
        &format!("{sel}  condition:\n    - selection_a and selection_b\n    - other"),
        &[(json!({"o": 1}), true), (json!({"a": 1}), false)],
    );
}

#[test]
fn rules_for_other_log_sources_are_not_tried() {
    // An Okta rule whose field happens to exist in a CloudTrail record does not match it.
    let text = "title: okta\nlogsource:\n  product: okta\n  service: okta\ndetection:\n  sel:\n    eventName: ConsoleLogin\n  condition: sel\n";
    let set = RuleSet::from_yaml(text, &EngineOptions::default()).unwrap();
    let ct = record(json!({"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin"}));
    assert!(set.detect(&ct).is_empty());
    let other = record(json!({"eventName": "ConsoleLogin"}));
    assert_eq!(set.detect(&other).len(), 1);
}

#[test]
fn bad_rules_are_reported_with_reasons() {
    let text = "title: unknown modifier\nlogsource:\n  product: test\ndetection:\n  sel:\n    a|nosuchmodifier: 1\n  condition: sel\n---\ntitle: missing selection\nlogsource:\n  product: test\ndetection:\n  sel:\n    a: 1\n  condition: sel and nothere\n---\ntitle: fine\nlogsource:\n  product: test\ndetection:\n  sel:\n    a: 1\n  condition: sel\n";
    let set = RuleSet::from_yaml(text, &EngineOptions::default()).unwrap();
    let check = set.check();
    assert_eq!(check.detection_rules, 1, "{:?}", check.failures);
    assert_eq!(check.failures.len(), 2, "{:?}", check.failures);
    for f in &check.failures {
        assert!(!f.reason.is_empty());
    }
}
