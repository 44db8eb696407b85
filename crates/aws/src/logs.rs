//! CloudTrail log objects in an S3 bucket: the keys under `s3://bucket/prefix` (every page of
//! ListObjectsV2, in key order, optionally after a given key), and their content, gunzipped
//! when gzipped, read with bounded concurrency and handed back in key order.
//!
//! A listing that fails is an [`AwsError`] (there is nothing to read); an object that cannot
//! be read is an `Err` for that object alone, so a reader can count it and go on.

use std::fmt;

use aws_config::SdkConfig;
use futures::{Stream, StreamExt};
use trustplane_detect::ReadError;

use crate::common::msg;
use crate::{classify, client, AwsError, CollectOptions};

/// Objects larger than this as stored are not read: CloudTrail writes files of a few
/// megabytes at most, and one huge object must not exhaust memory.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 256 * 1024 * 1024;

/// Why one object was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectReadError {
    /// S3 did not hand it over (it may next time).
    #[error("{0}")]
    Failed(String),
    /// It is over a size limit, stored or inflated: reading it again would be refused again.
    #[error("{0}")]
    Refused(ReadError),
}

impl ObjectReadError {
    /// Whether a limit refused the object.
    pub fn is_refused(&self) -> bool {
        matches!(self, ObjectReadError::Refused(_))
    }
}

/// `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Prefix {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (may be empty: the whole bucket).
    pub prefix: String,
}

impl S3Prefix {
    /// Parses `s3://bucket` or `s3://bucket/prefix/`.
    pub fn parse(url: &str) -> Result<S3Prefix, AwsError> {
        let bad = |why: &str| AwsError::Options(format!("`{url}` is not an S3 location: {why}"));
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        S3Prefix::new(bucket, prefix).map_err(|e| match e {
            AwsError::Options(why) => bad(&why),
            other => other,
        })
    }

    /// A bucket and prefix, with the bucket name checked against S3's naming rules.
    pub fn new(bucket: &str, prefix: &str) -> Result<S3Prefix, AwsError> {
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
            && bucket
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && bucket
                .bytes()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(AwsError::Options(format!(
                "`{bucket}` is not a valid bucket name (3-63 lower-case letters, digits, dots and hyphens)"
            )));
        }
        if prefix.len() > 1024 {
            return Err(AwsError::Options(
                "the prefix is longer than an S3 key can be".into(),
            ));
        }
        Ok(S3Prefix {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// `s3://bucket/key`, the name records read from `key` carry as their origin.
    pub fn object_url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl fmt::Display for S3Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach a log bucket.
#[derive(Debug, Clone)]
pub struct LogBucketOptions {
    /// Another endpoint (tests: the moto server).
    pub endpoint_url: Option<String>,
    /// The bucket's region.
    pub region: String,
    /// A role to assume for reading (another account's log archive).
    pub role_arn: Option<String>,
    /// Objects read at once.
    pub concurrency: usize,
    /// Attempts per call (throttling and transient errors are retried with backoff).
    pub max_attempts: u32,
    /// Objects larger than this as stored are not read. (How far they may inflate is for
    /// the reader that parses them: `trustplane_detect::ReadLimits`.)
    pub max_object_bytes: u64,
    /// Keys per ListObjectsV2 page (S3's maximum and default is 1000).
    pub page_size: i32,
}

impl Default for LogBucketOptions {
    fn default() -> Self {
        LogBucketOptions {
            endpoint_url: None,
            region: "us-east-1".into(),
            role_arn: None,
            concurrency: 8,
            max_attempts: 6,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            page_size: 1000,
        }
    }
}

/// One object under the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogObject {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A bucket prefix of CloudTrail (or any JSON log) objects, ready to list and read.
#[derive(Debug, Clone)]
pub struct LogBucket {
    client: aws_sdk_s3::Client,
    location: S3Prefix,
    options: LogBucketOptions,
}

impl LogBucket {
    /// A client for `location` with the standard credential chain (and the role to assume,
    /// if any). Nothing is called yet.
    pub async fn connect(
        location: S3Prefix,
        options: LogBucketOptions,
    ) -> Result<LogBucket, AwsError> {
        if options.concurrency == 0 {
            return Err(AwsError::Options("concurrency must be at least 1".into()));
        }
        if let Some(role) = &options.role_arn {
            if crate::account_of_role(role).is_none() {
                return Err(AwsError::Options(format!("not an IAM role ARN: {role}")));
            }
        }
        let base = client::base_config(&collect_options(&options)).await;
        let conf = match &options.role_arn {
            Some(role) => client::assumed(&base, role, "trustplane-logs").await,
            None => base,
        };
        Ok(LogBucket {
            client: s3_client(&conf),
            location,
            options,
        })
    }

    /// Where the objects are.
    pub fn location(&self) -> &S3Prefix {
        &self.location
    }

    /// The log objects under the prefix, in key order, after `start_after` when given, at
    /// most `limit` of them. Folder markers (keys ending in `/`) and CloudTrail digest files
    /// are left out: they hold no records.
    pub async fn list(
        &self,
        start_after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<LogObject>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&self.location.prefix)
            .set_start_after(start_after.map(str::to_string))
            .max_keys(self.options.page_size.clamp(1, 1000))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| classify(e, "S3 ListObjectsV2", &collect_options(&self.options)))?;
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                if !is_log_key(key) {
                    continue;
                }
                out.push(LogObject {
                    key: key.to_string(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                });
                if limit.is_some_and(|l| out.len() >= l) {
                    return Ok(out);
                }
            }
        }
        // ListObjectsV2 returns keys in UTF-8 binary order, page after page.
        Ok(out)
    }

    /// The content of one object as stored (gzipped, as CloudTrail writes it), within the
    /// stored-size limit: the body is counted as it streams in. It is inflated as it is
    /// parsed (`trustplane_detect::stream_records`), so the inflated content is never held.
    pub async fn read(&self, key: &str) -> Result<Vec<u8>, ObjectReadError> {
        let max = self.options.max_object_bytes;
        let too_large = || ObjectReadError::Refused(ReadError::TooLarge { max });
        let mut out = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ObjectReadError::Failed(msg(e)))?;
        if out
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .is_some_and(|l| l > max)
        {
            return Err(too_large());
        }
        // The announced length may be absent or wrong: count what actually arrives.
        let mut bytes = Vec::new();
        while let Some(chunk) = out
            .body
            .try_next()
            .await
            .map_err(|e| ObjectReadError::Failed(format!("reading the object failed: {e}")))?
        {
            if u64::try_from(bytes.len() + chunk.len()).unwrap_or(u64::MAX) > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Reads `keys` with at most `concurrency` requests at once, yielding each object's
    /// content (or why it could not be read) in the order of `keys`.
    pub fn read_all(
        &self,
        keys: Vec<String>,
    ) -> impl Stream<Item = (String, Result<Vec<u8>, ObjectReadError>)> + '_ {
        futures::stream::iter(keys)
            .map(move |key| async move {
                let read = self.read(&key).await;
                (key, read)
            })
            .buffered(self.options.concurrency)
    }
}

/// Whether a key can hold log records.
fn is_log_key(key: &str) -> bool {
    !key.ends_with('/')
        && !key.contains("/CloudTrail-Digest/")
        && !key.ends_with("ConfigWritabilityCheckFile")
}

fn collect_options(options: &LogBucketOptions) -> CollectOptions {
    CollectOptions {
        endpoint_url: options.endpoint_url.clone(),
        home_region: options.region.clone(),
        max_attempts: options.max_attempts,
        ..CollectOptions::default()
    }
}

fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    // Emulators serve buckets by path, not as virtual hosts.
    let path_style = conf.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let p = S3Prefix::parse("s3://trail-logs/AWSLogs/123/").unwrap();
        assert_eq!(p.bucket, "trail-logs");
        assert_eq!(p.prefix, "AWSLogs/123/");
        assert_eq!(p.to_string(), "s3://trail-logs/AWSLogs/123/");
        assert_eq!(
            p.object_url("AWSLogs/123/a.json.gz"),
            "s3://trail-logs/AWSLogs/123/a.json.gz"
        );
        assert_eq!(S3Prefix::parse("s3://trail-logs").unwrap().prefix, "");
        for bad in [
            "trail-logs/x",
            "s3://",
            "s3://UPPER/x",
            "s3://ab",
            "s3://-x-/y",
            "https://b/x",
        ] {
            let err = S3Prefix::parse(bad).unwrap_err();
            assert!(matches!(err, AwsError::Options(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn only_log_keys() {
        assert!(is_log_key(
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/28/x.json.gz"
        ));
        assert!(!is_log_key("AWSLogs/1/CloudTrail/"));
        assert!(!is_log_key(
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/28/x.json.gz"
        ));
        assert!(!is_log_key(
            "AWSLogs/1/CloudTrail/ConfigWritabilityCheckFile"
        ));
    }
}
