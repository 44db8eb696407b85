//! OIDC clients: applications whose `settings.oidc` describes a relying party. The settings
//! are checked whenever an application is created or changed, so what is stored is always a
//! usable client; [`Client::from_app`] reads them back into a typed client.

use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use trustplane_model::Application;
use trustplane_store::{ClientSecret, Store, StoreError};

use super::jwt::check_public_jwk;
use super::keys::Alg;

/// Scopes the provider knows: they decide which claims are released.
pub const USER_SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

const DEFAULT_ACCESS_TTL_SECS: i64 = 600;
const DEFAULT_REFRESH_TTL_SECS: i64 = 14 * 24 * 3600;
const MAX_URIS: usize = 32;
const MAX_URI_LEN: usize = 2048;

/// Why a client's settings were refused; the field path is relative to `settings`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settings.oidc.{field}: {message}")]
pub struct SettingsError {
    /// The field at fault, e.g. `redirectUris[0]`.
    pub field: String,
    /// Why.
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> SettingsError {
    SettingsError {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ClientType {
    #[default]
    Confidential,
    Public,
}

/// How a client proves who it is at the token, revocation and introspection endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A secret in HTTP Basic (the secret methods accept the form body too).
    ClientSecretBasic,
    /// A secret in the form body.
    ClientSecretPost,
    /// A JWT signed with a key from the client's registered JWKS (RFC 7523).
    PrivateKeyJwt,
    /// A public client: no credentials.
    None,
}

impl AuthMethod {
    /// Whether the method uses a client secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// Grant types a client may be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// Authorization code (with PKCE).
    AuthorizationCode,
    /// Refresh token.
    RefreshToken,
    /// Client credentials.
    ClientCredentials,
}

impl GrantType {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

/// `settings.oidc` as written by administrators (camelCase).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OidcSettings {
    #[serde(default)]
    client_type: ClientType,
    token_endpoint_auth_method: Option<AuthMethod>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    legacy_password_grant: bool,
    require_pkce: Option<bool>,
    id_token_signed_response_alg: Option<String>,
    subject_type: Option<String>,
    sector_identifier: Option<String>,
    jwks: Option<Value>,
    scopes: Option<Vec<String>>,
    access_token_lifetime_seconds: Option<i64>,
    refresh_token_lifetime_seconds: Option<i64>,
    #[serde(default)]
    introspect_all_tokens: bool,
}

/// A relying party, read from its application.
#[derive(Debug, Clone)]
pub struct Client {
    /// The application (its `appId` is the client id).
    pub app: Application,
    /// A public client (no credentials; PKCE always).
    pub public: bool,
    /// How it authenticates.
    pub auth_method: AuthMethod,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the person afterwards, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// The legacy resource-owner password grant is enabled.
    pub password_grant: bool,
    /// PKCE (S256) is required at the authorization endpoint.
    pub require_pkce: bool,
    /// ID token signature algorithm.
    pub id_token_alg: Alg,
    /// For pairwise subjects: the sector they are computed for.
    pub pairwise_sector: Option<String>,
    /// The client's public keys, for `private_key_jwt`.
    pub jwks: Vec<Value>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Access token lifetime, ms.
    pub access_ttl_ms: i64,
    /// Refresh token lifetime, ms.
    pub refresh_ttl_ms: i64,
    /// May introspect tokens issued to other clients (a resource server).
    pub introspect_all: bool,
}

impl Client {
    /// The client id (the application's `appId`).
    pub fn client_id(&self) -> &str {
        &self.app.app_id
    }

    /// Whether a grant type is allowed.
    pub fn allows(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// The client of an application, `None` if it has no `settings.oidc`.
    pub fn from_app(app: Application) -> Result<Option<Client>, SettingsError> {
        let Some(raw) = app.settings.get("oidc") else {
            return Ok(None);
        };
        let s: OidcSettings =
            serde_json::from_value(raw.clone()).map_err(|e| bad("", e.to_string()))?;
        let public = s.client_type == ClientType::Public;
        let auth_method = match (s.token_endpoint_auth_method, public) {
            (None, true) => AuthMethod::None,
            (None, false) => AuthMethod::ClientSecretBasic,
            (Some(AuthMethod::None), false) => {
                return Err(bad(
                    "tokenEndpointAuthMethod",
                    "a confidential client must authenticate; use clientType `public` for clients without credentials",
                ))
            }
            (Some(m), true) if m != AuthMethod::None => {
                return Err(bad(
                    "tokenEndpointAuthMethod",
                    "a public client has no credentials: use `none`",
                ))
            }
            (Some(m), _) => m,
        };
        let mut grant_types = Vec::new();
        let names = s
            .grant_types
            .clone()
            .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
        for (i, name) in names.iter().enumerate() {
            let field = format!("grantTypes[{i}]");
            if name == "password" {
                return Err(bad(
                    field,
                    "the password grant is a legacy option: set `legacyPasswordGrant: true` instead",
                ));
            }
            let g = GrantType::parse(name).ok_or_else(|| {
                bad(
                    field.clone(),
                    format!("`{name}` is not supported (authorization_code, refresh_token, client_credentials)"),
                )
            })?;
            if g == GrantType::ClientCredentials && public {
                return Err(bad(field, "a public client cannot use client_credentials"));
            }
            if !grant_types.contains(&g) {
                grant_types.push(g);
            }
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && s.redirect_uris.is_empty() {
            return Err(bad(
                "redirectUris",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        check_uris("redirectUris", &s.redirect_uris, public)?;
        check_uris(
            "postLogoutRedirectUris",
            &s.post_logout_redirect_uris,
            public,
        )?;
        let require_pkce = match (s.require_pkce, public) {
            (Some(false), true) => {
                return Err(bad(
                    "requirePkce",
                    "PKCE is always required of public clients",
                ))
            }
            (Some(v), _) => v,
            (None, _) => true,
        };
        let id_token_alg = match s.id_token_signed_response_alg.as_deref() {
            None => Alg::Es256,
            Some(a) => Alg::parse(a)
                .ok_or_else(|| bad("idTokenSignedResponseAlg", "must be `ES256` or `RS256`"))?,
        };
        let pairwise_sector = match s.subject_type.as_deref() {
            None | Some("public") => {
                if s.sector_identifier.is_some() {
                    return Err(bad(
                        "sectorIdentifier",
                        "only pairwise subjects have a sector",
                    ));
                }
                None
            }
            Some("pairwise") => Some(sector(&s)?),
            Some(_) => return Err(bad("subjectType", "must be `public` or `pairwise`")),
        };
        let jwks = match &s.jwks {
            None => Vec::new(),
            Some(set) => {
                let keys = set
                    .get("keys")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("jwks", "must be a JWK set: {\"keys\": [...]}"))?;
                if keys.len() > 16 {
                    return Err(bad("jwks.keys", "at most 16 keys"));
                }
                for (i, k) in keys.iter().enumerate() {
                    check_public_jwk(k)
                        .map_err(|e| bad(format!("jwks.keys[{i}]"), e.to_string()))?;
                }
                keys.clone()
            }
        };
        if auth_method == AuthMethod::PrivateKeyJwt && jwks.is_empty() {
            return Err(bad(
                "jwks",
                "private_key_jwt needs the client's public keys",
            ));
        }
        let scopes = s
            .scopes
            .clone()
            .unwrap_or_else(|| USER_SCOPES.iter().map(|s| s.to_string()).collect());
        for (i, scope) in scopes.iter().enumerate() {
            if !valid_scope_token(scope) {
                return Err(bad(format!("scopes[{i}]"), "not a valid scope token"));
            }
        }
        let access = s
            .access_token_lifetime_seconds
            .unwrap_or(DEFAULT_ACCESS_TTL_SECS);
        if !(60..=86_400).contains(&access) {
            return Err(bad(
                "accessTokenLifetimeSeconds",
                "must be between 60 and 86400",
            ));
        }
        let refresh = s
            .refresh_token_lifetime_seconds
            .unwrap_or(DEFAULT_REFRESH_TTL_SECS);
        if !(300..=90 * 86_400).contains(&refresh) {
            return Err(bad(
                "refreshTokenLifetimeSeconds",
                "must be between 300 and 7776000",
            ));
        }
        Ok(Some(Client {
            app,
            public,
            auth_method,
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            grant_types,
            password_grant: s.legacy_password_grant,
            require_pkce,
            id_token_alg,
            pairwise_sector,
            jwks,
            scopes,
            access_ttl_ms: access * 1000,
            refresh_ttl_ms: refresh * 1000,
            introspect_all: s.introspect_all_tokens,
        }))
    }
}

/// The client with this id, if it is an OIDC client. Only the `appId` is a client id (the
/// object id also finds the application, but is not one). Stored settings that no longer
/// parse are logged and count as no client.
pub async fn find(store: &Store, client_id: &str) -> Result<Option<Client>, StoreError> {
    if client_id.is_empty() || client_id.len() > 1024 {
        return Ok(None);
    }
    let app = match store.get_application(client_id).await {
        Ok(app) => app,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if app.app_id != client_id {
        return Ok(None);
    }
    match Client::from_app(app) {
        Ok(c) => Ok(c),
        Err(e) => {
            tracing::error!(client = client_id, error = %e, "stored OIDC settings do not parse");
            Ok(None)
        }
    }
}

/// Whether `secret` is one of `secrets` valid at `now`.
pub fn matches_one_of(secrets: &[ClientSecret], now: i64, secret: &str) -> bool {
    if secret.is_empty() || secret.len() > 512 {
        return false;
    }
    // Secrets are stored hashed the way session tokens are.
    let presented = trustplane_authn::hash_session_token(secret);
    let mut found = false;
    for s in secrets {
        let current = s.start_at <= now && s.end_at.is_none_or(|end| end > now);
        // Every stored hash is compared, so timing does not say which (or whether one) matched.
        let same: bool = s.secret_hash.as_bytes().ct_eq(presented.as_bytes()).into();
        found |= same && current;
    }
    found
}

/// Checks `settings.oidc` of an application about to be stored.
pub fn validate_settings(settings: &Map<String, Value>) -> Result<(), SettingsError> {
    if !settings.contains_key("oidc") {
        return Ok(());
    }
    let probe = Application {
        id: String::new(),
        app_id: String::new(),
        display_name: String::new(),
        description: None,
        settings: settings.clone(),
        created_date_time: time::OffsetDateTime::UNIX_EPOCH,
    };
    Client::from_app(probe).map(|_| ())
}

/// RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

fn check_uris(field: &str, uris: &[String], public: bool) -> Result<(), SettingsError> {
    if uris.len() > MAX_URIS {
        return Err(bad(field, format!("at most {MAX_URIS} URIs")));
    }
    for (i, uri) in uris.iter().enumerate() {
        check_uri(uri, public).map_err(|m| bad(format!("{field}[{i}]"), m))?;
    }
    Ok(())
}

/// A redirect URI: absolute, no fragment; `https`, or `http` to this machine's loopback, or
/// (public native clients, RFC 8252) a private-use scheme with a dot in it.
fn check_uri(uri: &str, public: bool) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!("longer than {MAX_URI_LEN} characters"));
    }
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err("a redirect URI must not have a fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a redirect URI must not carry credentials".into());
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => Err("plain http is allowed only to localhost or a loopback address".into()),
        },
        s if public && s.contains('.') => Ok(()),
        s => Err(format!(
            "scheme `{s}` is not allowed (https; http to loopback; private-use schemes for public clients)"
        )),
    }
}

/// The pairwise sector: `sectorIdentifier` if given, else the one host of every redirect URI.
fn sector(s: &OidcSettings) -> Result<String, SettingsError> {
    if let Some(sector) = &s.sector_identifier {
        if sector.is_empty() || sector.len() > 255 || sector.contains(char::is_whitespace) {
            return Err(bad("sectorIdentifier", "must be a host name"));
        }
        return Ok(sector.to_ascii_lowercase());
    }
    let mut hosts: Vec<String> = s
        .redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.host_str().unwrap_or(u.scheme()).to_ascii_lowercase())
        .collect();
    hosts.sort();
    hosts.dedup();
    match hosts.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(bad(
            "subjectType",
            "pairwise subjects need a redirect URI or a sectorIdentifier",
        )),
        _ => Err(bad(
            "sectorIdentifier",
            "the redirect URIs have several hosts: name the sector",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn check(oidc: Value) -> Result<(), SettingsError> {
        let mut m = Map::new();
        m.insert("oidc".into(), oidc);
        validate_settings(&m)
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert!(check(json!({"redirectUris": ["https://app.example.com/cb"]})).is_ok());
        assert!(check(
            json!({"redirectUris": ["http://127.0.0.1:9000/cb"], "clientType": "public"})
        )
        .is_ok());
        for (settings, field) in [
            (
                json!({"redirectUris": ["http://app.example.com/cb"]}),
                "redirectUris[0]",
            ),
            (
                json!({"redirectUris": ["https://app.example.com/cb#x"]}),
                "redirectUris[0]",
            ),
            (json!({"redirectUris": ["/relative"]}), "redirectUris[0]"),
            (json!({"redirectUris": []}), "redirectUris"),
            (
                json!({"redirectUris": ["https://a/cb"], "grantTypes": ["password"]}),
                "grantTypes[0]",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "grantTypes": ["implicit"]}),
                "grantTypes[0]",
            ),
            (
                json!({"clientType": "public", "grantTypes": ["client_credentials"]}),
                "grantTypes[0]",
            ),
            (
                json!({"clientType": "public", "redirectUris": ["https://a/cb"], "requirePkce": false}),
                "requirePkce",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "idTokenSignedResponseAlg": "HS256"}),
                "idTokenSignedResponseAlg",
            ),
            (
                json!({"redirectUris": ["https://a/cb", "https://b/cb"], "subjectType": "pairwise"}),
                "sectorIdentifier",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "tokenEndpointAuthMethod": "private_key_jwt"}),
                "jwks",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "tokenEndpointAuthMethod": "none"}),
                "tokenEndpointAuthMethod",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "accessTokenLifetimeSeconds": 5}),
                "accessTokenLifetimeSeconds",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "scopes": ["a b"]}),
                "scopes[0]",
            ),
            (
                json!({"redirectUris": ["https://a/cb"], "unknownThing": 1}),
                "",
            ),
        ] {
            let err = check(settings.clone()).unwrap_err();
            assert_eq!(err.field, field, "{settings}: {err}");
        }
        // Public clients may use private-use schemes; confidential ones may not.
        assert!(
            check(json!({"clientType": "public", "redirectUris": ["com.example.app:/cb"]})).is_ok()
        );
        assert!(check(json!({"redirectUris": ["com.example.app:/cb"]})).is_err());
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let mut m = Map::new();
        m.insert(
            "oidc".into(),
            json!({"redirectUris": ["https://a.example/cb"]}),
        );
        let app = Application {
            id: "o".into(),
            app_id: "c".into(),
            display_name: "A".into(),
            description: None,
            settings: m,
            created_date_time: time::OffsetDateTime::UNIX_EPOCH,
        };
        let c = Client::from_app(app).unwrap().unwrap();
        assert!(c.require_pkce);
        assert!(!c.password_grant);
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.id_token_alg, Alg::Es256);
        assert_eq!(c.pairwise_sector, None);
        assert_eq!(
            c.grant_types,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
    }
}
