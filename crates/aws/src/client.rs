//! SDK configuration: one HTTP client, the standard credential chain, retries, the endpoint
//! override, and assumed roles.

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::CollectOptions;

/// The base configuration from the standard chain (environment, profiles, SSO, container
/// and instance roles).
pub(crate) async fn base_config(options: &CollectOptions) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    // Standard mode retries throttling (Throttling, TooManyRequests, RequestLimitExceeded ...)
    // and transient errors with exponential backoff and jitter.
    let retry = RetryConfig::standard()
        .with_max_attempts(options.max_attempts.max(1))
        .with_initial_backoff(std::time::Duration::from_millis(200));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry)
        .region(Region::new(options.home_region.clone()));
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    loader.load().await
}

/// The configuration for one role to assume.
pub(crate) async fn assumed(base: &SdkConfig, role_arn: &str, session: &str) -> SdkConfig {
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name(session)
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// The same configuration for another region.
pub(crate) fn for_region(conf: &SdkConfig, region: &str) -> SdkConfig {
    conf.to_builder()
        .region(Region::new(region.to_string()))
        .build()
}

/// S3 Control puts the account id in front of the host (`123.s3-control...`). Behind an
/// endpoint override (an emulator on 127.0.0.1) that host does not resolve, so the prefix is
/// taken off again before signing.
#[derive(Debug)]
pub(crate) struct StripAccountHost {
    /// The authority of the endpoint override (`127.0.0.1:5000`).
    pub authority: String,
}

impl Intercept for StripAccountHost {
    fn name(&self) -> &'static str {
        "StripAccountHost"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request_mut();
        let uri = req.uri().to_string();
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(());
        };
        let suffix = format!(".{}", self.authority);
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(prefix) = host.strip_suffix(&suffix) {
            if !prefix.is_empty() && prefix.bytes().all(|c| c.is_ascii_digit()) {
                req.set_uri(format!("{scheme}://{}{path}", self.authority))?;
            }
        }
        Ok(())
    }
}

/// `host:port` of a URL.
pub(crate) fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}
