//! CloudTrail objects in an S3 bucket of the moto emulator: listed page after page in key
//! order (after a key, up to a limit), read gzipped or not, failures per object.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use common::trail::{self, envelope, gzip, stop_logging};
use common::{test_credentials, Moto, ACCOUNT};
use futures::StreamExt;
use trustplane_aws::{AwsError, LogBucket, LogBucketOptions, ObjectReadError, S3Prefix};

const BUCKET: &str = "trail-logs";

fn options(moto: &Moto) -> LogBucketOptions {
    LogBucketOptions {
        endpoint_url: Some(moto.url.clone()),
        region: "us-east-1".into(),
        page_size: 2,
        concurrency: 3,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_listed_in_key_order_across_pages_and_read_gzipped_or_not() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        ..Default::default()
    })
    .await;
    trail::create_bucket(&conf, BUCKET).await;
    let region_prefix = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/");
    let keys: Vec<String> = (0..5)
        .map(|n| trail::key(ACCOUNT, "us-east-1", n))
        .collect();
    // Written out of order: the listing is in key order whatever the writing order.
    for (i, key) in keys.iter().enumerate().rev() {
        let body = envelope(&[stop_logging(
            &format!("user{i}@example.com"),
            ACCOUNT,
            "2026-11-28T10:00:00Z",
        )]);
        let body = if i == 3 { body } else { gzip(&body) };
        trail::put(&conf, BUCKET, key, body).await;
    }
    // Not logs: a folder marker, a digest file, the writability check, another prefix.
    trail::put(&conf, BUCKET, &region_prefix, Vec::new()).await;
    trail::put(
        &conf,
        BUCKET,
        &format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/28/d.json.gz"),
        gzip(b"{}"),
    )
    .await;
    trail::put(
        &conf,
        BUCKET,
        &format!("AWSLogs/{ACCOUNT}/CloudTrail/ConfigWritabilityCheckFile"),
        b"x".to_vec(),
    )
    .await;
    trail::put(&conf, BUCKET, "elsewhere/x.json", b"{}".to_vec()).await;

    let location = S3Prefix::parse(&format!("s3://{BUCKET}/AWSLogs/{ACCOUNT}/")).unwrap();
    let bucket = LogBucket::connect(location, options(&moto)).await.unwrap();
    let listed: Vec<String> = bucket
        .list(None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, keys, "five logs, in key order, over three pages");
    let after: Vec<String> = bucket
        .list(Some(&keys[1]), None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(after, &keys[2..]);
    assert_eq!(bucket.list(Some(&keys[1]), Some(2)).await.unwrap().len(), 2);
    assert!(bucket.list(Some(&keys[4]), None).await.unwrap().is_empty());

    // Read in order with bounded concurrency; a missing key fails alone.
    let mut wanted = keys.clone();
    wanted.insert(2, format!("{region_prefix}missing.json.gz"));
    let read: Vec<(String, Result<Vec<u8>, ObjectReadError>)> =
        bucket.read_all(wanted.clone()).collect().await;
    assert_eq!(
        read.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        wanted
    );
    for (i, (key, body)) in read.iter().enumerate() {
        if i == 2 {
            let err = body.as_ref().unwrap_err();
            assert!(!err.is_refused());
            assert!(err.to_string().contains("NoSuchKey"), "{key}: {err}");
            continue;
        }
        // As stored (gzipped); the records come out as they are parsed.
        let read = trustplane_detect::decode_limited(
            body.clone().unwrap(),
            std::path::Path::new(key),
            &trustplane_detect::ReadLimits::OBJECT,
        )
        .unwrap();
        assert_eq!(
            read.records[0].original["eventName"], "StopLogging",
            "{key}"
        );
    }

    // A decompression bomb: 8 MiB of one record repeated compresses to a few KiB. Over the
    // inflate cap its parsing stops there without inflating it whole; over the stored size
    // cap it is refused (not retried) before it is read at all.
    let record = String::from_utf8(envelope(&[stop_logging(
        "a@example.com",
        ACCOUNT,
        "2026-11-28T10:00:00Z",
    )]))
    .unwrap();
    let bomb = gzip(record.repeat(8 * 1024 * 1024 / record.len()).as_bytes());
    assert!(bomb.len() < 256 * 1024, "{}", bomb.len());
    let bomb_key = format!("{region_prefix}zz-bomb.json.gz");
    trail::put(&conf, BUCKET, &bomb_key, bomb.clone()).await;
    let capped = |max_object_bytes| {
        let moto = &moto;
        async move {
            let location = S3Prefix::parse(&format!("s3://{BUCKET}/AWSLogs/{ACCOUNT}/")).unwrap();
            LogBucket::connect(
                location,
                LogBucketOptions {
                    max_object_bytes,
                    ..options(moto)
                },
            )
            .await
            .unwrap()
        }
    };
    // Objects come as stored; the inflate cap applies as the records are parsed, which
    // stops at it without inflating the rest.
    let small = capped(1024 * 1024).await;
    let stored = small.read(&bomb_key).await.unwrap();
    assert_eq!(stored, bomb);
    let inflate_cap = trustplane_detect::ReadLimits {
        max_inflated_bytes: 1024 * 1024,
        ..trustplane_detect::ReadLimits::OBJECT
    };
    let mut records = 0;
    let err = trustplane_detect::stream_records(
        stored.as_slice(),
        std::path::Path::new(&bomb_key),
        &inflate_cap,
        &mut |_| records += 1,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than 1048576 bytes once decompressed"),
        "{err}"
    );
    assert!(err.is_over_limit());
    let err = capped(1024).await.read(&bomb_key).await.unwrap_err();
    assert!(err.is_refused(), "{err}");
    // Ordinary objects still read under the same caps.
    assert!(small.read(&keys[0]).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_and_a_down_endpoint_are_errors() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let bucket = LogBucket::connect(
        S3Prefix::parse("s3://no-such-bucket/AWSLogs/").unwrap(),
        options(&moto),
    )
    .await
    .unwrap();
    let err = bucket.list(None, None).await.unwrap_err();
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");

    let port = common::free_port();
    let down = LogBucket::connect(
        S3Prefix::parse("s3://trail-logs/").unwrap(),
        LogBucketOptions {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            max_attempts: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = down.list(None, None).await.unwrap_err();
    assert!(matches!(err, AwsError::Unreachable { .. }), "{err:?}");

    let err = LogBucket::connect(
        S3Prefix::parse("s3://trail-logs/").unwrap(),
        LogBucketOptions {
            role_arn: Some("arn:aws:iam::1:user/x".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AwsError::Options(_)), "{err:?}");
}
