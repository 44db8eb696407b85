//! Client authentication at the token, revocation and introspection endpoints: a secret (HTTP
//! Basic or the form body, RFC 6749 §2.3.1), a `private_key_jwt` assertion (RFC 7523, OIDC
//! Core §9), or, for public clients, the client id alone. Also the strict form parser those
//! endpoints share.

use std::collections::HashMap;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::clients::{AuthMethod, Client};
use super::error::OAuthError;
use super::jwt::Jws;
use super::Oidc;

/// The only assertion type accepted.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest lifetime accepted for a client assertion.
const MAX_ASSERTION_LIFETIME_S: i64 = 3600;
/// Clock skew tolerated on `nbf` and `iat`.
const SKEW_S: i64 = 60;

/// Form parameters, each present at most once (RFC 6749 §3.1, §3.2).
#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` (or a query string). Repeated parameters
    /// and oversized input are refused.
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        let (params, repeated) = Self::parse_keeping_first(raw)?;
        match repeated.first() {
            None => Ok(params),
            Some(name) => Err(repeated_error(name)),
        }
    }

    /// Like [`parse`](Self::parse), but keeps the first value of a repeated parameter and
    /// names the repeated ones, so the caller can decide how to answer.
    pub fn parse_keeping_first(raw: &[u8]) -> Result<(Self, Vec<String>), OAuthError> {
        if raw.len() > 64 * 1024 {
            return Err(OAuthError::invalid_request("the request is too large"));
        }
        let mut map = HashMap::new();
        let mut repeated = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw) {
            if v.is_empty() {
                // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
                continue;
            }
            if map.contains_key(k.as_ref()) {
                repeated.push(k.chars().take(64).collect());
            } else {
                map.insert(k.to_string(), v.to_string());
            }
        }
        Ok((Params(map), repeated))
    }

    /// A parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("`{name}` is missing")))
    }

    /// Every parameter (for rebuilding a request).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

/// The error for a repeated parameter.
pub fn repeated_error(name: &str) -> OAuthError {
    OAuthError::invalid_request(format!("parameter `{name}` is repeated"))
}

/// What a client's request to the token, revocation or introspection endpoint carries: its
/// `Authorization` and `Content-Type` headers (when readable as text) and its body.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The form body.
    pub body: &'a [u8],
}

/// Checks the body is a form: OAuth endpoints take nothing else.
pub fn require_form(content_type: Option<&str>) -> Result<(), OAuthError> {
    let ct = content_type.unwrap_or_default();
    if ct.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}

fn failed(basic: bool) -> OAuthError {
    OAuthError {
        basic_challenge: basic,
        ..OAuthError::invalid_client("client authentication failed")
    }
}

/// The client id a request names, however it authenticates (for audit of refusals).
pub fn claimed_client_id(authorization: Option<&str>, params: &Params) -> Option<String> {
    if let Some((id, _)) = basic_credentials(authorization) {
        return Some(id);
    }
    if let Some(id) = params.get("client_id") {
        return Some(id.to_string());
    }
    params
        .get("client_assertion")
        .and_then(|a| Jws::parse(a).ok())
        .and_then(|j| j.claims["iss"].as_str().map(str::to_string))
}

fn form_decode(s: &str) -> Option<String> {
    if s.contains('&') {
        return None;
    }
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let (scheme, rest) = authorization?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Authenticates the client of a request to `endpoint` (its absolute URL, an accepted
/// assertion audience besides the issuer and the token endpoint).
pub async fn authenticate(
    oidc: &Oidc,
    authorization: Option<&str>,
    params: &Params,
    endpoint: &str,
) -> Result<Client, OAuthError> {
    let basic_header = authorization.is_some_and(|v| {
        v.get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "))
            && v.len() > 6
    });
    let basic = basic_credentials(authorization);
    if basic_header && basic.is_none() {
        return Err(failed(true));
    }
    let form_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let presented = usize::from(basic.is_some())
        + usize::from(form_secret.is_some())
        + usize::from(assertion.is_some());
    if presented > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some(a) = assertion {
        return private_key_jwt(oidc, params, a, endpoint).await;
    }
    let (client_id, secret, is_basic) = match (&basic, form_secret) {
        (Some((id, secret)), _) => {
            if params.get("client_id").is_some_and(|c| c != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id.clone(), Some(secret.clone()), true)
        }
        (None, secret) => (
            params
                .get("client_id")
                .ok_or_else(|| failed(false))?
                .to_string(),
            secret.map(str::to_string),
            false,
        ),
    };
    let cached = oidc
        .cached_client(&client_id)
        .await?
        .ok_or_else(|| failed(is_basic))?;
    match (cached.client.auth_method, secret) {
        (AuthMethod::None, None) => Ok(cached.client),
        (m, Some(secret)) if m.uses_secret() => {
            let now = oidc.store().clock().now_ms();
            if super::clients::matches_one_of(&cached.secrets, now, &secret) {
                Ok(cached.client)
            } else {
                Err(failed(is_basic))
            }
        }
        _ => Err(failed(is_basic)),
    }
}

async fn private_key_jwt(
    oidc: &Oidc,
    params: &Params,
    assertion: &str,
    endpoint: &str,
) -> Result<Client, OAuthError> {
    if params.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_request(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let jws = Jws::parse(assertion).map_err(|_| failed(false))?;
    let c = &jws.claims;
    let iss = c["iss"].as_str().ok_or_else(|| failed(false))?;
    if c["sub"].as_str() != Some(iss) || params.get("client_id").is_some_and(|id| id != iss) {
        return Err(failed(false));
    }
    let client = oidc.client(iss).await?.ok_or_else(|| failed(false))?;
    if client.auth_method != AuthMethod::PrivateKeyJwt {
        return Err(failed(false));
    }
    let verified = client
        .jwks
        .iter()
        .filter(|k| match (jws.kid(), k["kid"].as_str()) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        })
        .any(|k| jws.verify(k).is_ok());
    if !verified {
        return Err(failed(false));
    }
    let audiences = [
        oidc.issuer().to_string(),
        oidc.url(super::TOKEN_PATH),
        endpoint.to_string(),
    ];
    let aud_ok = match &c["aud"] {
        serde_json::Value::String(a) => audiences.contains(a),
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|a| a.as_str())
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    let now = super::tokens::secs(oidc.store().clock().now_ms());
    let exp = c["exp"].as_i64().ok_or_else(|| failed(false))?;
    let not_before_ok = c["nbf"].as_i64().is_none_or(|nbf| nbf <= now + SKEW_S)
        && c["iat"].as_i64().is_none_or(|iat| iat <= now + SKEW_S);
    if !aud_ok || exp <= now || exp > now + MAX_ASSERTION_LIFETIME_S + SKEW_S || !not_before_ok {
        return Err(failed(false));
    }
    let jti = c["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256);
    let Some(jti) = jti else {
        return Err(failed(false));
    };
    // Each assertion works once, until it would have expired anyway.
    let once = format!(
        "oidc-assertion:{}",
        hex::encode(Sha256::digest(format!("{iss}\0{jti}").as_bytes()))
    );
    if !oidc
        .store()
        .use_once(&once, exp.saturating_mul(1000))
        .await?
    {
        return Err(OAuthError::invalid_client(
            "the client assertion was used before",
        ));
    }
    Ok(client)
}
