//! Seeds the emulator through the AWS SDK for Rust: compliant and non-compliant resources in
//! three regions.

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::types::{DataResource, EventSelector, ReadWriteType};
use aws_sdk_ec2::types::{
    HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest, InstanceType,
    IpPermission, IpRange, Ipv6Range, PortRange, RuleAction,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketLoggingStatus, BucketVersioningStatus,
    CreateBucketConfiguration, LoggingEnabled, PublicAccessBlockConfiguration,
    VersioningConfiguration,
};

use super::ACCOUNT;

pub const R1: &str = "us-east-1";
pub const R2: &str = "eu-west-1";
pub const R3: &str = "ap-southeast-2";

/// Ids of what was seeded, for the assertions.
#[derive(Debug, Default)]
pub struct Seeded {
    pub sg_ssh_open: String,
    pub sg_rdp_open6: String,
    pub sg_web: String,
    pub sg_internal: String,
    pub sg_cifs_open: String,
    pub vpc_logged: String,
    pub vpc_unlogged: String,
    pub nacl_open_rdp: String,
    pub nacl_closed: String,
    pub instance_good: String,
    pub instance_bad: String,
    pub key_rotating: String,
    pub key_static: String,
    pub key_asymmetric: String,
    pub efs_encrypted: String,
    pub efs_plain: String,
}

fn regional(conf: &SdkConfig, region: &str) -> SdkConfig {
    conf.to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const ADMIN_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}"#;
const SAML_METADATA: &str = r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;

fn saml_trust(provider: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{ACCOUNT}:saml-provider/{provider}"}},"Action":"sts:AssumeRoleWithSAML","Condition":{{"StringEquals":{{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}}}}]}}"#
    )
}

fn tls_only_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    )
}

pub async fn seed(conf: &SdkConfig) -> Seeded {
    let mut out = Seeded::default();
    seed_iam(conf).await;
    seed_s3(conf).await;
    seed_ec2(conf, &mut out).await;
    seed_data(conf, &mut out).await;
    seed_logging(conf, &mut out).await;
    out
}

async fn seed_iam(conf: &SdkConfig) {
    let iam = aws_sdk_iam::Client::new(conf);
    iam.update_account_password_policy()
        .minimum_password_length(14)
        .password_reuse_prevention(5)
        .send()
        .await
        .unwrap();
    for u in ["alice", "bob", "carol", "dave"] {
        iam.create_user().user_name(u).send().await.unwrap();
    }
    // alice: console + MFA; bob: console, no MFA, a never-used key, a policy of his own.
    for u in ["alice", "bob"] {
        iam.create_login_profile()
            .user_name(u)
            .password("Correct-Horse-Battery-9")
            .send()
            .await
            .unwrap();
    }
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice")
        .send()
        .await
        .unwrap();
    let serial = mfa
        .virtual_mfa_device()
        .unwrap()
        .serial_number()
        .to_string();
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("bob")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap();
    // carol: two active keys; dave: one.
    for u in ["carol", "carol", "dave"] {
        iam.create_access_key().user_name(u).send().await.unwrap();
    }
    // Roles: support (AWSSupportAccess + a read-only customer policy), breakglass (admin,
    // trusting a foreign SAML provider), federated (trusting Trustplane's provider).
    for p in ["Okta", "Trustplane"] {
        iam.create_saml_provider()
            .name(p)
            .saml_metadata_document(SAML_METADATA)
            .send()
            .await
            .unwrap();
    }
    iam.create_role()
        .role_name("support")
        .assume_role_policy_document(TRUST_EC2)
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("breakglass")
        .assume_role_policy_document(saml_trust("Okta"))
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("federated")
        .assume_role_policy_document(saml_trust("Trustplane"))
        .send()
        .await
        .unwrap();
    let admin = iam
        .create_policy()
        .policy_name("admin-all")
        .policy_document(ADMIN_ALL)
        .send()
        .await
        .unwrap();
    let read = iam
        .create_policy()
        .policy_name("s3-read")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap();
    // An unattached admin policy grants nothing: no finding.
    iam.create_policy()
        .policy_name("unused-admin")
        .policy_document(ADMIN_ALL)
        .send()
        .await
        .unwrap();
    for (role, arn) in [
        (
            "support",
            "arn:aws:iam::aws:policy/AWSSupportAccess".to_string(),
        ),
        ("support", read.policy().unwrap().arn().unwrap().to_string()),
        (
            "breakglass",
            admin.policy().unwrap().arn().unwrap().to_string(),
        ),
        (
            "breakglass",
            "arn:aws:iam::aws:policy/AdministratorAccess".to_string(),
        ),
    ] {
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    iam.create_instance_profile()
        .instance_profile_name("tp-profile")
        .send()
        .await
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name("tp-profile")
        .role_name("support")
        .send()
        .await
        .unwrap();
}

fn s3(conf: &SdkConfig, region: &str) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&regional(conf, region))
            .force_path_style(true)
            .build(),
    )
}

async fn seed_s3(conf: &SdkConfig) {
    let c1 = s3(conf, R1);
    c1.create_bucket()
        .bucket("tp-trail-bucket")
        .send()
        .await
        .unwrap();
    // The log-delivery group may write access logs here.
    c1.create_bucket()
        .bucket("tp-access-logs")
        .send()
        .await
        .unwrap();
    c1.put_bucket_policy()
        .bucket("tp-access-logs")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"S3ServerAccessLogs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::tp-access-logs/*"}]}"#)
        .send()
        .await
        .unwrap();
    let c2 = s3(conf, R2);
    c2.create_bucket()
        .bucket("tp-open")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let c3 = s3(conf, R3);
    c3.create_bucket()
        .bucket("tp-secure")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::ApSoutheast2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c3.put_public_access_block()
        .bucket("tp-secure")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c3.put_bucket_policy()
        .bucket("tp-secure")
        .policy(tls_only_policy("tp-secure"))
        .send()
        .await
        .unwrap();
    c3.put_bucket_versioning()
        .bucket("tp-secure")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c1.put_bucket_logging()
        .bucket("tp-trail-bucket")
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder()
                        .target_bucket("tp-access-logs")
                        .target_prefix("trail/")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub fn ingress(proto: &str, port: i32, cidr4: Option<&str>, cidr6: Option<&str>) -> IpPermission {
    let mut p = IpPermission::builder()
        .ip_protocol(proto)
        .from_port(port)
        .to_port(port);
    if let Some(c) = cidr4 {
        p = p.ip_ranges(IpRange::builder().cidr_ip(c).build());
    }
    if let Some(c) = cidr6 {
        p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build());
    }
    p.build()
}

async fn group(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    vpc: Option<&str>,
    perm: IpPermission,
) -> String {
    let g = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .set_vpc_id(vpc.map(str::to_string))
        .send()
        .await
        .unwrap();
    let id = g.group_id().unwrap().to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(perm)
        .send()
        .await
        .unwrap();
    id
}

async fn seed_ec2(conf: &SdkConfig, out: &mut Seeded) {
    let e1 = aws_sdk_ec2::Client::new(&regional(conf, R1));
    let e2 = aws_sdk_ec2::Client::new(&regional(conf, R2));
    let e3 = aws_sdk_ec2::Client::new(&regional(conf, R3));
    out.sg_ssh_open = group(
        &e1,
        "ssh-open",
        None,
        ingress("tcp", 22, Some("0.0.0.0/0"), None),
    )
    .await;
    out.sg_internal = group(
        &e1,
        "internal",
        None,
        ingress("tcp", 443, Some("10.0.0.0/8"), None),
    )
    .await;
    out.sg_cifs_open = group(
        &e1,
        "cifs-open",
        None,
        ingress("tcp", 445, Some("0.0.0.0/0"), None),
    )
    .await;
    out.sg_rdp_open6 = group(
        &e2,
        "rdp-open6",
        None,
        ingress("tcp", 3389, None, Some("::/0")),
    )
    .await;
    out.sg_web = group(
        &e3,
        "web",
        None,
        ingress("tcp", 443, Some("0.0.0.0/0"), Some("::/0")),
    )
    .await;

    let vpc = e1
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap();
    out.vpc_logged = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let vpc2 = e2
        .create_vpc()
        .cidr_block("10.2.0.0/16")
        .send()
        .await
        .unwrap();
    out.vpc_unlogged = vpc2.vpc().unwrap().vpc_id().unwrap().to_string();
    e1.create_flow_logs()
        .resource_ids(&out.vpc_logged)
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_destination_type(aws_sdk_ec2::types::LogDestinationType::S3)
        .log_destination("arn:aws:s3:::tp-access-logs")
        .send()
        .await
        .unwrap();
    for (name, port) in [("open-rdp", 3389), ("closed", 443)] {
        let acl = e1
            .create_network_acl()
            .vpc_id(&out.vpc_logged)
            .send()
            .await
            .unwrap();
        let id = acl
            .network_acl()
            .unwrap()
            .network_acl_id()
            .unwrap()
            .to_string();
        e1.create_network_acl_entry()
            .network_acl_id(&id)
            .rule_number(100)
            .protocol("6")
            .rule_action(RuleAction::Allow)
            .egress(false)
            .cidr_block("0.0.0.0/0")
            .port_range(PortRange::builder().from(port).to(port).build())
            .send()
            .await
            .unwrap();
        if name == "open-rdp" {
            out.nacl_open_rdp = id;
        } else {
            out.nacl_closed = id;
        }
    }
    let images = e1.describe_images().owners("amazon").send().await.unwrap();
    let ami = images.images()[0].image_id().unwrap().to_string();
    let good = e1
        .run_instances()
        .image_id(&ami)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .security_group_ids(&out.sg_internal)
        .iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .name("tp-profile")
                .build(),
        )
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Required)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.instance_good = good.instances()[0].instance_id().unwrap().to_string();
    let bad = e1
        .run_instances()
        .image_id(&ami)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .security_group_ids(&out.sg_cifs_open)
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Optional)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.instance_bad = bad.instances()[0].instance_id().unwrap().to_string();
    e1.enable_ebs_encryption_by_default().send().await.unwrap();
}

async fn seed_data(conf: &SdkConfig, out: &mut Seeded) {
    let rds = aws_sdk_rds::Client::new(&regional(conf, R2));
    for (id, good) in [("db-good", true), ("db-bad", false)] {
        rds.create_db_instance()
            .db_instance_identifier(id)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .master_username("admin")
            .master_user_password("Correct-Horse-Battery-9")
            .allocated_storage(20)
            .storage_encrypted(good)
            .auto_minor_version_upgrade(good)
            .publicly_accessible(!good)
            .send()
            .await
            .unwrap();
    }
    let efs = aws_sdk_efs::Client::new(&regional(conf, R3));
    for (token, enc) in [("efs-enc", true), ("efs-plain", false)] {
        let fs = efs
            .create_file_system()
            .creation_token(token)
            .encrypted(enc)
            .send()
            .await
            .unwrap();
        if enc {
            out.efs_encrypted = fs.file_system_id().to_string();
        } else {
            out.efs_plain = fs.file_system_id().to_string();
        }
    }
    let k1 = aws_sdk_kms::Client::new(&regional(conf, R1));
    let k = k1
        .create_key()
        .description("rotating")
        .send()
        .await
        .unwrap();
    out.key_rotating = k.key_metadata().unwrap().key_id().to_string();
    k1.enable_key_rotation()
        .key_id(&out.key_rotating)
        .send()
        .await
        .unwrap();
    let k2 = aws_sdk_kms::Client::new(&regional(conf, R2));
    let k = k2.create_key().description("static").send().await.unwrap();
    out.key_static = k.key_metadata().unwrap().key_id().to_string();
    let k3 = aws_sdk_kms::Client::new(&regional(conf, R3));
    let k = k3
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    out.key_asymmetric = k.key_metadata().unwrap().key_id().to_string();
}

pub const UNAUTHORIZED_PATTERN: &str =
    r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#;
pub const ROOT_PATTERN: &str = r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#;

async fn seed_logging(conf: &SdkConfig, out: &mut Seeded) {
    let r1 = regional(conf, R1);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&r1);
    logs.create_log_group()
        .log_group_name("tp-trail-logs")
        .send()
        .await
        .unwrap();
    let group_arn = format!("arn:aws:logs:{R1}:{ACCOUNT}:log-group:tp-trail-logs:*");
    let trail = aws_sdk_cloudtrail::Client::new(&r1);
    trail
        .create_trail()
        .name("tp-main")
        .s3_bucket_name("tp-trail-bucket")
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .kms_key_id(&out.key_rotating)
        .cloud_watch_logs_log_group_arn(&group_arn)
        .cloud_watch_logs_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/support"))
        .send()
        .await
        .unwrap();
    trail.start_logging().name("tp-main").send().await.unwrap();
    trail
        .put_event_selectors()
        .trail_name("tp-main")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::All)
                .include_management_events(true)
                .data_resources(
                    DataResource::builder()
                        .r#type("AWS::S3::Object")
                        .values("arn:aws:s3")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let t2 = aws_sdk_cloudtrail::Client::new(&regional(conf, R2));
    t2.create_trail()
        .name("tp-local")
        .s3_bucket_name("tp-open")
        .send()
        .await
        .unwrap();
    t2.start_logging().name("tp-local").send().await.unwrap();

    // The CIS 4.1 chain: metric filter -> alarm -> SNS topic with a subscriber.
    for (name, pattern, metric) in [
        ("unauthorized", UNAUTHORIZED_PATTERN, "UnauthorizedAPICalls"),
        ("root-usage", ROOT_PATTERN, "RootUsage"),
    ] {
        logs.put_metric_filter()
            .log_group_name("tp-trail-logs")
            .filter_name(name)
            .filter_pattern(pattern)
            .metric_transformations(
                aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
                    .metric_name(metric)
                    .metric_namespace("CISBenchmark")
                    .metric_value("1")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let sns = aws_sdk_sns::Client::new(&r1);
    let topic = sns.create_topic().name("cis-alarms").send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("email")
        .endpoint("security@example.com")
        .send()
        .await
        .unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(&r1);
    cw.put_metric_alarm()
        .alarm_name("unauthorized-api-calls")
        .metric_name("UnauthorizedAPICalls")
        .namespace("CISBenchmark")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .alarm_actions(&topic_arn)
        .send()
        .await
        .unwrap();
    // The root-usage filter has an alarm with no action: an incomplete chain.
    cw.put_metric_alarm()
        .alarm_name("root-usage")
        .metric_name("RootUsage")
        .namespace("CISBenchmark")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .send()
        .await
        .unwrap();

    let config = aws_sdk_config::Client::new(&r1);
    config
        .put_configuration_recorder()
        .configuration_recorder(
            aws_sdk_config::types::ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/support"))
                .recording_group(
                    aws_sdk_config::types::RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(
            aws_sdk_config::types::DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("tp-trail-bucket")
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
    // Security Hub is not seeded: moto's server answers its REST paths with 404.
}
