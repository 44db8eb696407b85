//! Pass-through authentication: a password typed at sign-in is checked by an LDAP bind as the
//! person, against the directory they were imported from. Nothing here keeps the password: it
//! goes from the caller to the bind request and nowhere else (no log, no error, no `Debug`).
//!
//! The steps, on one connection:
//! 1. an empty password is refused before any traffic (an LDAP bind with a DN and an empty
//!    password is an "unauthenticated bind", which many servers accept);
//! 2. bind with the connection's own account and find the person by their immutable anchor
//!    (`objectGUID` or `entryUUID`, escaped): their DN is the one the directory gives, never
//!    one built from what was typed;
//! 3. refuse disabled and locked accounts and expired passwords as the directory computes them
//!    (`userAccountControl`, `msDS-User-Account-Control-Computed`), without a bind that would
//!    count against the account;
//! 4. re-bind as that DN with the password. The directory's own rules (lockout, account
//!    expiry, logon hours) apply to that bind; its refusal is read from the result.
//!
//! A directory that cannot be reached or answers out of turn is an error: the caller fails
//! closed, never falls back to anything cached.

use std::time::Duration;

use ldap3::{Scope, SearchEntry};

use crate::read::{connect, contained, raw_bytes, single, ReadError};
use crate::settings::{ConnectionSettings, DirectoryType};

/// Longest password sent to a directory (the sign-in form's own bound).
pub const MAX_PASS_THROUGH_PASSWORD_LEN: usize = 1024;
/// A sign-in waits at most this long for the directory, whatever the connection's settings.
pub const PASS_THROUGH_TIMEOUT: Duration = Duration::from_secs(10);

/// `userAccountControl`: the account is disabled.
const UAC_ACCOUNTDISABLE: u64 = 0x2;
/// `msDS-User-Account-Control-Computed`: locked out after bad passwords.
const UAC_LOCKOUT: u64 = 0x10;
/// `msDS-User-Account-Control-Computed`: the password has expired.
const UAC_PASSWORD_EXPIRED: u64 = 0x80_0000;
/// LDAP result `invalidCredentials`.
const RC_INVALID_CREDENTIALS: u32 = 49;

/// Why the directory did not accept a password. Each is a failed sign-in; the text goes to the
/// sign-in log only, the person sees the usual "user name or password is incorrect".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No password was given: never sent to the directory.
    EmptyPassword,
    /// The password is longer than [`MAX_PASS_THROUGH_PASSWORD_LEN`].
    TooLong,
    /// No entry with the person's anchor under the connection's base DN (deleted or moved out
    /// of scope since the last sync).
    NotFound,
    /// The account is disabled in the directory.
    Disabled,
    /// The account is locked out in the directory.
    Locked,
    /// The account has expired.
    AccountExpired,
    /// The password has expired or must be changed in the directory.
    PasswordExpired,
    /// The directory refused the password.
    WrongPassword,
}

impl Refusal {
    /// Whether the refusal is about the account rather than the password typed: disabled,
    /// locked, expired, or not found in the directory.
    pub fn is_account_state(&self) -> bool {
        matches!(
            self,
            Refusal::NotFound
                | Refusal::Disabled
                | Refusal::Locked
                | Refusal::AccountExpired
                | Refusal::PasswordExpired
        )
    }

    /// The sign-in log's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::EmptyPassword => "empty password (never sent to the directory)",
            Refusal::TooLong => "password too long",
            Refusal::NotFound => "not found in the directory",
            Refusal::Disabled => "account disabled in the directory",
            Refusal::Locked => "account locked in the directory",
            Refusal::AccountExpired => "account expired in the directory",
            Refusal::PasswordExpired => "password expired in the directory",
            Refusal::WrongPassword => "invalid password (directory)",
        }
    }
}

/// The directory's answer about one password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The bind as the person succeeded.
    Accepted,
    /// Refused, and why.
    Refused(Refusal),
}

/// Checks `password` for the person with `anchor` by a bind to the directory. `Err` means the
/// directory could not give an answer (unreachable, the connection's own bind refused, a
/// timeout): the caller must refuse the sign-in.
pub async fn verify_password(
    settings: &ConnectionSettings,
    anchor: &str,
    password: &str,
) -> Result<Verdict, ReadError> {
    // Checked before the settings, so that no path can take an empty password further.
    if password.is_empty() {
        return Ok(Verdict::Refused(Refusal::EmptyPassword));
    }
    if password.len() > MAX_PASS_THROUGH_PASSWORD_LEN {
        return Ok(Verdict::Refused(Refusal::TooLong));
    }
    let transport = settings.validate()?;
    let filter = match anchor_filter(settings.directory_type, anchor) {
        Some(f) => f,
        None => return Ok(Verdict::Refused(Refusal::NotFound)),
    };
    let mut settings = settings.clone();
    settings.operation_timeout = settings.operation_timeout.min(PASS_THROUGH_TIMEOUT);
    let password = password.to_string();
    contained(async move {
        let run = async {
            let mut ldap = connect(&settings, transport).await?;
            let verdict = check(&mut ldap, &settings, &filter, &password).await;
            let _ = ldap.unbind().await;
            verdict
        };
        match tokio::time::timeout(PASS_THROUGH_TIMEOUT, run).await {
            Ok(verdict) => verdict,
            Err(_) => Err(ReadError::Timeout(PASS_THROUGH_TIMEOUT.as_secs())),
        }
    })
    .await
}

async fn check(
    ldap: &mut ldap3::Ldap,
    settings: &ConnectionSettings,
    filter: &str,
    password: &str,
) -> Result<Verdict, ReadError> {
    let ad = settings.directory_type == DirectoryType::ActiveDirectory;
    let attrs = if ad {
        vec![
            "userAccountControl",
            "msDS-User-Account-Control-Computed",
            "objectGUID",
        ]
    } else {
        vec!["entryUUID"]
    };
    let base = settings.base_dn.as_str();
    let (entries, _) = ldap
        .search(base, Scope::Subtree, filter, attrs)
        .await
        .and_then(|r| r.success())
        .map_err(|e| ReadError::Search {
            base: base.to_string(),
            reason: e.to_string(),
        })?;
    // Exactly one entry: an anchor is unique, so anything else is not this person.
    let mut entries = entries.into_iter().map(SearchEntry::construct);
    let (Some(entry), None) = (entries.next(), entries.next()) else {
        return Ok(Verdict::Refused(Refusal::NotFound));
    };
    if ad {
        let number = |name: &str| {
            single(&entry, name)
                .ok()
                .flatten()
                .and_then(|v| v.parse::<i64>().ok())
                .map(|v| v as u64)
        };
        let Some(uac) = number("userAccountControl") else {
            return Ok(Verdict::Refused(Refusal::NotFound));
        };
        let computed = number("msDS-User-Account-Control-Computed").unwrap_or(0);
        if uac & UAC_ACCOUNTDISABLE != 0 {
            return Ok(Verdict::Refused(Refusal::Disabled));
        }
        if computed & UAC_LOCKOUT != 0 {
            return Ok(Verdict::Refused(Refusal::Locked));
        }
        if computed & UAC_PASSWORD_EXPIRED != 0 {
            return Ok(Verdict::Refused(Refusal::PasswordExpired));
        }
        // The entry found must carry the anchor asked for (a directory answering a filter it
        // did not understand with something else is not trusted).
        if raw_bytes(&entry, "objectGUID")
            .and_then(|b| crate::read::format_object_guid(&b))
            .is_none()
        {
            return Ok(Verdict::Refused(Refusal::NotFound));
        }
    }
    // The DN comes from the directory's answer, not from anything the person typed.
    let bind = ldap
        .simple_bind(&entry.dn, password)
        .await
        .map_err(|e| ReadError::Connect(e.to_string()))?;
    match bind.rc {
        0 => Ok(Verdict::Accepted),
        RC_INVALID_CREDENTIALS => Ok(Verdict::Refused(refusal_of(&bind.text))),
        rc => Err(ReadError::Bind(format!(
            "the directory answered the person's bind with result code {rc}"
        ))),
    }
}

/// Active Directory says why a bind failed in its diagnostic text (`..., data 533, ...`).
fn refusal_of(text: &str) -> Refusal {
    let code = text
        .split(", ")
        .find_map(|part| part.trim().strip_prefix("data "))
        .map(|c| c.trim().to_ascii_lowercase());
    match code.as_deref() {
        Some("533") => Refusal::Disabled,
        Some("775") => Refusal::Locked,
        Some("701") => Refusal::AccountExpired,
        Some("532") | Some("773") => Refusal::PasswordExpired,
        _ => Refusal::WrongPassword,
    }
}

/// The search filter for one anchor: `objectGUID` as escaped bytes (AD), `entryUUID` escaped
/// (LDAP). `None` when the anchor has not the anchor's shape.
pub fn anchor_filter(directory_type: DirectoryType, anchor: &str) -> Option<String> {
    match directory_type {
        DirectoryType::ActiveDirectory => {
            let bytes = object_guid_bytes(anchor)?;
            let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
            Some(format!(
                "(&(objectCategory=person)(objectClass=user)(objectGUID={escaped}))"
            ))
        }
        DirectoryType::Ldap => {
            if anchor.is_empty() || anchor.len() > 64 {
                return None;
            }
            Some(format!(
                "(&(objectClass=inetOrgPerson)(entryUUID={}))",
                ldap3::ldap_escape(anchor)
            ))
        }
    }
}

/// The 16 bytes of an `objectGUID` from its text form (the inverse of
/// [`format_object_guid`](crate::read::format_object_guid)).
pub fn object_guid_bytes(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || text.len() != 36 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut plain = [0u8; 16];
    for (i, byte) in plain.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    // The first three fields are little-endian on the wire.
    let p = plain;
    Some([
        p[3], p[2], p[1], p[0], p[5], p[4], p[7], p[6], p[8], p[9], p[10], p[11], p[12], p[13],
        p[14], p[15],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::format_object_guid;

    #[test]
    fn object_guid_text_and_bytes_round_trip() {
        let bytes: [u8; 16] = [
            0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        let text = format_object_guid(&bytes).expect("16 bytes");
        assert_eq!(object_guid_bytes(&text), Some(bytes));
        assert_eq!(object_guid_bytes("not-a-guid"), None);
        assert_eq!(object_guid_bytes("*)(uid=*))(|(uid=*"), None);
    }

    #[test]
    fn anchors_are_escaped_in_filters() {
        let f = anchor_filter(DirectoryType::Ldap, "x*)(uid=*").expect("filter");
        assert_eq!(
            f,
            "(&(objectClass=inetOrgPerson)(entryUUID=x\\2a\\29\\28uid=\\2a))"
        );
        ldap3::parse_filter(&f).expect("still one valid filter");
        let guid = anchor_filter(
            DirectoryType::ActiveDirectory,
            "76543210-ba98-fedc-0102-030405060708",
        )
        .expect("guid");
        assert!(guid.contains("(objectGUID=\\10\\32\\54\\76\\98\\ba\\dc\\fe\\01"));
        assert_eq!(anchor_filter(DirectoryType::ActiveDirectory, "*"), None);
    }

    #[test]
    fn active_directory_reasons_are_read_from_the_diagnostic() {
        let text = |code: &str| {
            format!("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {code}, v1db1")
        };
        assert_eq!(refusal_of(&text("52e")), Refusal::WrongPassword);
        assert_eq!(refusal_of(&text("533")), Refusal::Disabled);
        assert_eq!(refusal_of(&text("775")), Refusal::Locked);
        assert_eq!(refusal_of(&text("701")), Refusal::AccountExpired);
        assert_eq!(refusal_of(&text("532")), Refusal::PasswordExpired);
        assert_eq!(refusal_of("Invalid credentials"), Refusal::WrongPassword);
    }

    #[tokio::test]
    async fn an_empty_password_never_reaches_a_bind() {
        // An address nothing listens on: reaching the network would be an error, not a refusal.
        let s = ConnectionSettings::new(
            DirectoryType::Ldap,
            "ldap://127.0.0.1:9",
            "cn=admin,dc=example,dc=test",
            "secret",
            "dc=example,dc=test",
        );
        assert_eq!(
            verify_password(&s, "some-anchor", "")
                .await
                .expect("no traffic"),
            Verdict::Refused(Refusal::EmptyPassword)
        );
        let long = "x".repeat(MAX_PASS_THROUGH_PASSWORD_LEN + 1);
        assert_eq!(
            verify_password(&s, "some-anchor", &long)
                .await
                .expect("no traffic"),
            Verdict::Refused(Refusal::TooLong)
        );
    }
}
