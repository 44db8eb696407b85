//! A directory connection's settings and their validation.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 512;
/// Longest distinguished name accepted (bind DN, base DN).
pub const MAX_DN_LEN: usize = 1024;
/// Longest bind password accepted.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Longest extra LDAP filter accepted.
pub const MAX_FILTER_LEN: usize = 4096;
/// Largest CA certificate bundle accepted (PEM).
pub const MAX_CA_PEM_LEN: usize = 64 * 1024;
/// Most entries (users plus groups) one run reads; a larger directory fails the run.
pub const DEFAULT_MAX_ENTRIES: usize = 200_000;

/// Which kind of directory a connection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DirectoryType {
    /// Microsoft Active Directory (or Samba AD): `objectGUID`, `uSNChanged`, `userAccountControl`.
    ActiveDirectory,
    /// A generic LDAP directory: `inetOrgPerson`, `groupOfNames`, `entryUUID`.
    Ldap,
}

impl DirectoryType {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryType::ActiveDirectory => "activeDirectory",
            DirectoryType::Ldap => "ldap",
        }
    }
}

/// How to reach and read one directory.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Which schema to read.
    pub directory_type: DirectoryType,
    /// `ldaps://host[:port]` or `ldap://host[:port]` (StartTLS, or plain on loopback only).
    pub url: String,
    /// The DN to bind as.
    pub bind_dn: String,
    /// The bind password. Never printed by `Debug`.
    pub bind_password: String,
    /// Where users and groups are searched (subtree).
    pub base_dn: String,
    /// An extra LDAP filter ANDed to the user search, e.g. `(department=R&D)`.
    pub user_filter: Option<String>,
    /// An extra LDAP filter ANDed to the group search.
    pub group_filter: Option<String>,
    /// PEM certificate(s) of the CA that signed the directory's TLS certificate.
    pub ca_certificate: Option<String>,
    /// For `ldap://`: upgrade with StartTLS. Plain LDAP (false) is allowed on loopback only.
    pub start_tls: bool,
    /// Entries per page of the simple paged results control.
    pub page_size: u32,
    /// Limit on connecting and on each LDAP operation.
    pub operation_timeout: Duration,
    /// Limit on a whole read of the directory.
    pub run_timeout: Duration,
    /// Most entries one run reads.
    pub max_entries: usize,
}

impl fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("directory_type", &self.directory_type)
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"<redacted>")
            .field("base_dn", &self.base_dn)
            .field("user_filter", &self.user_filter)
            .field("group_filter", &self.group_filter)
            .field(
                "ca_certificate",
                &self.ca_certificate.as_ref().map(|_| "<pem>"),
            )
            .field("start_tls", &self.start_tls)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl ConnectionSettings {
    /// Settings with the defaults for everything but the essentials.
    pub fn new(
        directory_type: DirectoryType,
        url: impl Into<String>,
        bind_dn: impl Into<String>,
        bind_password: impl Into<String>,
        base_dn: impl Into<String>,
    ) -> Self {
        ConnectionSettings {
            directory_type,
            url: url.into(),
            bind_dn: bind_dn.into(),
            bind_password: bind_password.into(),
            base_dn: base_dn.into(),
            user_filter: None,
            group_filter: None,
            ca_certificate: None,
            start_tls: true,
            page_size: 500,
            operation_timeout: Duration::from_secs(30),
            run_timeout: Duration::from_secs(600),
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }

    /// Checks every setting; the error names the first bad field by its API name.
    pub fn validate(&self) -> Result<Transport, SettingsError> {
        let transport = self.transport()?;
        check_dn("bindDn", &self.bind_dn)?;
        check_dn("baseDn", &self.base_dn)?;
        if self.bind_password.is_empty() {
            return Err(SettingsError::new("bindPassword", "must not be empty"));
        }
        if self.bind_password.len() > MAX_PASSWORD_LEN {
            return Err(SettingsError::new(
                "bindPassword",
                format!("longer than {MAX_PASSWORD_LEN} bytes"),
            ));
        }
        for (field, filter) in [
            ("userFilter", &self.user_filter),
            ("groupFilter", &self.group_filter),
        ] {
            if let Some(filter) = filter {
                check_filter(field, filter)?;
            }
        }
        match (&transport, &self.ca_certificate) {
            (Transport::Plain, Some(_)) => {
                return Err(SettingsError::new(
                    "caCertificate",
                    "given for a connection without TLS",
                ))
            }
            (Transport::Plain, None) => {}
            (_, None) => {
                return Err(SettingsError::new(
                    "caCertificate",
                    "required: the PEM certificate of the CA that signed the directory's TLS certificate",
                ))
            }
            (_, Some(pem)) => {
                parse_ca_certificates(pem)?;
            }
        }
        if self.page_size == 0 || self.page_size > 5000 {
            return Err(SettingsError::new("pageSize", "must be 1 to 5000"));
        }
        Ok(transport)
    }

    fn transport(&self) -> Result<Transport, SettingsError> {
        if self.url.len() > MAX_URL_LEN {
            return Err(SettingsError::new(
                "url",
                format!("longer than {MAX_URL_LEN} characters"),
            ));
        }
        let url = url::Url::parse(&self.url)
            .map_err(|e| SettingsError::new("url", format!("not a URL: {e}")))?;
        let host = match url.host() {
            Some(host) => host,
            None => return Err(SettingsError::new("url", "has no host")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SettingsError::new(
                "url",
                "must not carry credentials (use bindDn and bindPassword)",
            ));
        }
        if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() {
            return Err(SettingsError::new(
                "url",
                "must be ldaps://host[:port] or ldap://host[:port] without a path (use baseDn)",
            ));
        }
        let loopback = match host {
            // ldap: is not a special scheme, so the URL parser keeps its host opaque.
            url::Host::Domain(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            url::Host::Ipv4(ip) => IpAddr::V4(ip).is_loopback(),
            url::Host::Ipv6(ip) => IpAddr::V6(ip).is_loopback(),
        };
        match url.scheme() {
            "ldaps" => Ok(Transport::Ldaps),
            "ldap" if self.start_tls => Ok(Transport::StartTls),
            "ldap" if loopback => Ok(Transport::Plain),
            "ldap" => Err(SettingsError::new(
                "url",
                "plain ldap:// without StartTLS is allowed on loopback only",
            )),
            other => Err(SettingsError::new(
                "url",
                format!("scheme {other:?} is not ldaps or ldap"),
            )),
        }
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Transport {
    /// TLS from the first byte (`ldaps://`).
    Ldaps,
    /// `ldap://` upgraded with StartTLS before the bind.
    StartTls,
    /// No TLS: loopback only.
    Plain,
}

/// A refused setting, named by its API field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SettingsError {
    /// The API field name (`url`, `bindDn`, `caCertificate`, ...).
    pub field: &'static str,
    /// Why it was refused.
    pub reason: String,
}

impl SettingsError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        SettingsError {
            field,
            reason: reason.into(),
        }
    }
}

fn check_dn(field: &'static str, dn: &str) -> Result<(), SettingsError> {
    if dn.trim().is_empty() {
        return Err(SettingsError::new(field, "must not be empty"));
    }
    if dn.len() > MAX_DN_LEN {
        return Err(SettingsError::new(
            field,
            format!("longer than {MAX_DN_LEN} characters"),
        ));
    }
    if dn.chars().any(char::is_control) {
        return Err(SettingsError::new(field, "contains control characters"));
    }
    // Every RDN must be attribute=value.
    if !dn.split(',').all(|rdn| rdn.contains('=')) {
        return Err(SettingsError::new(
            field,
            "is not a distinguished name (e.g. DC=corp,DC=example,DC=test)",
        ));
    }
    Ok(())
}

fn check_filter(field: &'static str, filter: &str) -> Result<(), SettingsError> {
    if filter.len() > MAX_FILTER_LEN {
        return Err(SettingsError::new(
            field,
            format!("longer than {MAX_FILTER_LEN} characters"),
        ));
    }
    if !filter.starts_with('(') {
        return Err(SettingsError::new(
            field,
            "must be a parenthesised LDAP filter, e.g. (department=Sales)",
        ));
    }
    ldap3::parse_filter(filter)
        .map(|_| ())
        .map_err(|()| SettingsError::new(field, "is not a valid LDAP filter (RFC 4515)"))
}

/// Parses a PEM bundle into certificates; at least one, nothing else accepted.
pub fn parse_ca_certificates(
    pem: &str,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, SettingsError> {
    use rustls_pki_types::pem::PemObject;
    if pem.len() > MAX_CA_PEM_LEN {
        return Err(SettingsError::new(
            "caCertificate",
            format!("larger than {MAX_CA_PEM_LEN} bytes"),
        ));
    }
    let mut certs = Vec::new();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert
            .map_err(|_| SettingsError::new("caCertificate", "is not a PEM certificate bundle"))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(SettingsError::new(
            "caCertificate",
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(SettingsError::new(
            "caCertificate",
            "holds no usable X.509 certificate",
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConnectionSettings {
        ConnectionSettings::new(
            DirectoryType::Ldap,
            "ldap://127.0.0.1:3890",
            "cn=admin,dc=example,dc=test",
            "secret",
            "dc=example,dc=test",
        )
    }

    #[test]
    fn plain_ldap_only_on_loopback() {
        let mut s = base();
        s.start_tls = false;
        assert_eq!(s.validate(), Ok(Transport::Plain));
        s.url = "ldap://ldap.example.test".into();
        assert_eq!(s.validate().map_err(|e| e.field), Err("url"));
        s.url = "ldap://[::1]:389".into();
        assert_eq!(s.validate(), Ok(Transport::Plain));
    }

    #[test]
    fn tls_needs_a_ca_certificate_that_parses() {
        let mut s = base();
        s.url = "ldaps://dc.example.test".into();
        assert_eq!(s.validate().map_err(|e| e.field), Err("caCertificate"));
        s.ca_certificate = Some("not pem".into());
        assert_eq!(s.validate().map_err(|e| e.field), Err("caCertificate"));
        s.ca_certificate =
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into());
        assert_eq!(s.validate().map_err(|e| e.field), Err("caCertificate"));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut s = base();
        s.url = "http://127.0.0.1".into();
        assert_eq!(s.validate().map_err(|e| e.field), Err("url"));
        let mut s = base();
        s.url = "ldap://u:p@127.0.0.1".into();
        assert_eq!(s.validate().map_err(|e| e.field), Err("url"));
        let mut s = base();
        s.bind_dn = "admin".into();
        assert_eq!(s.validate().map_err(|e| e.field), Err("bindDn"));
        let mut s = base();
        s.base_dn = String::new();
        assert_eq!(s.validate().map_err(|e| e.field), Err("baseDn"));
        let mut s = base();
        s.bind_password = String::new();
        assert_eq!(s.validate().map_err(|e| e.field), Err("bindPassword"));
        let mut s = base();
        s.user_filter = Some("(department=R&D".into());
        assert_eq!(s.validate().map_err(|e| e.field), Err("userFilter"));
        let mut s = base();
        s.group_filter = Some("x".repeat(MAX_FILTER_LEN + 1));
        assert_eq!(s.validate().map_err(|e| e.field), Err("groupFilter"));
    }

    #[test]
    fn debug_never_prints_the_password() {
        let s = base();
        assert!(!format!("{s:?}").contains("secret"));
    }
}
