//! From a checked ID token's claims to the person it asserts, with the provider's claim
//! mapping; Entra ID's shapes (`oid`, `tid`, `preferred_username`, `email`, `groups`, `amr`)
//! work without one.

use serde_json::Value;

use super::settings::ClaimMapping;

/// Longest claim value kept (names, mail); a longer one is refused.
pub const MAX_CLAIM_VALUE_LEN: usize = 256;
/// Most group values read.
pub const MAX_GROUPS: usize = 200;

/// The person an ID token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asserted {
    /// The immutable subject the link is kept under (`{tid}/{oid}` for Entra ID, else `sub`).
    pub subject: String,
    /// The sign-in name, lower case, when asserted.
    pub user_principal_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Mail.
    pub mail: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Group ids or names, as the provider sends them.
    pub groups: Vec<String>,
    /// The directory anchor claim's value, when mapped.
    pub anchor: Option<String>,
    /// Whether `amr` says the provider did multi-factor authentication.
    pub mfa: bool,
}

fn text(claims: &Value, name: &str) -> Option<String> {
    claims[name]
        .as_str()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_CLAIM_VALUE_LEN)
        .filter(|v| !v.chars().any(char::is_control))
        .map(str::to_string)
}

fn mapped(claims: &Value, configured: &Option<String>, defaults: &[&str]) -> Option<String> {
    match configured {
        Some(name) => text(claims, name),
        None => defaults.iter().find_map(|d| text(claims, d)),
    }
}

/// Reads the claims; `None` when there is no usable subject.
pub fn asserted(claims: &Value, mapping: &ClaimMapping) -> Option<Asserted> {
    let subject = match &mapping.subject {
        Some(name) => text(claims, name)?,
        None => match (text(claims, "tid"), text(claims, "oid")) {
            (Some(tid), Some(oid)) => format!("{tid}/{oid}"),
            _ => text(claims, "sub")?,
        },
    };
    let groups_claim = mapping.groups.as_deref().unwrap_or("groups");
    let groups = claims[groups_claim]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter(|g| g.len() <= MAX_CLAIM_VALUE_LEN)
                .take(MAX_GROUPS)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mfa = claims["amr"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("mfa")));
    Some(Asserted {
        subject,
        user_principal_name: mapped(
            claims,
            &mapping.user_principal_name,
            &["preferred_username", "upn", "email"],
        )
        .map(|u| u.to_lowercase()),
        display_name: mapped(claims, &mapping.display_name, &["name"]),
        mail: mapped(claims, &mapping.mail, &["email"]),
        given_name: mapped(claims, &mapping.given_name, &["given_name"]),
        surname: mapped(claims, &mapping.surname, &["family_name"]),
        groups,
        anchor: mapping.anchor.as_ref().and_then(|a| text(claims, a)),
        mfa,
    })
}

/// The domain of a sign-in name (`alice@corp.example.test` → `corp.example.test`).
pub fn domain_of(user_principal_name: &str) -> Option<String> {
    user_principal_name
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_shapes_work_without_a_mapping() {
        let claims = json!({
            "sub": "pairwise-sub", "oid": "00000000-0000-0000-0000-0000000000a1",
            "tid": "tenant-1", "preferred_username": "Alice@Corp.Example.Test",
            "email": "alice@corp.example.test", "name": "Alice", "groups": ["g1", "g2"],
            "amr": ["pwd", "mfa"]
        });
        let a = asserted(&claims, &ClaimMapping::default()).unwrap_or_else(|| panic!("subject"));
        assert_eq!(a.subject, "tenant-1/00000000-0000-0000-0000-0000000000a1");
        assert_eq!(
            a.user_principal_name.as_deref(),
            Some("alice@corp.example.test")
        );
        assert_eq!(a.groups, vec!["g1", "g2"]);
        assert!(a.mfa);
        let plain = json!({"sub": "s", "amr": ["pwd"]});
        let a = asserted(&plain, &ClaimMapping::default()).unwrap_or_else(|| panic!("subject"));
        assert_eq!(a.subject, "s");
        assert!(!a.mfa);
        assert_eq!(a.user_principal_name, None);
    }

    #[test]
    fn a_mapping_names_other_claims() {
        let mapping = ClaimMapping {
            subject: Some("uid".into()),
            anchor: Some("onprem_guid".into()),
            ..ClaimMapping::default()
        };
        let claims = json!({"sub": "s", "uid": "u-1", "onprem_guid": "abc"});
        let a = asserted(&claims, &mapping).unwrap_or_else(|| panic!("subject"));
        assert_eq!(a.subject, "u-1");
        assert_eq!(a.anchor.as_deref(), Some("abc"));
        assert!(asserted(&json!({"sub": "s"}), &mapping).is_none());
        assert_eq!(domain_of("a@B.test").as_deref(), Some("b.test"));
        assert_eq!(domain_of("nobody"), None);
    }
}
