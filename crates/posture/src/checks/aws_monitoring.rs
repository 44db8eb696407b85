//! CIS AWS monitoring controls (3.0 section 4, 7.0 section 5): for each event pattern, a
//! chain must exist: multi-region logging trail -> CloudWatch Logs group -> metric filter
//! with the pattern -> alarm on the filter's metric -> SNS topic with a confirmed subscriber.
//!
//! Inputs: `aws.cloudtrail.trail`, `aws.logs.metric_filter` (a DescribeMetricFilters item),
//! `aws.cloudwatch.alarm` (a DescribeAlarms MetricAlarms item), `aws.sns.subscription` (a
//! ListSubscriptions item).
//!
//! Pattern matching: the filter pattern and the required terms are compared with white space
//! and double quotes removed; every term of the control must appear in the filter.

use serde_json::json;

use super::aws_logging::{logs_all_management_events, trails};
use super::util::*;
use crate::finding::Severity;
use crate::inventory::{Provider, GLOBAL};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const NEEDS: &[&str] = &[
    "aws.cloudtrail.trail",
    "aws.logs.metric_filter",
    "aws.cloudwatch.alarm",
    "aws.sns.subscription",
];

/// One function per pattern (a registered check is a plain function).
macro_rules! monitor {
    ($fn_name:ident, $idx:expr) => {
        fn $fn_name<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
            chain(ctx, out, PATTERNS[$idx].2);
        }
    };
}

/// Terms of each control's filter pattern (CIS 3.0 4.1 - 4.15).
pub const PATTERNS: &[(&str, &str, &[&str])] = &[
    (
        "cloudwatch_log_metric_filter_unauthorized_api_calls",
        "unauthorized API calls",
        &[
            "$.errorCode=*UnauthorizedOperation",
            "$.errorCode=AccessDenied*",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_sign_in_without_mfa",
        "console sign-in without MFA",
        &[
            "$.eventName=ConsoleLogin",
            "$.additionalEventData.MFAUsed!=Yes",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_root_usage",
        "root account usage",
        &[
            "$.userIdentity.type=Root",
            "$.userIdentity.invokedByNOTEXISTS",
            "$.eventType!=AwsServiceEvent",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_policy_changes",
        "IAM policy changes",
        &[
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_and_alarm_for_cloudtrail_configuration_changes_enabled",
        "CloudTrail configuration changes",
        &[
            "CreateTrail",
            "UpdateTrail",
            "DeleteTrail",
            "StartLogging",
            "StopLogging",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_authentication_failures",
        "console authentication failures",
        &[
            "$.eventName=ConsoleLogin",
            "$.errorMessage=Failedauthentication",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk",
        "disabling or deleting KMS keys",
        &[
            "$.eventSource=kms.amazonaws.com",
            "DisableKey",
            "ScheduleKeyDeletion",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_for_s3_bucket_policy_changes",
        "S3 bucket policy changes",
        &[
            "$.eventSource=s3.amazonaws.com",
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_and_alarm_for_aws_config_configuration_changes_enabled",
        "AWS Config changes",
        &[
            "$.eventSource=config.amazonaws.com",
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_security_group_changes",
        "security group changes",
        &[
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ],
    ),
    (
        "cloudwatch_changes_to_network_acls_alarm_configured",
        "NACL changes",
        &[
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ],
    ),
    (
        "cloudwatch_changes_to_network_gateways_alarm_configured",
        "network gateway changes",
        &[
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ],
    ),
    (
        "cloudwatch_changes_to_network_route_tables_alarm_configured",
        "route table changes",
        &[
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ],
    ),
    (
        "cloudwatch_changes_to_vpcs_alarm_configured",
        "VPC changes",
        &[
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ],
    ),
    (
        "cloudwatch_log_metric_filter_aws_organizations_changes",
        "AWS Organizations changes",
        &[
            "$.eventSource=organizations.amazonaws.com",
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ],
    ),
];

monitor!(m01, 0);
monitor!(m02, 1);
monitor!(m03, 2);
monitor!(m04, 3);
monitor!(m05, 4);
monitor!(m06, 5);
monitor!(m07, 6);
monitor!(m08, 7);
monitor!(m09, 8);
monitor!(m10, 9);
monitor!(m11, 10);
monitor!(m12, 11);
monitor!(m13, 12);
monitor!(m14, 13);
monitor!(m15, 14);

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    let fns: [crate::registry::CheckFn; 15] = [
        m01, m02, m03, m04, m05, m06, m07, m08, m09, m10, m11, m12, m13, m14, m15,
    ];
    PATTERNS
        .iter()
        .zip(fns)
        .map(|((id, title, _), run)| CheckDef {
            id,
            title,
            provider: Provider::Aws,
            severity: Severity::Medium,
            needs: NEEDS,
            run,
            applies: None,
        })
        .collect()
}

fn norm(p: &str) -> String {
    p.chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .collect()
}

/// Whether a filter pattern contains every term.
pub fn pattern_matches(pattern: &str, terms: &[&str]) -> bool {
    let p = norm(pattern);
    !terms.is_empty() && terms.iter().all(|t| p.contains(&norm(t)))
}

fn log_group_name(arn: &str) -> Option<&str> {
    // arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
    let rest = arn.split_once(":log-group:")?.1;
    Some(rest.strip_suffix(":*").unwrap_or(rest))
}

fn chain<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, terms: &[&str]) {
    for a in collected_accounts(ctx, Provider::Aws, "aws.cloudtrail.trail") {
        let mut found = None;
        let mut partial = Vec::new();
        'trails: for t in trails(ctx, &a) {
            if b(&t.raw, "/IsMultiRegionTrail") != Some(true)
                || b(&t.raw, "/Status/IsLogging") != Some(true)
                || !logs_all_management_events(&t.raw)
            {
                continue;
            }
            let Some(group) = s(&t.raw, "/CloudWatchLogsLogGroupArn").and_then(log_group_name)
            else {
                continue;
            };
            for f in ctx
                .inventory
                .of_type("aws.logs.metric_filter")
                .filter(|f| f.account == a)
            {
                if s(&f.raw, "/logGroupName") != Some(group)
                    || !pattern_matches(s(&f.raw, "/filterPattern").unwrap_or(""), terms)
                {
                    continue;
                }
                for m in arr(&f.raw, "/metricTransformations") {
                    let (Some(metric), Some(ns)) = (s(m, "/metricName"), s(m, "/metricNamespace"))
                    else {
                        continue;
                    };
                    for al in ctx
                        .inventory
                        .of_type("aws.cloudwatch.alarm")
                        .filter(|x| x.account == a)
                    {
                        if s(&al.raw, "/MetricName") != Some(metric)
                            || s(&al.raw, "/Namespace") != Some(ns)
                        {
                            continue;
                        }
                        for topic in arr(&al.raw, "/AlarmActions")
                            .iter()
                            .filter_map(|x| x.as_str())
                        {
                            let sub = ctx.inventory.of_type("aws.sns.subscription").find(|sb| {
                                s(&sb.raw, "/TopicArn") == Some(topic)
                                    && s(&sb.raw, "/SubscriptionArn")
                                        .is_some_and(|x| x.starts_with("arn:"))
                            });
                            match sub {
                                Some(sb) => {
                                    found = Some(json!({
                                        "trail": t.name, "log_group": group,
                                        "filter": f.name, "metric": metric, "alarm": al.name,
                                        "topic": topic, "subscription": s(&sb.raw, "/Endpoint"),
                                    }));
                                    break 'trails;
                                }
                                None => partial.push(json!({"filter": f.name, "alarm": al.name, "topic": topic, "missing": "confirmed subscription"})),
                            }
                        }
                        if arr(&al.raw, "/AlarmActions").is_empty() {
                            partial.push(json!({"filter": f.name, "alarm": al.name, "missing": "alarm action"}));
                        }
                    }
                }
                partial.push(json!({"filter": f.name, "log_group": group}));
            }
        }
        let (st, msg, ev) = match found {
            Some(chain) => (
                pass_if(true),
                "metric filter, alarm and subscribed SNS topic in place".to_string(),
                ev!({"chain": chain}),
            ),
            None => (
                pass_if(false),
                "no complete metric filter -> alarm -> SNS subscriber chain".to_string(),
                ev!({"partial": partial}),
            ),
        };
        out.push(scope_outcome(Provider::Aws, &a, GLOBAL, st, msg, ev));
    }
}
