//! User principal names: `local@domain`, compared without regard to case.

/// Why a user principal name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpnError {
    /// The name is empty or longer than Entra's limit of 113 characters.
    #[error("userPrincipalName must be 1 to 113 characters")]
    Length,
    /// The name is not of the form `local@domain`.
    #[error("userPrincipalName must have the form `local@domain`")]
    Shape,
    /// A character outside the allowed set.
    #[error("userPrincipalName contains the character `{0}`, which is not allowed")]
    Character(char),
}

/// Validates a UPN and returns its lower-cased form, the key that makes it unique.
///
/// Follows Entra's rules: one `@`, a local part of letters, digits and ``.-_!#^~'`` with no
/// leading or trailing dot, and a domain of dot-separated labels.
pub fn normalise_upn(upn: &str) -> Result<String, UpnError> {
    if upn.is_empty() || upn.chars().count() > 113 {
        return Err(UpnError::Length);
    }
    let (local, domain) = upn.split_once('@').ok_or(UpnError::Shape)?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return Err(UpnError::Shape);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(UpnError::Shape);
    }
    if let Some(c) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_!#^~'+".contains(*c)))
    {
        return Err(UpnError::Character(c));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(UpnError::Shape);
    }
    for label in labels {
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            return Err(UpnError::Shape);
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(UpnError::Character(c));
        }
    }
    Ok(upn.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_lowercases_them() {
        assert_eq!(
            normalise_upn("Ada.Lovelace@Example.COM"),
            Ok("ada.lovelace@example.com".into())
        );
        assert!(normalise_upn("o'brien+ops@corp.example.org").is_ok());
    }

    #[test]
    fn refuses_malformed_names() {
        for bad in [
            "",
            "nobody",
            "a@b",
            "@example.com",
            "a@@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a b@example.com",
            "a@exa_mple.com",
            "a@-x.com",
            "a@x..com",
        ] {
            assert!(normalise_upn(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(
            normalise_upn(&format!("{}@example.com", "a".repeat(120))),
            Err(UpnError::Length)
        );
    }
}
