//! The rule parser takes any text without panicking: random YAML-ish input, and mutations of
//! real rules. (The `sigma_rule` fuzz target in `crates/fuzz-targets` calls it the same way.)
#![allow(clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use trustplane_detect::{parse_rule_text, EngineOptions, RuleSet};

/// Pieces that make the generated text look like Sigma, so the parser goes deep.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("title: x\n".to_string()),
        Just("logsource:\n  product: aws\n".to_string()),
        Just("detection:\n".to_string()),
        Just("  sel:\n".to_string()),
        Just("    a|contains|all:\n      - b\n".to_string()),
        Just("    a|re|i: '(['\n".to_string()),
        Just("    a|base64offset|contains: x\n".to_string()),
        Just("    a|cidr: 300.1.1.1/99\n".to_string()),
        Just("    a|gt: notanumber\n".to_string()),
        Just("    a|fieldref: \n".to_string()),
        Just("    a|expand: '%p%'\n".to_string()),
        Just("  condition: sel and not (1 of x* or all of them\n".to_string()),
        Just("  condition: sel\n".to_string()),
        Just("correlation:\n  type: temporal\n  rules: [x]\n  timespan: 5q\n".to_string()),
        Just("---\n".to_string()),
        Just("action: global\n".to_string()),
        Just("action: repeat\n".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("  ".to_string()),
        Just("|".to_string()),
        Just("&a *a ".to_string()),
        Just("!!binary ".to_string()),
        "[a-z|:%*?\\\\\\[\\]{}'\" \n-]{0,12}",
    ];
    prop::collection::vec(token, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_yamlish_input_never_panics(text in yamlish()) {
        let parsed = parse_rule_text(&text);
        // Compiling what parsed must not panic either.
        let _ = RuleSet::from_yaml(&text, &EngineOptions::default());
        let _ = parsed.detection_count() + parsed.correlation_count();
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_rule_text(&text);
    }

    #[test]
    fn truncated_real_rules_never_panic(cut in 0usize..2000, which in 0usize..20) {
        let dir = common::sigma("rules/cloud/aws/cloudtrail");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let text = std::fs::read_to_string(&files[which % files.len()]).unwrap();
        let mut end = cut.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let _ = RuleSet::from_yaml(&text[..end], &EngineOptions::default());
    }
}

/// Issue 13 item 1: a condition nested thousands of parentheses deep overflowed the stack in
/// the condition grammar's recursive parser, before any depth check ran. Refused up front, on a
/// stack as small as a server worker's; the same shape in YAML flow collections likewise.
#[test]
fn deeply_nested_rules_are_refused_without_recursing() {
    let run = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let deep_condition = format!(
                "title: deep\nlogsource:\n  product: aws\ndetection:\n  sel:\n    a: b\n  condition: {}sel{}\n",
                "(".repeat(20_000),
                ")".repeat(20_000)
            );
            let deep_flow = format!(
                "title: deep\nlogsource:\n  product: aws\ndetection:\n  sel:\n    a: {}b{}\n  condition: sel\n",
                "[".repeat(20_000),
                "]".repeat(20_000)
            );
            [deep_condition, deep_flow].map(|text| {
                let parsed = parse_rule_text(&text);
                (parsed.detection_count(), parsed.errors.join("; "))
            })
        })
        .unwrap();
    for (count, errors) in run.join().unwrap() {
        assert_eq!(count, 0);
        assert!(errors.contains("nest deeper"), "{errors}");
    }
    // A real rule's few levels still parse.
    let ok = "title: ok\nlogsource:\n  product: aws\ndetection:\n  sel:\n    a: [b, c]\n  condition: (sel and not (sel))\n";
    assert_eq!(parse_rule_text(ok).detection_count(), 1);
}
