//! CloudTrail log objects in an emulated bucket: what a trail delivers, gzipped or not.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;

use aws_config::SdkConfig;

/// An S3 client that addresses buckets by path, as the emulator needs.
pub fn s3(conf: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// Creates `bucket` in the configuration's region (us-east-1).
pub async fn create_bucket(conf: &SdkConfig, bucket: &str) {
    s3(conf)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
}

/// Writes one object.
pub async fn put(conf: &SdkConfig, bucket: &str, key: &str, body: Vec<u8>) {
    s3(conf)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

/// gzip, as CloudTrail delivers its files.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The key CloudTrail gives the `n`th file of a day in `region`.
pub fn key(account: &str, region: &str, n: u32) -> String {
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/2026/11/28/{account}_CloudTrail_{region}_20261128T{:02}{:02}Z_{n:04}abcd.json.gz",
        n / 60 % 24,
        n % 60
    )
}

/// A `{"Records": [...]}` file of CloudTrail records.
pub fn envelope(records: &[serde_json::Value]) -> Vec<u8> {
    serde_json::json!({ "Records": records })
        .to_string()
        .into_bytes()
}

/// A CloudTrail `StopLogging` call by a role session named `session` (SigmaHQ's "AWS
/// CloudTrail Important Change" matches it).
pub fn stop_logging(session: &str, account: &str, time: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.08",
        "eventTime": time,
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE:{session}"),
            "arn": format!("arn:aws:sts::{account}:assumed-role/Admin/{session}"),
            "accountId": account,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/Admin"), "userName": "Admin"}}
        },
        "requestParameters": {"name": format!("arn:aws:cloudtrail:us-east-1:{account}:trail/main")},
        "responseElements": null,
        "eventType": "AwsApiCall",
        "recipientAccountId": account
    })
}

/// A harmless read (no SigmaHQ cloud rule matches it).
pub fn describe_instances(session: &str, account: &str, time: &str) -> serde_json::Value {
    let mut v = stop_logging(session, account, time);
    v["eventSource"] = "ec2.amazonaws.com".into();
    v["eventName"] = "DescribeInstances".into();
    v["requestParameters"] = serde_json::json!({});
    v
}
