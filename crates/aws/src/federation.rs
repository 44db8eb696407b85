//! Connecting an AWS account to Trustplane's SAML identity provider: the IAM SAML provider
//! made from Trustplane's metadata, and roles whose trust policy admits exactly that provider
//! for console sign-in. Running it again updates what exists (new metadata after a key
//! rotation, a changed trust policy), so it is safe to repeat.

use aws_sdk_iam::Client;
use serde_json::json;

use crate::{caller_account, classify, client, AwsError, CollectOptions};

/// Where AWS console sign-in assertions go; the trust policy pins it as the audience.
pub const AWS_SIGNIN_AUDIENCE: &str = "https://signin.aws.amazon.com/saml";

/// A role to create (or update) in the account.
#[derive(Debug, Clone)]
pub struct RolePlan {
    /// The role's name.
    pub name: String,
    /// Managed policies to attach (their ARNs).
    pub managed_policy_arns: Vec<String>,
    /// The longest session, in seconds (900 to 43200).
    pub max_session_duration: i32,
}

/// What to set up in one account.
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    /// The IAM SAML provider's name.
    pub provider_name: String,
    /// Trustplane's IdP metadata document.
    pub metadata_xml: String,
    /// The roles.
    pub roles: Vec<RolePlan>,
}

/// One role as it now stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedRole {
    /// `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// The longest session.
    pub max_session_duration: i32,
    /// Whether it was made now (false: it existed and was updated).
    pub created: bool,
}

/// What `connect` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectReport {
    /// The account.
    pub account_id: String,
    /// `arn:aws:iam::<account>:saml-provider/<name>`.
    pub provider_arn: String,
    /// Whether the provider was made now.
    pub provider_created: bool,
    /// The roles.
    pub roles: Vec<ConnectedRole>,
}

/// The trust policy of a role that people reach through Trustplane: only the given SAML
/// provider, only for AWS sign-in.
pub fn trust_policy(provider_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": AWS_SIGNIN_AUDIENCE}}
        }]
    })
    .to_string()
}

/// Creates or updates the provider and roles in the account the options reach (the caller's
/// own, or the first role of `assume_roles`).
pub async fn connect(
    options: &CollectOptions,
    plan: &ConnectPlan,
) -> Result<ConnectReport, AwsError> {
    if plan.provider_name.is_empty() || plan.provider_name.len() > 128 {
        return Err(AwsError::Options(
            "the SAML provider name must be 1 to 128 characters".into(),
        ));
    }
    for role in &plan.roles {
        if !(900..=43_200).contains(&role.max_session_duration) {
            return Err(AwsError::Options(format!(
                "role {}: the maximum session must be 900 to 43200 seconds",
                role.name
            )));
        }
    }
    let base = client::base_config(options).await;
    let conf = match options.assume_roles.first() {
        Some(role) => client::assumed(&base, role, &options.role_session_name).await,
        None => base,
    };
    let account_id = caller_account(&conf, options).await?;
    let iam = Client::new(&conf);

    let providers = iam
        .list_saml_providers()
        .send()
        .await
        .map_err(|e| classify(e, "IAM ListSAMLProviders", options))?;
    let suffix = format!(":saml-provider/{}", plan.provider_name);
    let existing = providers
        .saml_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(&suffix))
        .map(str::to_string);
    let (provider_arn, provider_created) = match existing {
        Some(arn) => {
            iam.update_saml_provider()
                .saml_provider_arn(&arn)
                .saml_metadata_document(&plan.metadata_xml)
                .send()
                .await
                .map_err(|e| classify(e, "IAM UpdateSAMLProvider", options))?;
            (arn, false)
        }
        None => {
            let out = iam
                .create_saml_provider()
                .name(&plan.provider_name)
                .saml_metadata_document(&plan.metadata_xml)
                .send()
                .await
                .map_err(|e| classify(e, "IAM CreateSAMLProvider", options))?;
            let arn =
                out.saml_provider_arn()
                    .map(str::to_string)
                    .ok_or_else(|| AwsError::Bootstrap {
                        operation: "IAM CreateSAMLProvider",
                        message: "no provider ARN in the answer".into(),
                    })?;
            (arn, true)
        }
    };

    let policy = trust_policy(&provider_arn);
    let mut roles = Vec::new();
    for role in &plan.roles {
        let exists = match iam.get_role().role_name(&role.name).send().await {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                false
            }
            Err(e) => return Err(classify(e, "IAM GetRole", options)),
        };
        let role_arn = if exists {
            iam.update_assume_role_policy()
                .role_name(&role.name)
                .policy_document(&policy)
                .send()
                .await
                .map_err(|e| classify(e, "IAM UpdateAssumeRolePolicy", options))?;
            iam.update_role()
                .role_name(&role.name)
                .max_session_duration(role.max_session_duration)
                .send()
                .await
                .map_err(|e| classify(e, "IAM UpdateRole", options))?;
            format!("arn:aws:iam::{account_id}:role/{}", role.name)
        } else {
            let out = iam
                .create_role()
                .role_name(&role.name)
                .assume_role_policy_document(&policy)
                .max_session_duration(role.max_session_duration)
                .description("Reached through Trustplane single sign-on")
                .send()
                .await
                .map_err(|e| classify(e, "IAM CreateRole", options))?;
            out.role()
                .map(|r| r.arn().to_string())
                .unwrap_or_else(|| format!("arn:aws:iam::{account_id}:role/{}", role.name))
        };
        for policy_arn in &role.managed_policy_arns {
            iam.attach_role_policy()
                .role_name(&role.name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| classify(e, "IAM AttachRolePolicy", options))?;
        }
        roles.push(ConnectedRole {
            role_arn,
            max_session_duration: role.max_session_duration,
            created: !exists,
        });
    }
    Ok(ConnectReport {
        account_id,
        provider_arn,
        provider_created,
        roles,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_trust_policy_admits_only_the_provider_for_aws_sign_in() {
        let p: serde_json::Value = serde_json::from_str(&trust_policy(
            "arn:aws:iam::111111111111:saml-provider/Trustplane",
        ))
        .unwrap();
        let s = &p["Statement"][0];
        assert_eq!(
            s["Principal"]["Federated"],
            "arn:aws:iam::111111111111:saml-provider/Trustplane"
        );
        assert_eq!(s["Action"][0], "sts:AssumeRoleWithSAML");
        assert_eq!(
            s["Condition"]["StringEquals"]["SAML:aud"],
            AWS_SIGNIN_AUDIENCE
        );
    }
}
