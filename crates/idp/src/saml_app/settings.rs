//! A SAML service provider's settings, kept under `settings.saml` of its application, and the
//! templates for AWS.
//!
//! The application's `appId` is the SP's entity id (the audience of its assertions). Settings
//! are checked when the application is saved, so the single sign-on path only reads them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trustplane_saml::{AcsEndpoint, Certificate, SpMetadata, BINDING_POST};

/// The persistent NameID format.
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// The e-mail NameID format.
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// The unspecified NameID format.
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
/// Attribute names that are URIs.
pub const NAME_FORMAT_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";

/// AWS's SAML service provider, the same for every account.
pub const AWS_ENTITY_ID: &str = "urn:amazon:webservices";
/// Where AWS console sign-in assertions are posted.
pub const AWS_SIGNIN_ACS: &str = "https://signin.aws.amazon.com/saml";
const AWS_ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const AWS_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const AWS_SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";

/// What kind of SP this is; the AWS templates add their attributes by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Template {
    /// Any SAML 2.0 SP: only the configured attributes.
    #[default]
    Generic,
    /// The AWS console, one or many accounts: `Role`, `RoleSessionName`, `SessionDuration`.
    AwsConsole,
    /// AWS IAM Identity Center: NameID is the person's e-mail address (or UPN).
    AwsIdentityCenter,
}

/// One assertion consumer service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Acs {
    /// Where responses are posted.
    pub url: String,
    /// The index requests may name.
    #[serde(default)]
    pub index: u16,
    /// Whether it is the one used when a request names none.
    #[serde(default)]
    pub is_default: bool,
}

/// An attribute to release: `source` says where its values come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeRule {
    /// The attribute's name in the assertion.
    pub name: String,
    /// `userPrincipalName`, `mail`, `displayName`, `givenName`, `surname`, `id`, `groups`
    /// (group ids), `groupNames`, `roles` (directory role names), `awsRoles`,
    /// `attributes.<name>` (a directory attribute, multi-valued if it is a list), or
    /// `value:<text>` (a constant).
    pub source: String,
    /// `NameFormat`, e.g. the URI format.
    #[serde(default)]
    pub name_format: Option<String>,
    /// `FriendlyName`.
    #[serde(default)]
    pub friendly_name: Option<String>,
}

/// The settings of one SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SamlSettings {
    /// What kind of SP.
    #[serde(default)]
    pub template: Template,
    /// Where assertions may be posted (HTTP-POST only).
    #[serde(default)]
    pub assertion_consumer_services: Vec<Acs>,
    /// The NameID format.
    #[serde(default)]
    pub name_id_format: Option<String>,
    /// Where the NameID comes from (same vocabulary as attribute sources, single-valued).
    #[serde(default)]
    pub name_id_source: Option<String>,
    /// Attributes to release, besides the template's.
    #[serde(default)]
    pub attributes: Vec<AttributeRule>,
    /// How long an assertion may be presented, in seconds.
    #[serde(default = "default_lifetime")]
    pub assertion_lifetime_seconds: u32,
    /// Sign the whole response.
    #[serde(default = "yes")]
    pub sign_response: bool,
    /// Sign the assertion.
    #[serde(default = "yes")]
    pub sign_assertion: bool,
    /// The SP's certificates (base64 DER), to check signed requests.
    #[serde(default)]
    pub signing_certificates: Vec<String>,
    /// Refuse requests that are not signed by one of `signingCertificates`.
    #[serde(default)]
    pub require_signed_requests: bool,
    /// AWS console: the session length asked for, in seconds (capped at the roles' maximum).
    #[serde(default)]
    pub session_duration: Option<u32>,
    /// AWS console: the source of `RoleSessionName` (default `userPrincipalName`, so that
    /// CloudTrail names the person).
    #[serde(default)]
    pub role_session_name_source: Option<String>,
    /// AWS console: only roles in these accounts (all when empty).
    #[serde(default)]
    pub aws_accounts: Vec<String>,
}

fn default_lifetime() -> u32 {
    300
}

fn yes() -> bool {
    true
}

/// Why settings are refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

const SIMPLE_SOURCES: &[&str] = &[
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "id",
    "groups",
    "groupNames",
    "roles",
    "awsRoles",
];

fn check_source(field: &str, source: &str) -> Result<(), Invalid> {
    let ok = SIMPLE_SOURCES.contains(&source)
        || source
            .strip_prefix("attributes.")
            .is_some_and(|n| !n.is_empty())
        || source.starts_with("value:");
    if ok {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{field}: unknown source `{source}` (one of {}, attributes.<name>, value:<text>)",
            SIMPLE_SOURCES.join(", ")
        )))
    }
}

/// Sources that may name a person to a service provider (the NameID, AWS's RoleSessionName):
/// values no one else holds and that only privileged administrators can change. `mail` is
/// accepted only because each response checks that no one else shares it.
pub const IDENTIFYING_SOURCES: &[&str] = &["id", "userPrincipalName", "mail"];

fn check_identifying_source(field: &str, source: &str) -> Result<(), Invalid> {
    if IDENTIFYING_SOURCES.contains(&source) {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{field}: `{source}` can be shared or set by anyone who edits users; use one of {}",
            IDENTIFYING_SOURCES.join(", ")
        )))
    }
}

impl SamlSettings {
    /// Reads `settings.saml` of an application, if it has one.
    pub fn from_app_settings(settings: &Map<String, Value>) -> Result<Option<Self>, Invalid> {
        let Some(value) = settings.get("saml") else {
            return Ok(None);
        };
        let parsed: SamlSettings = serde_json::from_value(value.clone())
            .map_err(|e| Invalid(format!("settings.saml: {e}")))?;
        Ok(Some(parsed))
    }

    /// Fills what a template implies and checks everything. `app_id` is the entity id.
    pub fn complete(mut self, app_id: &str) -> Result<Self, Invalid> {
        if self.template == Template::AwsConsole && self.assertion_consumer_services.is_empty() {
            self.assertion_consumer_services.push(Acs {
                url: AWS_SIGNIN_ACS.into(),
                index: 0,
                is_default: true,
            });
        }
        if self.template == Template::AwsIdentityCenter && self.name_id_format.is_none() {
            self.name_id_format = Some(NAMEID_EMAIL.into());
        }
        if app_id.trim().is_empty() {
            return Err(Invalid("appId: the SP's entity id is needed".into()));
        }
        if self.assertion_consumer_services.is_empty() {
            return Err(Invalid(
                "settings.saml.assertionConsumerServices: at least one is needed".into(),
            ));
        }
        for acs in &self.assertion_consumer_services {
            let url = url_origin(&acs.url).ok_or_else(|| {
                Invalid(format!(
                    "settings.saml.assertionConsumerServices: `{}` is not an absolute https URL",
                    acs.url
                ))
            })?;
            // Plain http is for SPs on this machine (tests, local tools) only.
            if !url.starts_with("https://") && !is_loopback_origin(&url) {
                return Err(Invalid(format!(
                    "settings.saml.assertionConsumerServices: `{}` must use https",
                    acs.url
                )));
            }
        }
        if let Some(format) = &self.name_id_format {
            if ![
                NAMEID_PERSISTENT,
                NAMEID_EMAIL,
                NAMEID_UNSPECIFIED,
                NAMEID_TRANSIENT,
            ]
            .contains(&format.as_str())
            {
                return Err(Invalid(format!(
                    "settings.saml.nameIdFormat: `{format}` is not supported"
                )));
            }
        }
        if let Some(source) = &self.name_id_source {
            check_identifying_source("settings.saml.nameIdSource", source)?;
        }
        if let Some(source) = &self.role_session_name_source {
            check_identifying_source("settings.saml.roleSessionNameSource", source)?;
        }
        for rule in &self.attributes {
            if rule.name.trim().is_empty() {
                return Err(Invalid("settings.saml.attributes: a name is empty".into()));
            }
            check_source("settings.saml.attributes", &rule.source)?;
        }
        if !(60..=3600).contains(&self.assertion_lifetime_seconds) {
            return Err(Invalid(
                "settings.saml.assertionLifetimeSeconds: between 60 and 3600".into(),
            ));
        }
        if !self.sign_response && !self.sign_assertion {
            return Err(Invalid(
                "settings.saml: the response, the assertion or both must be signed".into(),
            ));
        }
        if let Some(d) = self.session_duration {
            if !(900..=43_200).contains(&d) {
                return Err(Invalid(
                    "settings.saml.sessionDuration: between 900 and 43200 seconds".into(),
                ));
            }
        }
        for cert in &self.signing_certificates {
            Certificate::from_base64(cert)
                .map_err(|e| Invalid(format!("settings.saml.signingCertificates: {e}")))?;
        }
        if self.require_signed_requests && self.signing_certificates.is_empty() {
            return Err(Invalid(
                "settings.saml.requireSignedRequests needs signingCertificates".into(),
            ));
        }
        Ok(self)
    }

    /// The SP as the SAML library sees it, to pick the ACS for a request.
    pub fn sp_metadata(&self, app_id: &str) -> SpMetadata {
        SpMetadata {
            entity_id: app_id.into(),
            acs: self
                .assertion_consumer_services
                .iter()
                .map(|a| AcsEndpoint {
                    binding: BINDING_POST.into(),
                    location: a.url.clone(),
                    index: a.index,
                    is_default: Some(a.is_default),
                })
                .collect(),
            name_id_formats: self.name_id_format.iter().cloned().collect(),
            signing_certificates: self
                .signing_certificates
                .iter()
                .filter_map(|c| Certificate::from_base64(c).ok())
                .collect(),
            authn_requests_signed: self.require_signed_requests,
            want_assertions_signed: self.sign_assertion,
        }
    }

    /// The NameID format and where its value comes from.
    pub fn name_id(&self) -> (&str, &str) {
        let format = self
            .name_id_format
            .as_deref()
            .unwrap_or(match self.template {
                Template::AwsIdentityCenter => NAMEID_EMAIL,
                _ => NAMEID_PERSISTENT,
            });
        // An e-mail NameID is the UPN (which has an address's form and is unique), not `mail`,
        // which any user administrator can set to someone else's address.
        let source = self.name_id_source.as_deref().unwrap_or(match format {
            NAMEID_PERSISTENT => "id",
            _ => "userPrincipalName",
        });
        (format, source)
    }

    /// Every attribute to release: the template's, then the configured ones.
    pub fn attribute_rules(&self) -> Vec<AttributeRule> {
        let mut rules = Vec::new();
        if self.template == Template::AwsConsole {
            let uri = |name: &str, source: String| AttributeRule {
                name: name.into(),
                source,
                name_format: Some(NAME_FORMAT_URI.into()),
                friendly_name: None,
            };
            rules.push(uri(AWS_ROLE, "awsRoles".into()));
            rules.push(uri(
                AWS_SESSION_NAME,
                self.role_session_name_source
                    .clone()
                    .unwrap_or_else(|| "userPrincipalName".into()),
            ));
            rules.push(uri(AWS_SESSION_DURATION, "awsSessionDuration".into()));
        }
        rules.extend(self.attributes.iter().cloned());
        rules
    }

    /// Settings for an SP described by its metadata.
    pub fn from_metadata(sp: &SpMetadata) -> Self {
        SamlSettings {
            template: Template::Generic,
            assertion_consumer_services: sp
                .acs
                .iter()
                .filter(|a| a.binding == BINDING_POST)
                .map(|a| Acs {
                    url: a.location.clone(),
                    index: a.index,
                    is_default: a.is_default == Some(true),
                })
                .collect(),
            name_id_format: sp
                .name_id_formats
                .iter()
                .find(|f| {
                    [NAMEID_PERSISTENT, NAMEID_EMAIL, NAMEID_UNSPECIFIED].contains(&f.as_str())
                })
                .cloned(),
            name_id_source: None,
            attributes: Vec::new(),
            assertion_lifetime_seconds: default_lifetime(),
            sign_response: true,
            sign_assertion: true,
            signing_certificates: sp
                .signing_certificates
                .iter()
                .map(Certificate::to_base64)
                .collect(),
            require_signed_requests: sp.authn_requests_signed,
            session_duration: None,
            role_session_name_source: None,
            aws_accounts: Vec::new(),
        }
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL.
pub fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() || host.contains(['@', ' ', '"', '\'', ';']) {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

fn is_loopback_origin(origin: &str) -> bool {
    let host = origin.trim_start_matches("http://");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host == "localhost" || host == "127.0.0.1" || host == "[::1]"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<SamlSettings, Invalid> {
        let mut m = Map::new();
        m.insert("saml".into(), v);
        SamlSettings::from_app_settings(&m)?
            .unwrap()
            .complete("urn:sp")
    }

    #[test]
    fn the_aws_console_template_fills_its_endpoint_and_attributes() {
        let s = parse(json!({"template": "awsConsole", "sessionDuration": 7200})).unwrap();
        assert_eq!(s.assertion_consumer_services[0].url, AWS_SIGNIN_ACS);
        let names: Vec<_> = s.attribute_rules().into_iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            vec![AWS_ROLE, AWS_SESSION_NAME, AWS_SESSION_DURATION]
        );
        assert_eq!(s.name_id(), (NAMEID_PERSISTENT, "id"));
    }

    #[test]
    fn bad_settings_are_refused_with_the_field() {
        for (v, field) in [
            (json!({}), "assertionConsumerServices"),
            (
                json!({"assertionConsumerServices": [{"url": "http://sp.example.com/acs"}]}),
                "https",
            ),
            (
                json!({"assertionConsumerServices": [{"url": "javascript:alert(1)"}]}),
                "absolute",
            ),
            (
                json!({"template": "awsConsole", "attributes": [{"name": "x", "source": "password"}]}),
                "unknown source",
            ),
            (
                json!({"template": "awsConsole", "signResponse": false, "signAssertion": false}),
                "signed",
            ),
            (
                json!({"template": "awsConsole", "sessionDuration": 60}),
                "sessionDuration",
            ),
            (
                json!({"template": "awsConsole", "requireSignedRequests": true}),
                "signingCertificates",
            ),
            (
                json!({"template": "awsConsole", "surprise": 1}),
                "unknown field",
            ),
        ] {
            let err = parse(v.clone()).unwrap_err();
            assert!(err.0.contains(field), "{v}: {}", err.0);
        }
        assert!(parse(
            json!({"assertionConsumerServices": [{"url": "http://127.0.0.1:8080/acs"}]})
        )
        .is_ok());
    }
}
