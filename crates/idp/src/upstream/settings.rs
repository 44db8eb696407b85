//! An upstream provider's settings as the API receives them, and their validation.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::UpstreamError;

/// Longest issuer or endpoint URL accepted.
pub const MAX_URL_LEN: usize = 512;
/// Longest client id accepted.
pub const MAX_CLIENT_ID_LEN: usize = 256;
/// Longest client secret accepted.
pub const MAX_SECRET_LEN: usize = 1024;
/// Most sign-in domains one provider may have.
pub const MAX_DOMAINS: usize = 50;
/// Most scopes asked for.
pub const MAX_SCOPES: usize = 20;
/// Longest claim name in a mapping.
pub const MAX_CLAIM_NAME_LEN: usize = 64;

/// How an upstream identity signing in for the first time finds its Trustplane user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkBy {
    /// Never to an existing user: an asserted name that a user already has is refused; a new
    /// user is created only with `jitProvisioning`.
    #[default]
    None,
    /// To the existing user with the asserted `userPrincipalName` (in one of the provider's
    /// domains): the administrator trusts the provider to assert these names.
    UserPrincipalName,
    /// To the user imported from a directory whose anchor (`objectGUID`, `entryUUID`) is the
    /// value of the claim `claimMapping.anchor`: an immutable claim.
    DirectoryAnchor,
}

/// Which claims carry what. Unset entries take Entra ID's names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimMapping {
    /// The immutable subject. Default: `tid` and `oid` together when both are present
    /// (Entra ID), else `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The sign-in name. Default: `preferred_username`, else `upn`, else `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Default `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Default `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// Default `given_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Default `family_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// Default `groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    /// The claim holding a directory anchor, for `linkBy: directoryAnchor` (no default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
}

/// The settings kept with a provider (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSettings {
    /// Scopes asked for; always includes `openid`.
    pub scopes: Vec<String>,
    /// Which claims carry what.
    pub claim_mapping: ClaimMapping,
    /// How a first sign-in finds its user.
    pub link_by: LinkBy,
    /// Whether the provider's `amr` value `mfa` satisfies conditional access's MFA control.
    pub trust_mfa: bool,
    /// Whether an upstream identity without a user gets one created (with no roles).
    pub jit_provisioning: bool,
}

/// A provider to create, as `POST /api/v1/identityProviders` receives it.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProvider {
    /// `oidc`.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// A readable name, unique; default: the issuer's host.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The issuer identifier: `https://...`, or `http://` on loopback only.
    pub issuer: String,
    /// The client id Trustplane has at the provider.
    pub client_id: String,
    /// The client secret (sealed at rest, never returned).
    pub client_secret: String,
    /// Sign-in domains whose people home-realm discovery sends there.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Scopes; default `openid profile email`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Which claims carry what.
    #[serde(default)]
    pub claim_mapping: ClaimMapping,
    /// How a first sign-in finds its user (default `none`).
    #[serde(default)]
    pub link_by: LinkBy,
    /// Trust the provider's MFA (default false).
    #[serde(default)]
    pub trust_mfa: bool,
    /// Create users just in time (default false).
    #[serde(default)]
    pub jit_provisioning: bool,
}

impl fmt::Debug for NewProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewProvider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
}

/// A validated provider: what the store keeps.
#[derive(Debug, Clone)]
pub struct ValidProvider {
    /// The name.
    pub display_name: String,
    /// The issuer, as given.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// Lower-case domains, no duplicates.
    pub domains: Vec<String>,
    /// The rest.
    pub settings: ProviderSettings,
}

impl NewProvider {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<ValidProvider, UpstreamError> {
        if self.provider_type != "oidc" {
            return Err(UpstreamError::invalid(
                "type",
                "must be `oidc` (OpenID Connect)",
            ));
        }
        let issuer = check_url("issuer", &self.issuer)?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(UpstreamError::invalid(
                "issuer",
                "must not have a query or fragment",
            ));
        }
        let client_id = self.client_id.trim();
        if client_id.is_empty()
            || client_id.len() > MAX_CLIENT_ID_LEN
            || client_id.chars().any(char::is_control)
        {
            return Err(UpstreamError::invalid(
                "clientId",
                format!("must be 1 to {MAX_CLIENT_ID_LEN} printable characters"),
            ));
        }
        if self.client_secret.is_empty() || self.client_secret.len() > MAX_SECRET_LEN {
            return Err(UpstreamError::invalid(
                "clientSecret",
                format!("must be 1 to {MAX_SECRET_LEN} bytes"),
            ));
        }
        if self.domains.len() > MAX_DOMAINS {
            return Err(UpstreamError::invalid(
                "domains",
                format!("at most {MAX_DOMAINS}"),
            ));
        }
        let mut domains = Vec::with_capacity(self.domains.len());
        for d in &self.domains {
            let d = d.trim().to_ascii_lowercase();
            if !is_domain(&d) {
                return Err(UpstreamError::invalid(
                    "domains",
                    format!(
                        "`{}` is not a domain name",
                        d.chars().take(64).collect::<String>()
                    ),
                ));
            }
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        let scopes = match &self.scopes {
            None => vec!["openid".into(), "profile".into(), "email".into()],
            Some(list) => {
                if list.len() > MAX_SCOPES
                    || list.iter().any(|s| {
                        s.is_empty()
                            || s.len() > 64
                            || !s
                                .chars()
                                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
                    })
                {
                    return Err(UpstreamError::invalid(
                        "scopes",
                        format!("at most {MAX_SCOPES} scope tokens (RFC 6749 §3.3)"),
                    ));
                }
                let mut out = list.clone();
                if !out.iter().any(|s| s == "openid") {
                    out.insert(0, "openid".into());
                }
                out
            }
        };
        let m = &self.claim_mapping;
        for (field, value) in [
            ("claimMapping.subject", &m.subject),
            ("claimMapping.userPrincipalName", &m.user_principal_name),
            ("claimMapping.displayName", &m.display_name),
            ("claimMapping.mail", &m.mail),
            ("claimMapping.givenName", &m.given_name),
            ("claimMapping.surname", &m.surname),
            ("claimMapping.groups", &m.groups),
            ("claimMapping.anchor", &m.anchor),
        ] {
            if let Some(v) = value {
                if v.is_empty()
                    || v.len() > MAX_CLAIM_NAME_LEN
                    || !v.chars().all(|c| c.is_ascii_graphic())
                {
                    return Err(UpstreamError::invalid(
                        field,
                        format!("must be a claim name of 1 to {MAX_CLAIM_NAME_LEN} characters"),
                    ));
                }
            }
        }
        if self.link_by == LinkBy::DirectoryAnchor && m.anchor.is_none() {
            return Err(UpstreamError::invalid(
                "claimMapping.anchor",
                "required with linkBy `directoryAnchor`: the claim that carries the anchor",
            ));
        }
        if (self.link_by == LinkBy::UserPrincipalName || self.jit_provisioning)
            && domains.is_empty()
        {
            return Err(UpstreamError::invalid(
                "domains",
                "required with linkBy `userPrincipalName` or jitProvisioning: the provider may only assert names in its own domains",
            ));
        }
        let display_name = match &self.display_name {
            Some(n) => n.trim().to_string(),
            None => issuer.host_str().unwrap_or("identity provider").to_string(),
        };
        if display_name.is_empty() || display_name.chars().count() > 256 {
            return Err(UpstreamError::invalid(
                "displayName",
                "must be 1 to 256 characters",
            ));
        }
        Ok(ValidProvider {
            display_name,
            issuer: self.issuer.clone(),
            client_id: client_id.to_string(),
            domains,
            settings: ProviderSettings {
                scopes,
                claim_mapping: m.clone(),
                link_by: self.link_by,
                trust_mfa: self.trust_mfa,
                jit_provisioning: self.jit_provisioning,
            },
        })
    }
}

/// An `https://` URL, or `http://` on loopback only (for local providers and tests).
pub fn check_url(field: &'static str, text: &str) -> Result<url::Url, UpstreamError> {
    if text.len() > MAX_URL_LEN {
        return Err(UpstreamError::invalid(
            field,
            format!("longer than {MAX_URL_LEN} characters"),
        ));
    }
    let url = url::Url::parse(text)
        .map_err(|e| UpstreamError::invalid(field, format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UpstreamError::invalid(field, "must not carry credentials"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(UpstreamError::invalid(field, "has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(UpstreamError::invalid(
            field,
            "must be https:// (http:// only on loopback)",
        )),
    }
}

/// A DNS name with at least two labels, each 1 to 63 of `a-z0-9-`, not starting or ending
/// with `-`.
pub fn is_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> NewProvider {
        serde_json::from_value(serde_json::json!({
            "type": "oidc",
            "issuer": "https://login.example.com/tenant/v2.0",
            "clientId": "trustplane",
            "clientSecret": "s3cret",
            "domains": ["Corp.Example.Test", "corp.example.test"],
            "linkBy": "userPrincipalName",
            "trustMfa": true
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_good_provider_is_normalised() {
        let v = base().validate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.domains, vec!["corp.example.test"]);
        assert_eq!(v.display_name, "login.example.com");
        assert_eq!(v.settings.scopes, vec!["openid", "profile", "email"]);
        assert!(v.settings.trust_mfa);
    }

    #[test]
    fn bad_fields_are_named() {
        let field = |p: NewProvider| p.validate().err().map(|e| e.field().unwrap_or_default());
        let mut p = base();
        p.issuer = "http://login.example.com".into();
        assert_eq!(field(p), Some("issuer"));
        let mut p = base();
        p.issuer = "http://127.0.0.1:8080".into();
        assert_eq!(field(p), None, "http on loopback is allowed");
        let mut p = base();
        p.provider_type = "saml".into();
        assert_eq!(field(p), Some("type"));
        let mut p = base();
        p.client_secret = String::new();
        assert_eq!(field(p), Some("clientSecret"));
        let mut p = base();
        p.domains = vec!["not a domain".into()];
        assert_eq!(field(p), Some("domains"));
        let mut p = base();
        p.domains = vec![];
        assert_eq!(field(p), Some("domains"), "a UPN link needs domains");
        let mut p = base();
        p.link_by = LinkBy::DirectoryAnchor;
        assert_eq!(field(p), Some("claimMapping.anchor"));
        assert!(serde_json::from_value::<NewProvider>(serde_json::json!({
            "type": "oidc", "issuer": "https://x.test", "clientId": "a", "clientSecret": "b",
            "bogus": 1
        }))
        .is_err());
    }

    #[test]
    fn debug_never_prints_the_secret() {
        assert!(!format!("{:?}", base()).contains("s3cret"));
    }
}
