//! Shape checks of a connection's fields, before anything is stored.

use trustplane_store::StoreError;

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
    }
}

/// Checks the shape of a connection's fields: an AWS account id is 12 digits, a role ARN is
/// an IAM role of that account, regions look like regions, endpoints are http(s) URLs, an
/// Azure subscription, tenant and client id are GUIDs.
pub fn check_aws(
    account: &str,
    role_arn: Option<&str>,
    regions: &[String],
    endpoint: Option<&str>,
) -> Result<(), StoreError> {
    if account.len() != 12 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("accountId", "an AWS account id is 12 digits"));
    }
    if let Some(arn) = role_arn {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[4] == account
            && parts[5].len() > 5
            && parts[5].starts_with("role/");
        if !ok {
            return Err(invalid(
                "roleArn",
                format!("must be an IAM role ARN of account {account} (arn:aws:iam::{account}:role/NAME)"),
            ));
        }
    }
    for r in regions {
        let ok = (4..=30).contains(&r.len())
            && r.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && r.contains('-');
        if !ok {
            return Err(invalid("regions", format!("`{r}` is not a region name")));
        }
    }
    check_url("endpointUrl", endpoint)
}

/// Checks an optional endpoint is an http(s) URL of sensible length.
pub fn check_url(field: &'static str, url: Option<&str>) -> Result<(), StoreError> {
    match url {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 => {
            Err(invalid(field, "must be an http or https URL"))
        }
        _ => Ok(()),
    }
}

/// Checks a value is a GUID (`8-4-4-4-12` hex digits).
pub fn check_guid(field: &'static str, v: &str) -> Result<(), StoreError> {
    let ok = v.len() == 36
        && v.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(field, "must be a GUID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanTarget;

    #[test]
    fn shapes() {
        assert!(check_aws("123456789012", None, &[], None).is_ok());
        assert!(check_aws("12345678901", None, &[], None).is_err());
        assert!(check_aws(
            "123456789012",
            Some("arn:aws:iam::123456789012:role/Audit"),
            &["eu-west-1".into()],
            Some("http://127.0.0.1:5000")
        )
        .is_ok());
        assert!(check_aws(
            "123456789012",
            Some("arn:aws:iam::999999999999:role/Audit"),
            &[],
            None
        )
        .is_err());
        assert!(check_aws("123456789012", None, &["EU_WEST".into()], None).is_err());
        assert!(check_aws("123456789012", None, &[], Some("ftp://x")).is_err());
        assert!(check_guid("tenantId", "00000000-0000-0000-0000-000000000000").is_ok());
        assert!(check_guid("tenantId", "not-a-guid").is_err());
        let t = ScanTarget::Azure {
            subscription_id: "s".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "hunter2".into(),
            arm_endpoint: None,
            graph_endpoint: None,
            login_endpoint: None,
        };
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
