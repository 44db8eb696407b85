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
