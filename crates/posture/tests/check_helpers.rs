//! The small parsers the checks rely on, at their edges.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use trustplane_posture::checks::aws_iam::{allows_full_admin, policy_document};
use trustplane_posture::checks::aws_monitoring::{pattern_matches, PATTERNS};
use trustplane_posture::checks::identity::trusted_saml_providers;

#[test]
fn metric_filter_patterns_ignore_spacing_and_quotes_but_need_every_term() {
    let terms = PATTERNS
        .iter()
        .find(|(id, _, _)| *id == "cloudwatch_log_metric_filter_authentication_failures")
        .unwrap()
        .2;
    assert!(pattern_matches(
        r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
        terms
    ));
    assert!(pattern_matches(
        r#"{($.eventName="ConsoleLogin")&&($.errorMessage="Failed authentication")}"#,
        terms
    ));
    assert!(!pattern_matches(
        r#"{ ($.eventName = ConsoleLogin) }"#,
        terms
    ));
    assert!(!pattern_matches("", &[]));
    // Every control has terms.
    assert_eq!(PATTERNS.len(), 15);
    assert!(PATTERNS.iter().all(|(_, _, t)| !t.is_empty()));
}

#[test]
fn policy_documents_decode_from_objects_json_strings_and_url_encoding() {
    let obj = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    assert!(allows_full_admin(&policy_document(Some(&obj)).unwrap()));
    let text = json!(obj.to_string());
    assert!(allows_full_admin(&policy_document(Some(&text)).unwrap()));
    let encoded = json!("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D");
    let doc = policy_document(Some(&encoded)).unwrap();
    assert!(!allows_full_admin(&doc), "s3:* is not *");
    assert!(policy_document(Some(&json!("%7Bnot json"))).is_none());
    let deny = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
    assert!(!allows_full_admin(&deny));
}

#[test]
fn saml_providers_come_only_from_allow_statements_with_federated_principals() {
    let trust = json!({"Statement": [
        {"Effect": "Allow", "Principal": {"Federated": ["arn:aws:iam::1:saml-provider/Trustplane", "cognito-identity.amazonaws.com"]}, "Action": "sts:AssumeRoleWithSAML"},
        {"Effect": "Deny", "Principal": {"Federated": "arn:aws:iam::1:saml-provider/Denied"}, "Action": "sts:AssumeRoleWithSAML"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}
    ]});
    assert_eq!(
        trusted_saml_providers(&trust),
        ["arn:aws:iam::1:saml-provider/Trustplane"]
    );
}
