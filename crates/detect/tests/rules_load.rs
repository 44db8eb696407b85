//! Every shipped SigmaHQ rule loads.
#![allow(clippy::unwrap_used)]

mod common;

use trustplane_detect::check_rules;

#[test]
fn every_shipped_rule_loads() {
    for (dir, expected) in [
        ("rules", 249),
        ("rules-placeholder", 9),
        ("rules-threat-hunting", 4),
    ] {
        let check = check_rules(&[common::sigma(dir)]).unwrap();
        for f in &check.failures {
            eprintln!("{dir}: {f}");
        }
        assert!(
            check.failures.is_empty(),
            "{dir}: {} failures",
            check.failures.len()
        );
        assert_eq!(check.files, expected, "{dir}");
        assert_eq!(
            check.detection_rules + check.correlation_rules,
            expected,
            "{dir}: one rule per file"
        );
    }
}

#[test]
fn all_folders_at_once() {
    let check = check_rules(&[common::data().join("sigma")]).unwrap();
    assert_eq!((check.files, check.detection_rules), (262, 262));
    assert!(check.failures.is_empty());
}

#[test]
fn check_rules_names_each_bad_rule_and_why() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("detect-check-rules");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let good = "title: good\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName: x\n  condition: sel\n";
    std::fs::write(dir.join("good.yml"), good).unwrap();
    std::fs::write(dir.join("sub/not-yaml.yml"), "title: [unclosed\n").unwrap();
    std::fs::write(
        dir.join("sub/bad-regex.yaml"),
        "title: bad regex\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName|re: '(['\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("unknown-selection.yml"),
        "title: unknown selection\nlogsource:\n  product: aws\ndetection:\n  sel:\n    a: 1\n  condition: sel or other\n",
    )
    .unwrap();
    // Not a rule file: ignored.
    std::fs::write(dir.join("notes.txt"), "title: [").unwrap();

    let check = check_rules(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(check.files, 4);
    assert_eq!(check.detection_rules, 1);
    let mut failed: Vec<(String, Option<String>)> = check
        .failures
        .iter()
        .map(|f| {
            (
                f.path.strip_prefix(&dir).unwrap().display().to_string(),
                f.rule.clone(),
            )
        })
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            (
                "sub/bad-regex.yaml".to_string(),
                Some("bad regex".to_string())
            ),
            ("sub/not-yaml.yml".to_string(), None),
            (
                "unknown-selection.yml".to_string(),
                Some("unknown selection".to_string())
            ),
        ]
    );
    for f in &check.failures {
        assert!(!f.reason.is_empty());
        eprintln!("{f}");
    }
    // A missing rules folder is an error, not an empty rule set.
    assert!(check_rules(&[dir.join("missing")]).is_err());
}
