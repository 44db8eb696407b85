//! Reading a directory: connect (LDAPS, StartTLS or loopback plain), bind, paged searches.
//!
//! A read either returns every entry the searches matched, or fails: an error on any page, a
//! result code other than success, a limit reached or a timeout fails the whole read, so that a
//! partial read can never be taken for the directory's contents.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde::Serialize;

use crate::settings::{parse_ca_certificates, ConnectionSettings, DirectoryType, Transport};
use crate::{ObjectIssue, SourceGroup, SourceUser};

/// Longest attribute value kept; a longer one puts the object on the issue list.
pub const MAX_VALUE_LEN: usize = 2048;

/// `userAccountControl` bit: the account is disabled.
const UAC_ACCOUNTDISABLE: u64 = 0x2;

/// Why a read failed. Nothing read in a failed run is used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The settings do not validate.
    #[error("invalid settings: {0}")]
    Settings(#[from] crate::settings::SettingsError),
    /// The directory could not be reached or the TLS handshake failed.
    #[error("cannot connect to the directory: {0}")]
    Connect(String),
    /// The bind was refused.
    #[error("bind refused: {0}")]
    Bind(String),
    /// A search failed or ended with a result code other than success.
    #[error("search under {base} failed: {reason}")]
    Search {
        /// The search base.
        base: String,
        /// The server's result or the transport error.
        reason: String,
    },
    /// The read matched more entries than the connection allows.
    #[error("more than {0} entries matched; raise the limit or narrow the base DN and filters")]
    TooManyEntries(usize),
    /// The whole read took longer than allowed.
    #[error("the read did not finish within {0} seconds")]
    Timeout(u64),
    /// The directory sent something this reader cannot use safely (e.g. ranged `member`).
    #[error("unsupported directory answer: {0}")]
    Unsupported(String),
}

/// Full reconciliation, or only what changed since a high-water mark (Active Directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum ReadMode {
    /// Every user and group in scope; objects no longer seen are removed.
    Full,
    /// Entries whose `uSNChanged` is above the mark. Generic LDAP reads in full instead.
    Incremental {
        /// The `highestCommittedUSN` recorded by the previous run.
        since_usn: u64,
    },
}

/// What one read found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRead {
    /// Whether this read saw the whole scope (deletions can be inferred) or only changes.
    pub full: bool,
    /// Users read.
    pub users: Vec<SourceUser>,
    /// Groups read.
    pub groups: Vec<SourceGroup>,
    /// The directory's `highestCommittedUSN` taken before the searches (Active Directory).
    pub high_water_usn: Option<u64>,
    /// Entries skipped, each with why.
    pub issues: Vec<ObjectIssue>,
}

/// What a connection test learnt.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// How the connection was protected.
    pub transport: Transport,
    /// The root DSE's naming contexts.
    pub naming_contexts: Vec<String>,
    /// The root DSE's `highestCommittedUSN`, when the server has one.
    pub highest_committed_usn: Option<u64>,
}

/// Connects, binds and reads the root DSE.
pub async fn test_connection(settings: &ConnectionSettings) -> Result<ConnectionInfo, ReadError> {
    let transport = settings.validate()?;
    let owned = settings.clone();
    contained(async move {
        let settings = &owned;
        let run = async {
            let mut ldap = connect(settings, transport).await?;
            let root = read_root_dse(&mut ldap, settings).await?;
            let _ = ldap.unbind().await;
            Ok(ConnectionInfo {
                transport,
                naming_contexts: root.get("namingContexts").cloned().unwrap_or_default(),
                highest_committed_usn: first_u64(&root, "highestCommittedUSN"),
            })
        };
        with_deadline(settings, run).await
    })
    .await
}

/// Reads the users and groups in scope.
pub async fn read_directory(
    settings: &ConnectionSettings,
    mode: ReadMode,
) -> Result<DirectoryRead, ReadError> {
    let transport = settings.validate()?;
    let owned = settings.clone();
    contained(async move {
        let settings = &owned;
        let run = async {
            let mut ldap = connect(settings, transport).await?;
            let read = read_all(&mut ldap, settings, mode).await;
            let _ = ldap.unbind().await;
            read
        };
        with_deadline(settings, run).await
    })
    .await
}

/// Runs a read in its own task, so that a panic inside the LDAP client on a malformed answer
/// (ldap3's entry parsing panics on some) fails this read instead of unwinding the caller.
pub(crate) async fn contained<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ReadError>> + Send + 'static,
) -> Result<T, ReadError> {
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(ReadError::Unsupported(
            "the directory sent an answer the LDAP client could not parse".into(),
        )),
        Err(e) => Err(ReadError::Unsupported(format!("the read was stopped: {e}"))),
    }
}

async fn with_deadline<T>(
    settings: &ConnectionSettings,
    run: impl std::future::Future<Output = Result<T, ReadError>>,
) -> Result<T, ReadError> {
    match tokio::time::timeout(settings.run_timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(ReadError::Timeout(settings.run_timeout.as_secs())),
    }
}

/// Opens a connection bound with the connection's own account.
pub(crate) async fn connect(
    settings: &ConnectionSettings,
    transport: Transport,
) -> Result<Ldap, ReadError> {
    let mut conn_settings = LdapConnSettings::new().set_conn_timeout(settings.operation_timeout);
    if transport != Transport::Plain {
        let pem = settings.ca_certificate.as_deref().unwrap_or_default();
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(parse_ca_certificates(pem)?);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ReadError::Connect(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        conn_settings = conn_settings
            .set_config(Arc::new(config))
            .set_starttls(transport == Transport::StartTls);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, &settings.url)
        .await
        .map_err(|e| ReadError::Connect(e.to_string()))?;
    ldap3::drive!(conn);
    ldap.with_timeout(settings.operation_timeout);
    let bind = ldap
        .simple_bind(&settings.bind_dn, &settings.bind_password)
        .await
        .map_err(|e| ReadError::Connect(e.to_string()))?;
    if bind.rc != 0 {
        return Err(ReadError::Bind(format!(
            "result code {} {}",
            bind.rc, bind.text
        )));
    }
    Ok(ldap)
}

type Attrs = HashMap<String, Vec<String>>;

async fn read_root_dse(ldap: &mut Ldap, settings: &ConnectionSettings) -> Result<Attrs, ReadError> {
    ldap.with_timeout(settings.operation_timeout);
    let (entries, _) = ldap
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["namingContexts", "highestCommittedUSN"],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| search_error("", e.to_string()))?;
    Ok(entries
        .into_iter()
        .next()
        .map(|e| SearchEntry::construct(e).attrs)
        .unwrap_or_default())
}

fn search_error(base: &str, reason: String) -> ReadError {
    ReadError::Search {
        base: base.to_string(),
        reason,
    }
}

fn first_u64(attrs: &Attrs, name: &str) -> Option<u64> {
    attrs
        .get(name)
        .and_then(|v| v.first())
        .and_then(|v| v.trim().parse().ok())
}

async fn read_all(
    ldap: &mut Ldap,
    settings: &ConnectionSettings,
    mode: ReadMode,
) -> Result<DirectoryRead, ReadError> {
    let ad = settings.directory_type == DirectoryType::ActiveDirectory;
    // The mark is taken before the searches, so that a change made while they run is read
    // again next time rather than missed.
    let high_water_usn = if ad {
        let root = read_root_dse(ldap, settings).await?;
        Some(first_u64(&root, "highestCommittedUSN").ok_or_else(|| {
            ReadError::Unsupported("the root DSE has no highestCommittedUSN".into())
        })?)
    } else {
        None
    };
    let since = match (ad, mode) {
        (true, ReadMode::Incremental { since_usn }) => Some(since_usn),
        _ => None,
    };
    let changed = since
        .map(|usn| format!("(uSNChanged>={})", usn.saturating_add(1)))
        .unwrap_or_default();
    let (user_class, group_class, user_attrs, group_attrs): (&str, &str, &[&str], &[&str]) = if ad {
        (
            "(objectCategory=person)(objectClass=user)",
            "(objectClass=group)",
            &[
                "objectGUID",
                "userPrincipalName",
                "sAMAccountName",
                "displayName",
                "givenName",
                "sn",
                "mail",
                "department",
                "manager",
                "userAccountControl",
                "cn",
            ],
            &[
                "objectGUID",
                "cn",
                "sAMAccountName",
                "description",
                "member",
            ],
        )
    } else {
        (
            "(objectClass=inetOrgPerson)",
            "(objectClass=groupOfNames)",
            &[
                "entryUUID",
                "uid",
                "mail",
                "cn",
                "displayName",
                "givenName",
                "sn",
                "departmentNumber",
                "manager",
            ],
            &["entryUUID", "cn", "description", "member"],
        )
    };
    let user_filter = format!(
        "(&{user_class}{}{changed})",
        settings.user_filter.as_deref().unwrap_or_default()
    );
    let group_filter = format!(
        "(&{group_class}{}{changed})",
        settings.group_filter.as_deref().unwrap_or_default()
    );
    let mut budget = settings.max_entries;
    let user_entries = paged_search(ldap, settings, &user_filter, user_attrs, &mut budget).await?;
    let group_entries =
        paged_search(ldap, settings, &group_filter, group_attrs, &mut budget).await?;

    let mut issues = Vec::new();
    let mut users = Vec::with_capacity(user_entries.len());
    for entry in user_entries {
        match if ad {
            ad_user(&entry)
        } else {
            ldap_user(&entry)
        } {
            Ok(user) => users.push(user),
            Err(issue) => issues.push(issue),
        }
    }
    let mut groups = Vec::with_capacity(group_entries.len());
    for entry in group_entries {
        match group(&entry, ad) {
            Ok(group) => groups.push(group),
            Err(issue) => issues.push(issue),
        }
    }
    Ok(DirectoryRead {
        full: since.is_none(),
        users,
        groups,
        high_water_usn,
        issues,
    })
}

async fn paged_search(
    ldap: &mut Ldap,
    settings: &ConnectionSettings,
    filter: &str,
    attrs: &[&str],
    budget: &mut usize,
) -> Result<Vec<SearchEntry>, ReadError> {
    let base = settings.base_dn.as_str();
    let page = i32::try_from(settings.page_size).unwrap_or(500);
    let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(page)),
    ];
    ldap.with_timeout(settings.operation_timeout);
    let mut stream = ldap
        .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs.to_vec())
        .await
        .map_err(|e| search_error(base, e.to_string()))?;
    let mut entries = Vec::new();
    loop {
        match stream.next().await {
            Ok(Some(entry)) => {
                if *budget == 0 {
                    return Err(ReadError::TooManyEntries(settings.max_entries));
                }
                *budget -= 1;
                entries.push(SearchEntry::construct(entry));
            }
            Ok(None) => break,
            Err(e) => return Err(search_error(base, e.to_string())),
        }
    }
    let result = stream.finish().await;
    if result.rc != 0 {
        return Err(search_error(
            base,
            format!("result code {} {}", result.rc, result.text),
        ));
    }
    for entry in &entries {
        if entry
            .attrs
            .keys()
            .any(|k| k.to_ascii_lowercase().starts_with("member;range="))
        {
            return Err(ReadError::Unsupported(format!(
                "group {} returned its members in ranges; ranged member retrieval is not supported yet",
                entry.dn
            )));
        }
    }
    Ok(entries)
}

/// Values of an attribute, text or binary, by case-insensitive name.
fn values<'e>(entry: &'e SearchEntry, name: &str) -> Vec<&'e str> {
    entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
        .collect()
}

pub(crate) fn single(entry: &SearchEntry, name: &str) -> Result<Option<String>, ObjectIssue> {
    let vals = values(entry, name);
    match vals.first() {
        None => Ok(None),
        Some(v) if v.len() > MAX_VALUE_LEN => Err(ObjectIssue::new(
            &entry.dn,
            None,
            format!("{name} is longer than {MAX_VALUE_LEN} characters"),
        )),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => Ok(Some(v.trim().to_string())),
    }
}

pub(crate) fn raw_bytes(entry: &SearchEntry, name: &str) -> Option<Vec<u8>> {
    entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
        .or_else(|| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.first().map(|s| s.as_bytes().to_vec()))
        })
}

/// Formats an AD `objectGUID` (16 bytes, first three fields little-endian) as text.
pub fn format_object_guid(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15]
    ))
}

fn ad_anchor(entry: &SearchEntry) -> Result<String, ObjectIssue> {
    raw_bytes(entry, "objectGUID")
        .and_then(|b| format_object_guid(&b))
        .ok_or_else(|| ObjectIssue::new(&entry.dn, None, "no 16-byte objectGUID"))
}

fn ldap_anchor(entry: &SearchEntry) -> Result<String, ObjectIssue> {
    match single(entry, "entryUUID")? {
        Some(v) if v.len() <= 64 => Ok(v.to_ascii_lowercase()),
        _ => Err(ObjectIssue::new(&entry.dn, None, "no entryUUID")),
    }
}

fn ad_user(entry: &SearchEntry) -> Result<SourceUser, ObjectIssue> {
    let anchor = ad_anchor(entry)?;
    let upn = single(entry, "userPrincipalName")?
        .ok_or_else(|| ObjectIssue::new(&entry.dn, Some(&anchor), "no userPrincipalName"))?;
    let uac = single(entry, "userAccountControl")?
        .and_then(|v| v.parse::<i64>().ok())
        .map(|v| v as u64)
        .ok_or_else(|| ObjectIssue::new(&entry.dn, Some(&anchor), "no userAccountControl"))?;
    let sam = single(entry, "sAMAccountName")?;
    let display_name = match single(entry, "displayName")? {
        Some(v) => v,
        None => single(entry, "cn")?
            .or(sam.clone())
            .unwrap_or_else(|| upn.clone()),
    };
    Ok(SourceUser {
        anchor,
        dn: entry.dn.clone(),
        user_principal_name: upn,
        display_name,
        given_name: single(entry, "givenName")?,
        surname: single(entry, "sn")?,
        mail: single(entry, "mail")?,
        department: single(entry, "department")?,
        sam_account_name: sam,
        manager_dn: single(entry, "manager")?,
        enabled: uac & UAC_ACCOUNTDISABLE == 0,
    })
}

fn ldap_user(entry: &SearchEntry) -> Result<SourceUser, ObjectIssue> {
    let anchor = ldap_anchor(entry)?;
    let uid = single(entry, "uid")?;
    let mail = single(entry, "mail")?;
    // The sign-in name is the mail address, or a uid that is already one.
    let upn = mail
        .clone()
        .or_else(|| uid.clone().filter(|u| u.contains('@')))
        .ok_or_else(|| {
            ObjectIssue::new(
                &entry.dn,
                Some(&anchor),
                "no mail (or uid of the form name@domain)",
            )
        })?;
    let display_name = single(entry, "displayName")?
        .or(single(entry, "cn")?)
        .unwrap_or_else(|| upn.clone());
    Ok(SourceUser {
        anchor,
        dn: entry.dn.clone(),
        user_principal_name: upn,
        display_name,
        given_name: single(entry, "givenName")?,
        surname: single(entry, "sn")?,
        mail,
        department: single(entry, "departmentNumber")?,
        sam_account_name: uid,
        manager_dn: single(entry, "manager")?,
        enabled: true,
    })
}

fn group(entry: &SearchEntry, ad: bool) -> Result<SourceGroup, ObjectIssue> {
    let anchor = if ad {
        ad_anchor(entry)?
    } else {
        ldap_anchor(entry)?
    };
    let display_name = single(entry, "cn")?
        .or(single(entry, "sAMAccountName")?)
        .ok_or_else(|| ObjectIssue::new(&entry.dn, Some(&anchor), "no cn"))?;
    let mut member_dns = BTreeSet::new();
    for m in values(entry, "member") {
        if m.len() > MAX_VALUE_LEN {
            return Err(ObjectIssue::new(
                &entry.dn,
                Some(&anchor),
                format!("a member DN is longer than {MAX_VALUE_LEN} characters"),
            ));
        }
        member_dns.insert(m.to_string());
    }
    Ok(SourceGroup {
        anchor,
        dn: entry.dn.clone(),
        display_name,
        description: single(entry, "description")?,
        member_dns: member_dns.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_guid_is_formatted_like_windows() {
        let bytes = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(
            format_object_guid(&bytes).as_deref(),
            Some("00112233-4455-6677-8899-aabbccddeeff")
        );
        assert_eq!(format_object_guid(&bytes[..15]), None);
    }
}

#[cfg(test)]
mod containment_tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_inside_a_read_is_a_failed_read_not_an_unwind() {
        let failed = contained(async {
            let answer: Vec<u8> = Vec::new();
            // What a malformed answer does inside the client: index past the end.
            let byte = answer[usize::from(answer.is_empty())];
            Ok::<u8, ReadError>(byte)
        })
        .await;
        assert!(
            matches!(failed, Err(ReadError::Unsupported(_))),
            "{failed:?}"
        );
        let fine = contained(async { Ok::<u8, ReadError>(7) }).await;
        assert_eq!(fine.unwrap(), 7);
    }
}
