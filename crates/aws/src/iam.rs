//! IAM (global): credential report, password policy, account summary, MFA devices, users,
//! roles, attached policies, server certificates, SAML providers (with their metadata) and
//! OpenID Connect providers.

use aws_config::SdkConfig;
use aws_sdk_iam::types::{EntityType, PolicyScopeType, ReportStateType};
use aws_sdk_iam::Client;
use futures::StreamExt;
use serde_json::{json, Map, Value};
use trustplane_posture::ResourceDoc;

use crate::common::{code, en, msg, tags, task, ts, Scope, Task};

const REPORT: &str = "aws.iam.credential_report_row";

/// The IAM collections of one account.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let c = Client::new(conf);
    vec![
        task(scope, "iam", &[REPORT], {
            let c = c.clone();
            |s| async move { credential_report(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.password_policy"], {
            let c = c.clone();
            |s| async move { password_policy(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.account_summary"], {
            let c = c.clone();
            |s| async move { account_summary(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.virtual_mfa_devices"], {
            let c = c.clone();
            |s| async move { virtual_mfa(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.user"], {
            let c = c.clone();
            |s| async move { users(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.role"], {
            let c = c.clone();
            |s| async move { roles(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.policy"], {
            let c = c.clone();
            |s| async move { policies(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.server_certificate"], {
            let c = c.clone();
            |s| async move { server_certificates(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.saml_provider"], {
            let c = c.clone();
            |s| async move { saml_providers(&c, &s).await }
        }),
        task(scope, "iam", &["aws.iam.oidc_provider"], {
            let c = c.clone();
            |s| async move { oidc_providers(&c, &s).await }
        }),
    ]
}

/// Generates the report, waits for it, and writes one document per CSV row.
async fn credential_report(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let mut waited = 0;
    loop {
        let out = c.generate_credential_report().send().await.map_err(msg)?;
        if out.state() == Some(&ReportStateType::Complete) {
            break;
        }
        // AWS builds the report asynchronously; a few seconds is typical.
        waited += 1;
        if waited > 60 {
            return Err("credential report not ready after 30 s".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let out = c.get_credential_report().send().await.map_err(msg)?;
    let bytes = out
        .content()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let text = String::from_utf8(bytes).map_err(|e| format!("credential report: {e}"))?;
    Ok(parse_report(&text)
        .into_iter()
        .map(|row| {
            let user = row
                .get("user")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let arn = row
                .get("arn")
                .and_then(Value::as_str)
                .unwrap_or(&user)
                .to_string();
            s.doc(REPORT, &arn, &user, Value::Object(row))
        })
        .collect())
}

/// The credential report CSV: a header line, then one line per user; values never contain
/// commas or quotes, and are kept as strings.
pub(crate) fn parse_report(text: &str) -> Vec<Map<String, Value>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let keys: Vec<&str> = header.split(',').map(str::trim).collect();
    lines
        .map(|line| {
            keys.iter()
                .zip(line.split(','))
                .map(|(k, v)| ((*k).to_string(), Value::String(v.trim().to_string())))
                .collect()
        })
        .collect()
}

async fn password_policy(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let policy = match c.get_account_password_policy().send().await {
        Ok(out) => out.password_policy().map(|p| {
            json!({
                "MinimumPasswordLength": p.minimum_password_length(),
                "RequireSymbols": p.require_symbols(),
                "RequireNumbers": p.require_numbers(),
                "RequireUppercaseCharacters": p.require_uppercase_characters(),
                "RequireLowercaseCharacters": p.require_lowercase_characters(),
                "AllowUsersToChangePassword": p.allow_users_to_change_password(),
                "ExpirePasswords": p.expire_passwords(),
                "MaxPasswordAge": p.max_password_age(),
                "PasswordReusePrevention": p.password_reuse_prevention(),
                "HardExpiry": p.hard_expiry(),
            })
        }),
        // No policy is an answer, not a failure.
        Err(e) if code(&e) == Some("NoSuchEntity") => None,
        Err(e) => return Err(msg(e)),
    };
    let id = format!("arn:aws:iam::{}:account-password-policy", s.account);
    Ok(vec![s.doc(
        "aws.iam.password_policy",
        &id,
        "password policy",
        json!({ "PasswordPolicy": policy }),
    )])
}

async fn account_summary(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let out = c.get_account_summary().send().await.map_err(msg)?;
    let map: Map<String, Value> = out
        .summary_map()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                .collect()
        })
        .unwrap_or_default();
    let id = format!("arn:aws:iam::{}:account-summary", s.account);
    Ok(vec![s.doc(
        "aws.iam.account_summary",
        &id,
        "account summary",
        json!({ "SummaryMap": map }),
    )])
}

async fn virtual_mfa(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let devices = c
        .list_virtual_mfa_devices()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let list: Vec<Value> = devices
        .iter()
        .map(|d| {
            json!({
                "SerialNumber": d.serial_number(),
                "EnableDate": ts(d.enable_date()),
                "User": d.user().map(|u| json!({"UserName": u.user_name(), "UserId": u.user_id(), "Arn": u.arn()})),
            })
        })
        .collect();
    let id = format!("arn:aws:iam::{}:virtual-mfa-devices", s.account);
    Ok(vec![s.doc(
        "aws.iam.virtual_mfa_devices",
        &id,
        "virtual MFA devices",
        json!({ "VirtualMFADevices": list }),
    )])
}

async fn users(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let users = c
        .list_users()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let docs = futures::stream::iter(users)
        .map(|u| async move {
            let name = u.user_name().to_string();
            match user_details(c, &name).await {
                Ok(extra) => {
                    let mut raw = json!({
                        "Path": u.path(),
                        "UserName": u.user_name(),
                        "UserId": u.user_id(),
                        "Arn": u.arn(),
                        "CreateDate": ts(Some(u.create_date())),
                        "PasswordLastUsed": ts(u.password_last_used()),
                    });
                    if let (Value::Object(m), Value::Object(e)) = (&mut raw, extra) {
                        m.extend(e);
                    }
                    s.doc("aws.iam.user", u.arn(), u.user_name(), raw)
                }
                // One user's details failing leaves the others intact.
                Err(m) => s.error("iam", &["aws.iam.user"], &m, Some(u.arn())),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

/// Login profile, attached and inline policies, tags, access keys and MFA devices of one
/// user.
async fn user_details(c: &Client, name: &str) -> Result<Value, String> {
    let attached = c
        .list_attached_user_policies()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let inline = c
        .list_user_policies()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let user_tags = c
        .list_user_tags()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let keys = c
        .list_access_keys()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let mfa = c
        .list_mfa_devices()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    // Console access as it is now (the credential report can be hours old); no profile is
    // an answer (null), not a failure.
    let login = match c.get_login_profile().user_name(name).send().await {
        Ok(out) => out.login_profile().map_or(Value::Null, |p| {
            json!({"CreateDate": ts(Some(p.create_date())), "PasswordResetRequired": p.password_reset_required()})
        }),
        Err(e) if code(&e) == Some("NoSuchEntity") => Value::Null,
        Err(e) => return Err(msg(e)),
    };
    Ok(json!({
        "LoginProfile": login,
        "AttachedPolicies": attached.iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect::<Vec<_>>(),
        "UserPolicyNames": inline,
        "Tags": tags(user_tags.iter().map(|t| (t.key(), t.value()))),
        "AccessKeys": keys.iter().map(|k| json!({"AccessKeyId": k.access_key_id(), "Status": en(k.status()), "CreateDate": ts(k.create_date())})).collect::<Vec<_>>(),
        "MFADevices": mfa.iter().map(|d| json!({"SerialNumber": d.serial_number(), "EnableDate": ts(Some(d.enable_date()))})).collect::<Vec<_>>(),
    }))
}

async fn roles(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let roles = c
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let docs = futures::stream::iter(roles)
        .map(|r| async move {
            let attached = c
                .list_attached_role_policies()
                .role_name(r.role_name())
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await;
            match attached {
                Ok(attached) => s.doc(
                    "aws.iam.role",
                    r.arn(),
                    r.role_name(),
                    json!({
                        "Path": r.path(),
                        "RoleName": r.role_name(),
                        "RoleId": r.role_id(),
                        "Arn": r.arn(),
                        "CreateDate": ts(Some(r.create_date())),
                        "Description": r.description(),
                        "MaxSessionDuration": r.max_session_duration(),
                        // URL-encoded JSON, as IAM returns it; posture decodes both forms.
                        "AssumeRolePolicyDocument": r.assume_role_policy_document(),
                        "AttachedPolicies": attached.iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect::<Vec<_>>(),
                    }),
                ),
                Err(e) => s.error("iam", &["aws.iam.role"], &msg(e), Some(r.arn())),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

/// Attached policies only (customer and AWS-managed): unattached ones grant nothing, and
/// AWS has over a thousand managed policies.
async fn policies(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let list = c
        .list_policies()
        .scope(PolicyScopeType::All)
        .only_attached(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let docs = futures::stream::iter(list)
        .map(|p| async move {
            let arn = p.arn().unwrap_or_default().to_string();
            match policy_details(c, &arn, p.default_version_id().unwrap_or("v1")).await {
                Ok((document, roles)) => s.doc(
                    "aws.iam.policy",
                    &arn,
                    p.policy_name().unwrap_or_default(),
                    json!({
                        "PolicyName": p.policy_name(),
                        "PolicyId": p.policy_id(),
                        "Arn": p.arn(),
                        "Path": p.path(),
                        "DefaultVersionId": p.default_version_id(),
                        "AttachmentCount": p.attachment_count(),
                        "IsAttachable": p.is_attachable(),
                        "CreateDate": ts(p.create_date()),
                        "UpdateDate": ts(p.update_date()),
                        "PolicyVersion": {"Document": document, "VersionId": p.default_version_id(), "IsDefaultVersion": true},
                        "PolicyRoles": roles,
                    }),
                ),
                Err(m) => s.error("iam", &["aws.iam.policy"], &m, Some(&arn)),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

async fn policy_details(c: &Client, arn: &str, version: &str) -> Result<(Value, Value), String> {
    let v = c
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(msg)?;
    let document = v
        .policy_version()
        .and_then(|pv| pv.document())
        .map_or(Value::Null, |d| Value::String(d.to_string()));
    let pages = c
        .list_entities_for_policy()
        .policy_arn(arn)
        .entity_filter(EntityType::Role)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let roles: Vec<Value> = pages
        .iter()
        .flat_map(|p| p.policy_roles())
        .map(|r| json!({"RoleName": r.role_name(), "RoleId": r.role_id()}))
        .collect();
    Ok((document, Value::Array(roles)))
}

async fn server_certificates(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let certs = c
        .list_server_certificates()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(certs
        .iter()
        .map(|m| {
            s.doc(
                "aws.iam.server_certificate",
                m.arn(),
                m.server_certificate_name(),
                json!({
                    "Path": m.path(),
                    "ServerCertificateName": m.server_certificate_name(),
                    "ServerCertificateId": m.server_certificate_id(),
                    "Arn": m.arn(),
                    "UploadDate": ts(m.upload_date()),
                    "Expiration": ts(m.expiration()),
                }),
            )
        })
        .collect())
}

async fn saml_providers(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let out = c.list_saml_providers().send().await.map_err(msg)?;
    let docs = futures::stream::iter(out.saml_provider_list().to_vec())
        .map(|p| async move {
            let arn = p.arn().unwrap_or_default().to_string();
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
            // The metadata names the identity provider (its entityID): discovery tells
            // Trustplane's own provider from others by it.
            match c.get_saml_provider().saml_provider_arn(&arn).send().await {
                Ok(detail) => s.doc(
                    "aws.iam.saml_provider",
                    &arn,
                    &name,
                    json!({
                        "Arn": p.arn(),
                        "ValidUntil": ts(p.valid_until()),
                        "CreateDate": ts(p.create_date()),
                        "SAMLMetadataDocument": detail.saml_metadata_document(),
                    }),
                ),
                Err(e) => s.error("iam", &["aws.iam.saml_provider"], &msg(e), Some(&arn)),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

async fn oidc_providers(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let out = c
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(msg)?;
    let docs = futures::stream::iter(out.open_id_connect_provider_list().to_vec())
        .map(|p| async move {
            let arn = p.arn().unwrap_or_default().to_string();
            let name = arn
                .split(":oidc-provider/")
                .nth(1)
                .unwrap_or(&arn)
                .to_string();
            match c
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
            {
                Ok(d) => s.doc(
                    "aws.iam.oidc_provider",
                    &arn,
                    &name,
                    json!({
                        "Arn": arn,
                        "Url": d.url(),
                        "ClientIDList": d.client_id_list(),
                        "ThumbprintList": d.thumbprint_list(),
                        "CreateDate": ts(d.create_date()),
                    }),
                ),
                Err(e) => s.error("iam", &["aws.iam.oidc_provider"], &msg(e), Some(&arn)),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}
