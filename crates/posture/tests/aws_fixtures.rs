//! Hand-written AWS inventories (tests/fixtures/aws): exact PASS / FAIL / ERROR per check and
//! resource, including what the AWS emulator cannot produce (the credential report's root
//! row, Access Analyzer, hardware MFA) and recorded collection errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use trustplane_posture::{assess, AssessOptions, Assessment, Inventory, Registry, Status};

/// 2026-11-28T00:00:00Z.
pub const NOW: i64 = 1_795_824_000;

fn options() -> AssessOptions {
    AssessOptions {
        now: NOW,
        trustplane_saml_providers: vec!["arn:aws:iam::222222222222:saml-provider/Trustplane".into()],
        federated_accounts: vec!["111111111111".into(), "222222222222".into()],
        known_identities: Some(vec!["bob".into(), "carol@example.com".into()]),
    }
}

fn run() -> Assessment {
    let inv = Inventory::load_dir(&common::fixtures().join("aws")).unwrap();
    assess(
        &inv,
        &common::benchmarks(),
        &Registry::builtin(),
        &options(),
    )
}

/// (check, resource id) -> status, for every non-MANUAL finding.
fn table(a: &Assessment) -> BTreeMap<(String, String), Status> {
    let mut m = BTreeMap::new();
    for f in a.findings.iter().filter(|f| f.status != Status::Manual) {
        let prev = m.insert((f.check_id.to_string(), f.resource.id.clone()), f.status);
        assert!(
            prev.is_none(),
            "two findings for {} {}",
            f.check_id,
            f.resource.id
        );
    }
    m
}

use Status::{Error, Fail, Pass};

/// Every non-MANUAL finding the fixtures must produce, and nothing else.
const EXPECTED: &[(&str, &str, Status)] = &[
    (
        "accessanalyzer_enabled",
        "111111111111/eu-west-1/analyzers",
        Fail,
    ),
    (
        "accessanalyzer_enabled",
        "111111111111/us-east-1/analyzers",
        Pass,
    ),
    (
        "accessanalyzer_enabled",
        "222222222222/eu-west-1/analyzers",
        Pass,
    ),
    (
        "accessanalyzer_enabled",
        "222222222222/us-east-1/analyzers",
        Pass,
    ),
    (
        "cloudtrail_kms_encryption_enabled",
        "arn:aws:cloudtrail:us-east-1:111111111111:trail/a-trail",
        Fail,
    ),
    (
        "cloudtrail_kms_encryption_enabled",
        "arn:aws:cloudtrail:us-east-1:222222222222:trail/b-trail",
        Pass,
    ),
    (
        "cloudtrail_log_file_validation_enabled",
        "arn:aws:cloudtrail:us-east-1:111111111111:trail/a-trail",
        Fail,
    ),
    (
        "cloudtrail_log_file_validation_enabled",
        "arn:aws:cloudtrail:us-east-1:222222222222:trail/b-trail",
        Pass,
    ),
    (
        "cloudtrail_logs_s3_bucket_access_logging_enabled",
        "arn:aws:cloudtrail:us-east-1:111111111111:trail/a-trail",
        Fail,
    ),
    (
        "cloudtrail_logs_s3_bucket_access_logging_enabled",
        "arn:aws:cloudtrail:us-east-1:222222222222:trail/b-trail",
        Pass,
    ),
    (
        "cloudtrail_logs_s3_bucket_access_logging_enabled",
        "arn:aws:s3:::b-secret",
        Error,
    ),
    ("cloudtrail_multi_region_enabled", "111111111111", Fail),
    ("cloudtrail_multi_region_enabled", "222222222222", Pass),
    (
        "cloudtrail_s3_dataevents_read_enabled",
        "111111111111",
        Fail,
    ),
    (
        "cloudtrail_s3_dataevents_read_enabled",
        "222222222222",
        Pass,
    ),
    (
        "cloudtrail_s3_dataevents_write_enabled",
        "111111111111",
        Fail,
    ),
    (
        "cloudtrail_s3_dataevents_write_enabled",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_changes_to_network_acls_alarm_configured",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_changes_to_network_acls_alarm_configured",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_changes_to_network_gateways_alarm_configured",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_changes_to_network_gateways_alarm_configured",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_changes_to_network_route_tables_alarm_configured",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_changes_to_network_route_tables_alarm_configured",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_changes_to_vpcs_alarm_configured",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_changes_to_vpcs_alarm_configured",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_and_alarm_for_aws_config_configuration_changes_enabled",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_and_alarm_for_aws_config_configuration_changes_enabled",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_and_alarm_for_cloudtrail_configuration_changes_enabled",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_and_alarm_for_cloudtrail_configuration_changes_enabled",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_authentication_failures",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_authentication_failures",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_aws_organizations_changes",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_aws_organizations_changes",
        "222222222222",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_for_s3_bucket_policy_changes",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_for_s3_bucket_policy_changes",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_policy_changes",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_policy_changes",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_root_usage",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_root_usage",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_security_group_changes",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_security_group_changes",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_sign_in_without_mfa",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_sign_in_without_mfa",
        "222222222222",
        Pass,
    ),
    (
        "cloudwatch_log_metric_filter_unauthorized_api_calls",
        "111111111111",
        Fail,
    ),
    (
        "cloudwatch_log_metric_filter_unauthorized_api_calls",
        "222222222222",
        Pass,
    ),
    (
        "config_recorder_all_regions_enabled",
        "111111111111/eu-west-1",
        Error,
    ),
    (
        "config_recorder_all_regions_enabled",
        "111111111111/us-east-1/config",
        Fail,
    ),
    (
        "config_recorder_all_regions_enabled",
        "222222222222/eu-west-1/config",
        Pass,
    ),
    (
        "config_recorder_all_regions_enabled",
        "222222222222/us-east-1/config",
        Pass,
    ),
    (
        "ec2_ebs_default_encryption",
        "111111111111/eu-west-1/ebs-default",
        Pass,
    ),
    (
        "ec2_ebs_default_encryption",
        "111111111111/us-east-1/ebs-default",
        Fail,
    ),
    (
        "ec2_ebs_default_encryption",
        "222222222222/eu-west-1/ebs-default",
        Pass,
    ),
    (
        "ec2_ebs_default_encryption",
        "222222222222/us-east-1/ebs-default",
        Pass,
    ),
    (
        "ec2_instance_imdsv2_enabled",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_instance_imdsv2_enabled", "i-a1", Fail),
    ("ec2_instance_imdsv2_enabled", "i-b1", Pass),
    (
        "ec2_instance_port_cifs_exposed_to_internet",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_instance_port_cifs_exposed_to_internet", "i-a1", Fail),
    ("ec2_instance_port_cifs_exposed_to_internet", "i-b1", Pass),
    (
        "ec2_instance_profile_attached",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_instance_profile_attached", "i-a1", Fail),
    ("ec2_instance_profile_attached", "i-b1", Pass),
    (
        "ec2_networkacl_allow_ingress_admin_ports",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_networkacl_allow_ingress_admin_ports", "acl-a1", Fail),
    ("ec2_networkacl_allow_ingress_admin_ports", "acl-b1", Pass),
    (
        "ec2_securitygroup_admin_ports_open_ipv4",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_securitygroup_admin_ports_open_ipv4", "sg-a0", Pass),
    ("ec2_securitygroup_admin_ports_open_ipv4", "sg-a1", Fail),
    ("ec2_securitygroup_admin_ports_open_ipv4", "sg-a2", Fail),
    ("ec2_securitygroup_admin_ports_open_ipv4", "sg-b0", Pass),
    ("ec2_securitygroup_admin_ports_open_ipv4", "sg-b1", Pass),
    (
        "ec2_securitygroup_admin_ports_open_ipv6",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_securitygroup_admin_ports_open_ipv6", "sg-a0", Pass),
    ("ec2_securitygroup_admin_ports_open_ipv6", "sg-a1", Fail),
    ("ec2_securitygroup_admin_ports_open_ipv6", "sg-a2", Pass),
    ("ec2_securitygroup_admin_ports_open_ipv6", "sg-b0", Pass),
    ("ec2_securitygroup_admin_ports_open_ipv6", "sg-b1", Pass),
    (
        "ec2_securitygroup_default_restrict_traffic",
        "222222222222/eu-west-1",
        Error,
    ),
    ("ec2_securitygroup_default_restrict_traffic", "sg-a0", Fail),
    ("ec2_securitygroup_default_restrict_traffic", "sg-b0", Pass),
    ("efs_encryption_at_rest_enabled", "fs-a1", Fail),
    ("efs_encryption_at_rest_enabled", "fs-b1", Pass),
    ("iam_avoid_root_usage", "333333333333", Error),
    (
        "iam_avoid_root_usage",
        "arn:aws:iam::111111111111:root",
        Fail,
    ),
    (
        "iam_avoid_root_usage",
        "arn:aws:iam::222222222222:root",
        Pass,
    ),
    (
        "iam_aws_attached_policy_no_administrative_privileges",
        "arn:aws:iam::aws:policy/AWSSupportAccess",
        Pass,
    ),
    (
        "iam_aws_attached_policy_no_administrative_privileges",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        Fail,
    ),
    (
        "iam_customer_attached_policy_no_administrative_privileges",
        "arn:aws:iam::111111111111:policy/admin-all",
        Fail,
    ),
    (
        "iam_customer_attached_policy_no_administrative_privileges",
        "arn:aws:iam::222222222222:policy/read-s3",
        Pass,
    ),
    (
        "iam_no_expired_server_certificates_stored",
        "arn:aws:iam::111111111111:server-certificate/old",
        Fail,
    ),
    (
        "iam_no_expired_server_certificates_stored",
        "arn:aws:iam::222222222222:server-certificate/current",
        Pass,
    ),
    ("iam_no_root_access_key", "333333333333", Error),
    (
        "iam_no_root_access_key",
        "arn:aws:iam::111111111111:root",
        Fail,
    ),
    (
        "iam_no_root_access_key",
        "arn:aws:iam::222222222222:root",
        Pass,
    ),
    (
        "iam_password_policy_minimum_length_14",
        "333333333333",
        Error,
    ),
    (
        "iam_password_policy_minimum_length_14",
        "arn:aws:iam::111111111111:password-policy",
        Fail,
    ),
    (
        "iam_password_policy_minimum_length_14",
        "arn:aws:iam::222222222222:password-policy",
        Pass,
    ),
    ("iam_password_policy_reuse_24", "333333333333", Error),
    (
        "iam_password_policy_reuse_24",
        "arn:aws:iam::111111111111:password-policy",
        Fail,
    ),
    (
        "iam_password_policy_reuse_24",
        "arn:aws:iam::222222222222:password-policy",
        Pass,
    ),
    (
        "iam_policy_attached_only_to_group_or_roles",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "iam_policy_attached_only_to_group_or_roles",
        "arn:aws:iam::111111111111:user/bob",
        Fail,
    ),
    (
        "iam_policy_attached_only_to_group_or_roles",
        "arn:aws:iam::222222222222:user/carol",
        Pass,
    ),
    ("iam_root_hardware_mfa_enabled", "333333333333", Error),
    (
        "iam_root_hardware_mfa_enabled",
        "arn:aws:iam::111111111111:root",
        Fail,
    ),
    (
        "iam_root_hardware_mfa_enabled",
        "arn:aws:iam::222222222222:root",
        Pass,
    ),
    ("iam_root_mfa_enabled", "333333333333", Error),
    (
        "iam_root_mfa_enabled",
        "arn:aws:iam::111111111111:root",
        Fail,
    ),
    (
        "iam_root_mfa_enabled",
        "arn:aws:iam::222222222222:root",
        Pass,
    ),
    ("iam_rotate_access_key_90_days", "333333333333", Error),
    (
        "iam_rotate_access_key_90_days",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "iam_rotate_access_key_90_days",
        "arn:aws:iam::111111111111:user/bob",
        Pass,
    ),
    ("iam_support_role_created", "111111111111", Fail),
    ("iam_support_role_created", "222222222222", Pass),
    ("iam_user_accesskey_unused", "333333333333", Error),
    (
        "iam_user_accesskey_unused",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "iam_user_accesskey_unused",
        "arn:aws:iam::111111111111:user/bob",
        Pass,
    ),
    ("iam_user_console_access_unused", "333333333333", Error),
    (
        "iam_user_console_access_unused",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "iam_user_console_access_unused",
        "arn:aws:iam::222222222222:user/carol",
        Pass,
    ),
    ("iam_user_mfa_enabled_console_access", "333333333333", Error),
    (
        "iam_user_mfa_enabled_console_access",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "iam_user_mfa_enabled_console_access",
        "arn:aws:iam::222222222222:user/carol",
        Pass,
    ),
    (
        "iam_user_no_setup_initial_access_key",
        "333333333333",
        Error,
    ),
    (
        "iam_user_no_setup_initial_access_key",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    // bob has no console access: out of scope. carol is a console user without keys.
    (
        "iam_user_no_setup_initial_access_key",
        "arn:aws:iam::222222222222:user/carol",
        Pass,
    ),
    ("iam_user_two_active_access_key", "333333333333", Error),
    (
        "iam_user_two_active_access_key",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "iam_user_two_active_access_key",
        "arn:aws:iam::111111111111:user/bob",
        Pass,
    ),
    (
        "kms_cmk_rotation_enabled",
        "arn:aws:kms:us-east-1:111111111111:key/a-cmk",
        Fail,
    ),
    (
        "kms_cmk_rotation_enabled",
        "arn:aws:kms:us-east-1:222222222222:key/11111111-2222-3333-4444-555555555555",
        Pass,
    ),
    (
        "rds_instance_minor_version_upgrade_enabled",
        "arn:aws:rds:eu-west-1:222222222222:db:db2",
        Pass,
    ),
    (
        "rds_instance_minor_version_upgrade_enabled",
        "arn:aws:rds:us-east-1:111111111111:db:db1",
        Fail,
    ),
    (
        "rds_instance_no_public_access",
        "arn:aws:rds:eu-west-1:222222222222:db:db2",
        Pass,
    ),
    (
        "rds_instance_no_public_access",
        "arn:aws:rds:us-east-1:111111111111:db:db1",
        Fail,
    ),
    (
        "rds_instance_storage_encrypted",
        "arn:aws:rds:eu-west-1:222222222222:db:db2",
        Pass,
    ),
    (
        "rds_instance_storage_encrypted",
        "arn:aws:rds:us-east-1:111111111111:db:db1",
        Fail,
    ),
    (
        "s3_account_level_public_access_blocks",
        "111111111111/s3-public-access-block",
        Fail,
    ),
    (
        "s3_account_level_public_access_blocks",
        "222222222222/s3-public-access-block",
        Pass,
    ),
    (
        "s3_bucket_level_public_access_block",
        "arn:aws:s3:::a-data",
        Pass,
    ),
    (
        "s3_bucket_level_public_access_block",
        "arn:aws:s3:::a-logs",
        Fail,
    ),
    (
        "s3_bucket_level_public_access_block",
        "arn:aws:s3:::b-secret",
        Error,
    ),
    (
        "s3_bucket_level_public_access_block",
        "arn:aws:s3:::b-trail",
        Pass,
    ),
    ("s3_bucket_no_mfa_delete", "arn:aws:s3:::a-data", Pass),
    ("s3_bucket_no_mfa_delete", "arn:aws:s3:::a-logs", Fail),
    ("s3_bucket_no_mfa_delete", "arn:aws:s3:::b-secret", Error),
    ("s3_bucket_no_mfa_delete", "arn:aws:s3:::b-trail", Pass),
    (
        "s3_bucket_secure_transport_policy",
        "arn:aws:s3:::a-data",
        Pass,
    ),
    (
        "s3_bucket_secure_transport_policy",
        "arn:aws:s3:::a-logs",
        Fail,
    ),
    (
        "s3_bucket_secure_transport_policy",
        "arn:aws:s3:::b-secret",
        Error,
    ),
    (
        "s3_bucket_secure_transport_policy",
        "arn:aws:s3:::b-trail",
        Pass,
    ),
    (
        "securityhub_enabled",
        "111111111111/eu-west-1/securityhub",
        Pass,
    ),
    (
        "securityhub_enabled",
        "111111111111/us-east-1/securityhub",
        Fail,
    ),
    (
        "securityhub_enabled",
        "222222222222/eu-west-1/securityhub",
        Pass,
    ),
    (
        "securityhub_enabled",
        "222222222222/us-east-1/securityhub",
        Pass,
    ),
    (
        "trustplane_aws_identity_unmapped",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "trustplane_aws_identity_unmapped",
        "arn:aws:iam::111111111111:user/bob",
        Pass,
    ),
    (
        "trustplane_aws_identity_unmapped",
        "arn:aws:iam::222222222222:user/carol",
        Pass,
    ),
    (
        "trustplane_federated_account_user_access_keys",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "trustplane_federated_account_user_access_keys",
        "arn:aws:iam::111111111111:user/bob",
        Fail,
    ),
    (
        "trustplane_federated_account_user_access_keys",
        "arn:aws:iam::222222222222:user/carol",
        Pass,
    ),
    (
        "trustplane_federated_account_user_console_password",
        "arn:aws:iam::111111111111:user/alice",
        Fail,
    ),
    (
        "trustplane_federated_account_user_console_password",
        "arn:aws:iam::111111111111:user/bob",
        Pass,
    ),
    (
        "trustplane_federated_account_user_console_password",
        "arn:aws:iam::222222222222:user/carol",
        Fail,
    ),
    (
        "trustplane_role_trusts_foreign_saml_provider",
        "arn:aws:iam::111111111111:role/saml-admin",
        Fail,
    ),
    (
        "trustplane_role_trusts_foreign_saml_provider",
        "arn:aws:iam::222222222222:role/tp-admin",
        Pass,
    ),
    ("vpc_flow_logs_enabled", "vpc-a1", Fail),
    ("vpc_flow_logs_enabled", "vpc-b1", Pass),
];

#[test]
fn exact_results_per_check_and_resource() {
    let actual = table(&run());
    let expected: BTreeMap<(String, String), Status> = EXPECTED
        .iter()
        .map(|(c, r, s)| ((c.to_string(), r.to_string()), *s))
        .collect();
    for (k, v) in &expected {
        assert_eq!(actual.get(k), Some(v), "{k:?}");
    }
    for (k, v) in &actual {
        assert_eq!(expected.get(k), Some(v), "unexpected finding {k:?}");
    }
}

#[test]
fn findings_carry_controls_of_both_aws_benchmarks_and_remediation() {
    let a = run();
    let f = a
        .findings
        .iter()
        .find(|f| &*f.check_id == "iam_root_mfa_enabled" && f.resource.account == "111111111111")
        .unwrap();
    let ids: Vec<(&str, &str)> = f
        .controls
        .iter()
        .map(|c| (c.benchmark.as_str(), c.id.as_str()))
        .collect();
    assert_eq!(ids, [("cis_3.0_aws", "1.5"), ("cis_7.0_aws", "2.5")]);
    assert!(f.controls.iter().all(|c| !c.remediation.is_empty()));
    assert_eq!(f.severity, trustplane_posture::Severity::Critical);
    assert_eq!(f.evidence_value()["mfa_active"], false);
    assert_eq!(f.resource.resource_type, "aws.iam.credential_report_row");

    let pw = a
        .findings
        .iter()
        .find(|f| {
            &*f.check_id == "iam_password_policy_minimum_length_14"
                && f.resource.account == "111111111111"
        })
        .unwrap();
    assert_eq!(pw.evidence_value()["MinimumPasswordLength"], 8);
    assert_eq!(pw.status, Fail);
}

#[test]
fn manual_controls_are_manual_per_account() {
    let a = run();
    let manual_11: Vec<&str> = a
        .findings
        .iter()
        .filter(|f| f.status == Status::Manual)
        .filter(|f| {
            f.controls
                .iter()
                .any(|c| c.benchmark == "cis_3.0_aws" && c.id == "1.1")
        })
        .map(|f| f.resource.account.as_str())
        .collect();
    assert_eq!(manual_11, ["111111111111", "222222222222", "333333333333"]);
    // CIS AWS 7.0 made the monitoring chain manual (5.1); 3.0 keeps it automated (4.1).
    assert!(a.findings.iter().any(|f| f.status == Status::Manual
        && f.controls
            .iter()
            .any(|c| c.benchmark == "cis_7.0_aws" && c.id == "5.1")));
    assert!(!a.findings.iter().any(|f| f.status == Status::Manual
        && f.controls
            .iter()
            .any(|c| c.benchmark == "cis_3.0_aws" && c.id == "4.1")));
}

#[test]
fn collection_errors_never_become_pass_or_fail() {
    let a = run();
    // Account 333's IAM data could not be collected: only ERROR (and MANUAL) there.
    for f in a
        .findings
        .iter()
        .filter(|f| f.resource.account == "333333333333")
    {
        assert!(
            matches!(f.status, Status::Error | Status::Manual),
            "{} {:?}",
            f.check_id,
            f.status
        );
    }
    let e = a
        .findings
        .iter()
        .find(|f| &*f.check_id == "iam_no_root_access_key" && f.resource.account == "333333333333")
        .unwrap();
    assert!(e.message.contains("AccessDenied"));
    assert_eq!(e.controls.len(), 2);
}

fn row(account: &str, user: &str, raw: serde_json::Value) -> trustplane_posture::ResourceDoc {
    let arn = format!("arn:aws:iam::{account}:user/{user}");
    let mut raw = raw;
    raw["user"] = user.into();
    trustplane_posture::ResourceDoc::new(
        trustplane_posture::Provider::Aws,
        account,
        "global",
        "aws.iam.credential_report_row",
        arn,
        user,
        raw,
    )
}

fn global(account: &str, rtype: &str, raw: serde_json::Value) -> trustplane_posture::ResourceDoc {
    trustplane_posture::ResourceDoc::new(
        trustplane_posture::Provider::Aws,
        account,
        "global",
        rtype,
        format!("arn:aws:iam::{account}:{rtype}"),
        rtype,
        raw,
    )
}

#[test]
fn root_controls_fall_back_to_the_account_summary_when_the_report_has_no_root_row() {
    let no_keys = serde_json::json!({"password_enabled": "false", "access_key_1_active": "false", "access_key_2_active": "false"});
    let inv = Inventory::from_docs([
        // 444: MFA on through a virtual device, no root keys.
        row("444444444444", "ann", no_keys.clone()),
        global(
            "444444444444",
            "aws.iam.account_summary",
            serde_json::json!({"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}}),
        ),
        global(
            "444444444444",
            "aws.iam.virtual_mfa_devices",
            serde_json::json!({"VirtualMFADevices": [{"SerialNumber": "arn:aws:iam::444444444444:mfa/root-account-mfa-device", "User": {"Arn": "arn:aws:iam::444444444444:root"}}]}),
        ),
        // 555: no MFA, a root key, no virtual device.
        row("555555555555", "ben", no_keys.clone()),
        global(
            "555555555555",
            "aws.iam.account_summary",
            serde_json::json!({"SummaryMap": {"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1}}),
        ),
        global(
            "555555555555",
            "aws.iam.virtual_mfa_devices",
            serde_json::json!({"VirtualMFADevices": []}),
        ),
        // 666: neither a root row nor a summary: still an ERROR, never a silent PASS.
        row("666666666666", "cy", no_keys),
    ]);
    let a = assess(
        &inv,
        &common::benchmarks(),
        &Registry::builtin(),
        &options(),
    );
    let t = table(&a);
    let get =
        |check: &str, account: &str| t.get(&(check.to_string(), account.to_string())).copied();
    use Status::*;
    assert_eq!(get("iam_no_root_access_key", "444444444444"), Some(Pass));
    assert_eq!(get("iam_root_mfa_enabled", "444444444444"), Some(Pass));
    assert_eq!(
        get("iam_root_hardware_mfa_enabled", "444444444444"),
        Some(Fail)
    );
    assert_eq!(get("iam_no_root_access_key", "555555555555"), Some(Fail));
    assert_eq!(get("iam_root_mfa_enabled", "555555555555"), Some(Fail));
    assert_eq!(
        get("iam_root_hardware_mfa_enabled", "555555555555"),
        Some(Fail)
    );
    for check in [
        "iam_no_root_access_key",
        "iam_root_mfa_enabled",
        "iam_root_hardware_mfa_enabled",
        "iam_avoid_root_usage",
    ] {
        assert_eq!(get(check, "666666666666"), Some(Error), "{check}");
    }
    // Root usage (1.7) needs the report's dates: the summary has none.
    assert_eq!(get("iam_avoid_root_usage", "444444444444"), Some(Error));
    let f = a
        .findings
        .iter()
        .find(|f| &*f.check_id == "iam_root_mfa_enabled" && f.resource.account == "444444444444")
        .unwrap();
    assert_eq!(f.evidence_value()["source"], "GetAccountSummary");
    assert_eq!(f.resource.resource_type, "aws.account");
}

#[test]
fn initial_access_keys_judge_console_users_only_and_prefer_the_live_login_profile() {
    let user = |name: &str, profile: serde_json::Value| {
        trustplane_posture::ResourceDoc::new(
            trustplane_posture::Provider::Aws,
            "444444444444",
            "global",
            "aws.iam.user",
            format!("arn:aws:iam::444444444444:user/{name}"),
            name,
            serde_json::json!({"UserName": name, "LoginProfile": profile}),
        )
    };
    let inv = Inventory::from_docs([
        // Console, no keys: compliant.
        row(
            "444444444444",
            "ann",
            serde_json::json!({"password_enabled": "true", "access_key_1_active": "false", "access_key_2_active": "false"}),
        ),
        // No console, a never-used key: out of scope.
        row(
            "444444444444",
            "ben",
            serde_json::json!({"password_enabled": "false", "access_key_1_active": "true", "access_key_1_last_used_date": "N/A", "access_key_2_active": "false"}),
        ),
        // The report (stale) says no console, the login profile says console: judged.
        row(
            "444444444444",
            "cy",
            serde_json::json!({"password_enabled": "false", "access_key_1_active": "true", "access_key_1_last_used_date": "N/A", "access_key_2_active": "false"}),
        ),
        user(
            "cy",
            serde_json::json!({"CreateDate": "2026-11-01T00:00:00Z"}),
        ),
        // The report says console, the login profile is gone: out of scope.
        row(
            "444444444444",
            "dee",
            serde_json::json!({"password_enabled": "true", "access_key_1_active": "true", "access_key_1_last_used_date": "N/A", "access_key_2_active": "false"}),
        ),
        user("dee", serde_json::Value::Null),
    ]);
    let a = assess(
        &inv,
        &common::benchmarks(),
        &Registry::builtin(),
        &options(),
    );
    let got: Vec<(String, Status)> = a
        .findings
        .iter()
        .filter(|f| &*f.check_id == "iam_user_no_setup_initial_access_key")
        .map(|f| (f.resource.name.clone(), f.status))
        .collect();
    assert_eq!(
        got,
        [
            ("ann".to_string(), Status::Pass),
            ("cy".to_string(), Status::Fail)
        ]
    );
}
