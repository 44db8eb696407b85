//! What an administrator asks to connect, checked and turned into what the store keeps: an AWS
//! account or Azure subscription to scan, and an S3 prefix of CloudTrail objects to poll.
//! Errors name the field.

use serde::Deserialize;
use serde_json::json;
use trustplane_store::{NewCloudAccount, NewLogSource, StoreError};

use crate::checks::{check_aws, check_guid, check_url};
use crate::Cloud;

/// A connection to make: an AWS account (`accountId`, optional `roleArn`, `regions`,
/// `endpointUrl`) or an Azure subscription (`subscriptionId`, `tenantId`, `clientId`,
/// `clientSecret`, optional endpoints).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectAccount {
    /// `aws` or `azure`.
    pub provider: String,
    /// A readable name [default: the account or subscription id].
    pub display_name: Option<String>,
    /// Scanned on the schedule [default: true].
    pub enabled: Option<bool>,
    /// AWS: the 12-digit account id.
    pub account_id: Option<String>,
    /// AWS: a role of that account to assume; without it the node's own credentials are used.
    pub role_arn: Option<String>,
    /// AWS: regions to scan [default: every enabled region].
    pub regions: Option<Vec<String>>,
    /// AWS: another endpoint (a VPC endpoint, an emulator).
    pub endpoint_url: Option<String>,
    /// Azure: the subscription id.
    pub subscription_id: Option<String>,
    /// Azure: the directory (tenant) id.
    pub tenant_id: Option<String>,
    /// Azure: the service principal's application (client) id.
    pub client_id: Option<String>,
    /// Azure: its client secret (stored sealed, never returned).
    pub client_secret: Option<String>,
    /// Azure: Resource Manager endpoint.
    pub arm_endpoint: Option<String>,
    /// Azure: Microsoft Graph endpoint.
    pub graph_endpoint: Option<String>,
    /// Azure: token endpoint.
    pub login_endpoint: Option<String>,
}

fn field_error(field: &'static str, message: &str) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.to_string(),
    }
}

impl Cloud {
    /// Validates a connection and turns it into what the store keeps (the secret sealed).
    pub fn new_account(&self, b: ConnectAccount) -> Result<NewCloudAccount, StoreError> {
        let only = |present: bool, field: &'static str, provider: &str| {
            if present {
                Err(field_error(
                    field,
                    &format!("is not a setting of {provider}"),
                ))
            } else {
                Ok(())
            }
        };
        match b.provider.as_str() {
            "aws" => {
                only(b.subscription_id.is_some(), "subscriptionId", "aws")?;
                only(b.tenant_id.is_some(), "tenantId", "aws")?;
                only(b.client_id.is_some(), "clientId", "aws")?;
                only(b.client_secret.is_some(), "clientSecret", "aws")?;
                only(b.arm_endpoint.is_some(), "armEndpoint", "aws")?;
                only(b.graph_endpoint.is_some(), "graphEndpoint", "aws")?;
                only(b.login_endpoint.is_some(), "loginEndpoint", "aws")?;
                let account = b
                    .account_id
                    .ok_or_else(|| field_error("accountId", "is required for aws"))?;
                let regions = b.regions.unwrap_or_default();
                check_aws(
                    &account,
                    b.role_arn.as_deref(),
                    &regions,
                    b.endpoint_url.as_deref(),
                )?;
                Ok(NewCloudAccount {
                    provider: "aws".into(),
                    display_name: b.display_name.unwrap_or_else(|| account.clone()),
                    settings: json!({ "roleArn": b.role_arn, "regions": regions, "endpointUrl": b.endpoint_url }),
                    account,
                    sealed_secret: None,
                    enabled: b.enabled.unwrap_or(true),
                })
            }
            "azure" => {
                only(b.account_id.is_some(), "accountId", "azure")?;
                only(b.role_arn.is_some(), "roleArn", "azure")?;
                only(b.regions.is_some(), "regions", "azure")?;
                only(b.endpoint_url.is_some(), "endpointUrl", "azure")?;
                let required = |v: Option<String>, field: &'static str| {
                    v.filter(|s| !s.is_empty())
                        .ok_or_else(|| field_error(field, "is required for azure"))
                };
                let subscription = required(b.subscription_id, "subscriptionId")?.to_lowercase();
                let tenant = required(b.tenant_id, "tenantId")?.to_lowercase();
                let client = required(b.client_id, "clientId")?.to_lowercase();
                let secret = required(b.client_secret, "clientSecret")?;
                check_guid("subscriptionId", &subscription)?;
                check_guid("tenantId", &tenant)?;
                check_guid("clientId", &client)?;
                check_url("armEndpoint", b.arm_endpoint.as_deref())?;
                check_url("graphEndpoint", b.graph_endpoint.as_deref())?;
                check_url("loginEndpoint", b.login_endpoint.as_deref())?;
                let sealed = self.seal_secret("azure", &subscription, &secret)?;
                Ok(NewCloudAccount {
                    provider: "azure".into(),
                    display_name: b.display_name.unwrap_or_else(|| subscription.clone()),
                    settings: json!({ "tenantId": tenant, "clientId": client, "armEndpoint": b.arm_endpoint, "graphEndpoint": b.graph_endpoint, "loginEndpoint": b.login_endpoint }),
                    account: subscription,
                    sealed_secret: Some(sealed),
                    enabled: b.enabled.unwrap_or(true),
                })
            }
            _ => Err(field_error("provider", "must be aws or azure")),
        }
    }
}

/// An S3 prefix of CloudTrail objects to poll.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLogSource {
    /// A readable name [default: s3://bucket/prefix].
    pub display_name: Option<String>,
    /// The bucket.
    pub bucket: String,
    /// The key prefix, e.g. `AWSLogs/123456789012/CloudTrail/eu-west-1/`. Keys are read in
    /// order after the last one read: give one prefix per region (CloudTrail's keys grow in
    /// order within one region's prefix).
    #[serde(default)]
    pub prefix: String,
    /// The bucket's region.
    pub region: String,
    /// A role to assume for reading.
    pub role_arn: Option<String>,
    /// Another endpoint (a VPC endpoint, an emulator).
    pub endpoint_url: Option<String>,
    /// Seconds between polls [default: 60; at least 10].
    pub poll_interval_secs: Option<i64>,
    /// Polled at all [default: true].
    pub enabled: Option<bool>,
}

fn check_bucket(bucket: &str) -> Result<(), StoreError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(field_error(
            "bucket",
            "must be an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)",
        ))
    }
}

impl CreateLogSource {
    /// Checks the source and turns it into what the store keeps.
    pub fn into_new_source(self) -> Result<NewLogSource, StoreError> {
        check_bucket(&self.bucket)?;
        if self.prefix.len() > 1024 {
            return Err(field_error("prefix", "is longer than an S3 key can be"));
        }
        // The region and role follow the same rules as a connected AWS account's.
        let account = self
            .role_arn
            .as_deref()
            .and_then(|a| a.split(':').nth(4))
            .unwrap_or("000000000000")
            .to_string();
        check_aws(
            &account,
            self.role_arn.as_deref(),
            std::slice::from_ref(&self.region),
            self.endpoint_url.as_deref(),
        )
        .map_err(|e| match e {
            StoreError::Invalid {
                field: "accountId",
                message,
            } => field_error("roleArn", &format!("not an IAM role ARN ({message})")),
            StoreError::Invalid {
                field: "regions",
                message,
            } => field_error("region", &message),
            other => other,
        })?;
        Ok(NewLogSource {
            display_name: self
                .display_name
                .unwrap_or_else(|| format!("s3://{}/{}", self.bucket, self.prefix)),
            bucket: self.bucket,
            prefix: self.prefix,
            region: self.region,
            role_arn: self.role_arn,
            endpoint_url: self.endpoint_url,
            poll_interval_secs: self.poll_interval_secs.unwrap_or(60),
            enabled: self.enabled.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bucket: &str, role_arn: Option<&str>, region: &str) -> CreateLogSource {
        CreateLogSource {
            display_name: None,
            bucket: bucket.into(),
            prefix: "AWSLogs/".into(),
            region: region.into(),
            role_arn: role_arn.map(str::to_string),
            endpoint_url: None,
            poll_interval_secs: None,
            enabled: None,
        }
    }

    fn field(e: StoreError) -> &'static str {
        match e {
            StoreError::Invalid { field, .. } => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn a_log_source_names_the_field_it_fails_on() {
        let bad_bucket = source("Not_A_Bucket", None, "eu-west-1").into_new_source();
        assert_eq!(field(bad_bucket.unwrap_err()), "bucket");
        let bad_role = source("trail-logs", Some("arn:aws:iam::12:user/x"), "eu-west-1");
        assert_eq!(field(bad_role.into_new_source().unwrap_err()), "roleArn");
        let bad_region = source("trail-logs", None, "not a region!").into_new_source();
        assert_eq!(field(bad_region.unwrap_err()), "region");
    }

    #[test]
    fn a_good_log_source_gets_its_defaults() {
        let new = source("trail-logs", None, "eu-west-1")
            .into_new_source()
            .unwrap();
        assert_eq!(new.display_name, "s3://trail-logs/AWSLogs/");
        assert_eq!(new.poll_interval_secs, 60);
        assert!(new.enabled);
    }
}
