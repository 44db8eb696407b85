//! The proxy's calls to Trustplane, as the application's OIDC client: its configuration, the
//! code exchange (with PKCE) and refresh, session checks, and records.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use trustplane_idp::oidc::tokens::ACR_MFA;
use trustplane_idp::oidc::{AUTHORIZE_PATH, TOKEN_PATH};

use crate::check::{AppConfig, ProxyRecord, Verdict, CHECK_PATH, CONFIG_PATH, EVENTS_PATH};
use crate::config::AppCredentials;

/// Why a call to Trustplane failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Trustplane could not be reached or answered garbage.
    #[error("Trustplane is unreachable: {0}")]
    Unreachable(String),
    /// Trustplane refused (bad credentials, not a proxied application, bad code).
    #[error("Trustplane refused: {0}")]
    Refused(String),
}

impl From<reqwest::Error> for ControlError {
    fn from(e: reqwest::Error) -> Self {
        ControlError::Unreachable(e.without_url().to_string())
    }
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// The access token (what checks present).
    pub access_token: String,
    /// Seconds it lasts.
    pub expires_in: i64,
    /// The refresh token, when granted.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A client of one Trustplane for one application.
#[derive(Clone)]
pub struct Control {
    http: reqwest::Client,
    base: String,
    creds: AppCredentials,
}

/// A random URL-safe string of `n` bytes of entropy.
pub fn random(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // getrandom fails only without an OS source, where nothing else would work either.
    if getrandom::getrandom(&mut bytes).is_err() {
        tracing::error!("no randomness available");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Control {
    /// A client for `base` (Trustplane's URL) with the application's credentials.
    pub fn new(base: &str, creds: AppCredentials) -> Result<Self, ControlError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ControlError::Unreachable(e.to_string()))?;
        Ok(Control {
            http,
            base: base.trim_end_matches('/').to_string(),
            creds,
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.creds.client_id
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<String, ControlError> {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(
                enc(&self.creds.client_id),
                Some(enc(&self.creds.client_secret)),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        if status.is_success() {
            Ok(text)
        } else if status.is_server_error() {
            Err(ControlError::Unreachable(format!("{status}")))
        } else {
            Err(ControlError::Refused(text.chars().take(300).collect()))
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, ControlError> {
        serde_json::from_str(text).map_err(|e| ControlError::Unreachable(format!("answer: {e}")))
    }

    /// The application's proxy configuration.
    pub async fn config(&self) -> Result<AppConfig, ControlError> {
        Self::parse(&self.post_form(CONFIG_PATH, &[]).await?)
    }

    /// Where to send a person to sign in; `mfa` asks for a recent second factor.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        verifier: &str,
        mfa: bool,
    ) -> String {
        let mut url = format!(
            "{}{AUTHORIZE_PATH}?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20email%20offline_access&state={}&code_challenge={}&code_challenge_method=S256",
            self.base,
            enc(&self.creds.client_id),
            enc(redirect_uri),
            enc(state),
            challenge(verifier),
        );
        if mfa {
            url.push_str(&format!("&acr_values={}", enc(ACR_MFA)));
        }
        url
    }

    /// Redeems a code.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, ControlError> {
        let text = self
            .post_form(
                TOKEN_PATH,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("code_verifier", verifier),
                    ("redirect_uri", redirect_uri),
                ],
            )
            .await?;
        Self::parse(&text)
    }

    /// New tokens from a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ControlError> {
        let text = self
            .post_form(
                TOKEN_PATH,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await?;
        Self::parse(&text)
    }

    /// The verdict on a session for a person at `ip`.
    pub async fn check(
        &self,
        access_token: &str,
        ip: Option<&str>,
        user_agent: Option<&str>,
        first: bool,
    ) -> Result<Verdict, ControlError> {
        let mut form = vec![("token", access_token)];
        if let Some(ip) = ip {
            form.push(("ip", ip));
        }
        if let Some(ua) = user_agent {
            form.push(("userAgent", ua));
        }
        if first {
            form.push(("first", "1"));
        }
        Self::parse(&self.post_form(CHECK_PATH, &form).await?)
    }

    /// Sends records.
    pub async fn send(&self, records: &[ProxyRecord]) -> Result<(), ControlError> {
        if records.is_empty() {
            return Ok(());
        }
        let events =
            serde_json::to_string(records).map_err(|e| ControlError::Refused(e.to_string()))?;
        self.post_form(EVENTS_PATH, &[("events", &events)]).await?;
        Ok(())
    }
}
