//! Access paths in a saved inventory (what `trustplane scan aws --save-dir` writes): IAM
//! identity providers and whose they are, roles trusted by outside accounts, IAM users with
//! passwords or keys, and Azure enterprise applications and guests where the inventory holds
//! them. Nothing here calls a cloud.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use trustplane_posture::checks::aws_iam::policy_document;
use trustplane_posture::{Inventory, ResourceDoc};

use crate::discover::{Acc, Discoverer};
use crate::model::AppKind;

/// GitHub Actions' OIDC issuer host.
pub const GITHUB_ACTIONS_ISSUER: &str = "token.actions.githubusercontent.com";

/// Whose an identity provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderOwner {
    /// This Trustplane node.
    Trustplane,
    /// GitHub Actions workflows (workload identity).
    GitHubActions,
    /// Anyone else.
    Other,
}

impl ProviderOwner {
    fn as_str(self) -> &'static str {
        match self {
            ProviderOwner::Trustplane => "trustplane",
            ProviderOwner::GitHubActions => "githubActions",
            ProviderOwner::Other => "other",
        }
    }
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn statements(trust: &Value) -> Vec<&Value> {
    match trust.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// The SAML `entityID` of a metadata document, if it names one.
pub fn metadata_entity_id(metadata: &str) -> Option<String> {
    let at = metadata.find("entityID=")?;
    let rest = &metadata[at + "entityID=".len()..];
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = &rest[1..];
    rest.find(quote).map(|end| rest[..end].to_string())
}

fn normalise_issuer(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.trim_end_matches('/').to_ascii_lowercase()
}

/// A vendor guess from an issuer or entity id, for display.
fn vendor(issuer: &str) -> Option<&'static str> {
    let i = issuer.to_ascii_lowercase();
    [
        ("sts.windows.net", "Microsoft Entra ID"),
        ("login.microsoftonline.com", "Microsoft Entra ID"),
        ("okta.com", "Okta"),
        ("accounts.google.com", "Google"),
        ("auth0.com", "Auth0"),
        ("onelogin.com", "OneLogin"),
        ("pingidentity.com", "Ping Identity"),
        ("jumpcloud.com", "JumpCloud"),
        (GITHUB_ACTIONS_ISSUER, "GitHub Actions"),
        ("gitlab.com", "GitLab CI"),
        ("oidc.eks.", "Amazon EKS service accounts"),
        ("app.terraform.io", "HCP Terraform"),
    ]
    .iter()
    .find(|(k, _)| i.contains(k))
    .map(|(_, v)| *v)
}

/// Role names (and their `sub` conditions, for OIDC) that trust a federated provider.
struct Trusting {
    roles: Vec<String>,
    subjects: BTreeSet<String>,
    unconditioned: bool,
}

fn trusting_roles(
    inv: &Inventory,
    account: &str,
    provider_arn: &str,
    oidc_host: Option<&str>,
) -> Trusting {
    let mut t = Trusting {
        roles: Vec::new(),
        subjects: BTreeSet::new(),
        unconditioned: false,
    };
    for d in inv.of_type("aws.iam.role").filter(|d| d.account == account) {
        let Some(trust) = policy_document(d.raw.get("AssumeRolePolicyDocument")) else {
            continue;
        };
        for st in statements(&trust) {
            if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let fed = strs(st.pointer("/Principal/Federated"));
            if !fed.contains(&provider_arn) {
                continue;
            }
            t.roles.push(d.name.clone());
            if let Some(host) = oidc_host {
                let key = format!("{host}:sub");
                let mut found = false;
                if let Some(Value::Object(conds)) = st.get("Condition") {
                    for (_, c) in conds {
                        for s in strs(c.get(&key)) {
                            t.subjects.insert(s.to_string());
                            found = true;
                        }
                    }
                }
                if !found {
                    t.unconditioned = true;
                }
            }
        }
    }
    t.roles.sort();
    t.roles.dedup();
    t
}

fn credential_row<'a>(inv: &'a Inventory, arn: &str) -> Option<&'a ResourceDoc> {
    inv.of_type("aws.iam.credential_report_row")
        .find(|d| d.id == arn)
}

fn row_time(row: Option<&ResourceDoc>, key: &str) -> Option<i64> {
    row?.raw.get(key)?.as_str().and_then(crate::parse_time)
}

fn raw_time(d: &ResourceDoc, key: &str) -> Option<i64> {
    d.raw.get(key)?.as_str().and_then(crate::parse_time)
}

impl Discoverer {
    /// Adds the access paths of a saved inventory.
    pub fn add_inventory(&mut self, inv: &Inventory) {
        self.inventory_documents += inv.len();
        self.saml_providers(inv);
        self.oidc_providers(inv);
        self.cross_account_roles(inv);
        self.iam_users(inv);
        self.azure(inv);
    }

    fn owner_of_saml(&self, arn: &str, entity: Option<&str>) -> ProviderOwner {
        let ours = self
            .options
            .trustplane_saml_providers
            .iter()
            .any(|a| a == arn)
            || entity.is_some_and(|e| {
                let e = normalise_issuer(e);
                self.options.trustplane_issuers.iter().any(|i| {
                    normalise_issuer(i) == e || e.starts_with(&format!("{}/", normalise_issuer(i)))
                })
            });
        if ours {
            ProviderOwner::Trustplane
        } else {
            ProviderOwner::Other
        }
    }

    fn saml_providers(&mut self, inv: &Inventory) {
        for d in inv.of_type("aws.iam.saml_provider") {
            let arn = d.id.clone();
            let metadata = d.raw.get("SAMLMetadataDocument").and_then(Value::as_str);
            let entity = metadata.and_then(metadata_entity_id);
            let owner = self.owner_of_saml(&arn, entity.as_deref());
            let trusting = trusting_roles(inv, &d.account, &arn, None);
            let bypass = owner != ProviderOwner::Trustplane;
            let mut details = Map::new();
            details.insert("protocol".into(), json!("saml"));
            details.insert("owner".into(), json!(owner.as_str()));
            details.insert("entityId".into(), json!(entity));
            details.insert("vendor".into(), json!(entity.as_deref().and_then(vendor)));
            details.insert("metadataCollected".into(), json!(metadata.is_some()));
            details.insert("trustingRoles".into(), json!(trusting.roles));
            let remediation = bypass.then(|| {
                format!(
                    "Posture check trustplane_role_trusts_foreign_saml_provider reports the roles that trust it. \
                     Move the roles {roles:?} to Trustplane's provider (trustplane aws connect --apply), then \
                     remove this one: aws iam delete-saml-provider --saml-provider-arn {arn}",
                    roles = trusting.roles
                )
            });
            let created = raw_time(d, "CreateDate");
            self.provider_entry(d, &arn, owner, details, bypass, remediation, created);
        }
    }

    fn oidc_providers(&mut self, inv: &Inventory) {
        for d in inv.of_type("aws.iam.oidc_provider") {
            let arn = d.id.clone();
            let url = d
                .raw
                .get("Url")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    arn.split(":oidc-provider/")
                        .nth(1)
                        .unwrap_or("")
                        .to_string()
                });
            let host = normalise_issuer(&url);
            let owner = if host == GITHUB_ACTIONS_ISSUER {
                ProviderOwner::GitHubActions
            } else if self
                .options
                .trustplane_issuers
                .iter()
                .any(|i| normalise_issuer(i) == host)
            {
                ProviderOwner::Trustplane
            } else {
                ProviderOwner::Other
            };
            let trusting = trusting_roles(inv, &d.account, &arn, Some(&url));
            let mut details = Map::new();
            details.insert("protocol".into(), json!("oidc"));
            details.insert("owner".into(), json!(owner.as_str()));
            details.insert("issuer".into(), json!(format!("https://{host}")));
            details.insert("vendor".into(), json!(vendor(&host)));
            details.insert(
                "clientIds".into(),
                d.raw.get("ClientIDList").cloned().unwrap_or(Value::Null),
            );
            details.insert("trustingRoles".into(), json!(trusting.roles));
            details.insert("subjects".into(), json!(trusting.subjects));
            details.insert("anySubject".into(), json!(trusting.unconditioned));
            // Workflows are workloads, not people: GitHub Actions does not bypass people's
            // sign-in, but a role any repository can assume is flagged by the score.
            let bypass = owner == ProviderOwner::Other;
            let remediation = bypass.then(|| {
                format!(
                    "Federate people through Trustplane instead; remove this provider once the roles {roles:?} \
                     no longer need it: aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {arn}",
                    roles = trusting.roles
                )
            });
            let created = raw_time(d, "CreateDate");
            self.provider_entry(d, &arn, owner, details, bypass, remediation, created);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn provider_entry(
        &mut self,
        d: &ResourceDoc,
        arn: &str,
        owner: ProviderOwner,
        details: Map<String, Value>,
        bypass: bool,
        remediation: Option<String>,
        _created: Option<i64>,
    ) {
        let id = format!("idp:{arn}");
        let name = if d.name.is_empty() {
            arn.rsplit('/').next().unwrap_or(arn).to_string()
        } else {
            d.name.clone()
        };
        let account = d.account.clone();
        let category = match owner {
            ProviderOwner::GitHubActions => "workload identity provider",
            _ => "identity provider",
        };
        let init = || Acc {
            kind: Some(AppKind::IdentityProvider),
            name,
            account: Some(account),
            ..Acc::default()
        };
        if let Some(acc) = self.entry(&id, init) {
            acc.category = Some(category.into());
            acc.details.extend(details);
            acc.bypass = bypass;
            acc.remediation = remediation;
        }
    }

    fn cross_account_roles(&mut self, inv: &Inventory) {
        for d in inv.of_type("aws.iam.role") {
            let Some(trust) = policy_document(d.raw.get("AssumeRolePolicyDocument")) else {
                continue;
            };
            let mut external: BTreeSet<String> = BTreeSet::new();
            let mut external_id = true;
            for st in statements(&trust) {
                if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                    continue;
                }
                let mut here = false;
                for p in strs(st.pointer("/Principal/AWS")).into_iter().chain(
                    st.get("Principal")
                        .filter(|p| p.as_str() == Some("*"))
                        .and_then(Value::as_str),
                ) {
                    let acct = principal_account(p);
                    if acct.as_deref() != Some(d.account.as_str()) {
                        external.insert(acct.unwrap_or_else(|| p.to_string()));
                        here = true;
                    }
                }
                if here {
                    let has = st
                        .get("Condition")
                        .and_then(Value::as_object)
                        .is_some_and(|c| {
                            c.values().any(|v| {
                                v.as_object().is_some_and(|m| {
                                    m.keys().any(|k| k.eq_ignore_ascii_case("sts:ExternalId"))
                                })
                            })
                        });
                    external_id &= has;
                }
            }
            if external.is_empty() {
                continue;
            }
            let id = format!("cross-account:{}", d.id);
            let name = d.name.clone();
            let account = d.account.clone();
            let init = || Acc {
                kind: Some(AppKind::CrossAccountRole),
                name,
                account: Some(account),
                category: Some("cross-account access".into()),
                ..Acc::default()
            };
            let ext: Vec<String> = external.into_iter().collect();
            let anyone = ext.iter().any(|e| e == "*");
            if let Some(acc) = self.entry(&id, init) {
                acc.details.insert("externalAccounts".into(), json!(ext));
                acc.details
                    .insert("externalIdRequired".into(), json!(external_id));
                acc.details.insert("anyone".into(), json!(anyone));
                acc.details.insert(
                    "attachedPolicies".into(),
                    d.raw
                        .get("AttachedPolicies")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                acc.bypass = true;
                acc.remediation = Some(format!(
                    "People from outside accounts reach this role without Trustplane. Remove the outside \
                     principals from its trust policy (aws iam update-assume-role-policy --role-name {} \
                     --policy-document file://trust.json) or require sts:ExternalId for a vendor.",
                    d.name
                ));
            }
        }
    }

    /// IAM users (and the root user) with a console password or an active access key: from
    /// the user documents, or from the credential report where the documents do not say
    /// (older inventories, the root user).
    fn iam_users(&mut self, inv: &Inventory) {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let users: Vec<&ResourceDoc> = inv.of_type("aws.iam.user").collect();
        let rows: Vec<&ResourceDoc> = inv.of_type("aws.iam.credential_report_row").collect();
        for d in users.iter().copied().chain(rows.iter().copied()) {
            if !seen.insert(d.id.clone()) {
                continue;
            }
            let user = users.iter().copied().find(|u| u.id == d.id);
            let row = credential_row(inv, &d.id);
            let flag =
                |k: &str| row.and_then(|r| r.raw.get(k)).and_then(Value::as_str) == Some("true");
            let console = match user.and_then(|u| u.raw.get("LoginProfile")) {
                Some(p) => !p.is_null(),
                None => flag("password_enabled"),
            };
            let (key_ids, key_count, oldest_key): (Vec<String>, usize, Option<i64>) = match user
                .and_then(|u| u.raw.get("AccessKeys"))
                .and_then(Value::as_array)
            {
                Some(a) => {
                    let active: Vec<&Value> = a
                        .iter()
                        .filter(|k| k.get("Status").and_then(Value::as_str) == Some("Active"))
                        .collect();
                    (
                        active
                            .iter()
                            .filter_map(|k| {
                                k.get("AccessKeyId")
                                    .and_then(Value::as_str)
                                    .map(str::to_string)
                            })
                            .collect(),
                        active.len(),
                        active
                            .iter()
                            .filter_map(|k| {
                                k.get("CreateDate")
                                    .and_then(Value::as_str)
                                    .and_then(crate::parse_time)
                            })
                            .min(),
                    )
                }
                None => {
                    let n = usize::from(flag("access_key_1_active"))
                        + usize::from(flag("access_key_2_active"));
                    let oldest = [
                        flag("access_key_1_active")
                            .then(|| row_time(row, "access_key_1_last_rotated"))
                            .flatten(),
                        flag("access_key_2_active")
                            .then(|| row_time(row, "access_key_2_last_rotated"))
                            .flatten(),
                    ]
                    .into_iter()
                    .flatten()
                    .min();
                    (Vec::new(), n, oldest)
                }
            };
            if !console && key_count == 0 {
                continue;
            }
            let mfa = match user
                .and_then(|u| u.raw.get("MFADevices"))
                .and_then(Value::as_array)
            {
                Some(a) => !a.is_empty(),
                None => flag("mfa_active"),
            };
            let password_used = user
                .and_then(|u| raw_time(u, "PasswordLastUsed"))
                .or_else(|| row_time(row, "password_last_used"));
            let key_used = [
                row_time(row, "access_key_1_last_used_date"),
                row_time(row, "access_key_2_last_used_date"),
            ]
            .into_iter()
            .flatten()
            .max();
            let user_name = user.map_or_else(
                || {
                    row.and_then(|r| r.raw.get("user"))
                        .and_then(Value::as_str)
                        .unwrap_or(&d.name)
                        .to_string()
                },
                |u| u.name.clone(),
            );
            let root = d.id.ends_with(":root");
            let id = format!("iam-user:{}", d.id);
            let account = d.account.clone();
            let name = user_name.clone();
            let init = || Acc {
                kind: Some(AppKind::IamUser),
                name,
                account: Some(account),
                category: Some(if root { "root user" } else { "IAM user" }.into()),
                ..Acc::default()
            };
            let mut commands = Vec::new();
            if root {
                commands.push("delete the root user's access keys in the console (Security credentials); root has no CLI for it".to_string());
            } else {
                if console {
                    commands.push(format!(
                        "aws iam delete-login-profile --user-name {user_name}"
                    ));
                }
                if key_ids.is_empty() && key_count > 0 {
                    commands.push(format!("aws iam list-access-keys --user-name {user_name}, then for each key: aws iam update-access-key --user-name {user_name} --access-key-id KEY --status Inactive"));
                }
                for k in &key_ids {
                    commands.push(format!(
                        "aws iam update-access-key --user-name {user_name} --access-key-id {k} --status Inactive"
                    ));
                }
            }
            let mut check = Vec::new();
            if console {
                check.push("trustplane_federated_account_user_console_password");
            }
            if key_count > 0 {
                check.push("trustplane_federated_account_user_access_keys");
            }
            if let Some(acc) = self.entry(&id, init) {
                acc.seen(password_used);
                acc.seen(key_used);
                acc.user(&user_name);
                acc.details.insert("consolePassword".into(), json!(console));
                acc.details
                    .insert("activeAccessKeys".into(), json!(key_ids));
                acc.details
                    .insert("activeAccessKeyCount".into(), json!(key_count));
                acc.details.insert("mfa".into(), json!(mfa));
                acc.details.insert(
                    "passwordLastUsed".into(),
                    json!(password_used.and_then(crate::format_time)),
                );
                acc.details.insert(
                    "accessKeyLastUsed".into(),
                    json!(key_used.and_then(crate::format_time)),
                );
                acc.details.insert(
                    "oldestActiveKeyCreated".into(),
                    json!(oldest_key.and_then(crate::format_time)),
                );
                acc.bypass = true;
                acc.remediation = Some(format!(
                    "Posture checks {} (in accounts federated through Trustplane) report it. Give the person a \
                     Trustplane role instead, then: {}",
                    check.join(", "),
                    commands.join("; ")
                ));
            }
        }
    }

    fn azure(&mut self, inv: &Inventory) {
        for d in inv.of_type("azure.entra.user") {
            let guest = d
                .raw
                .get("userType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("guest"));
            if !guest {
                continue;
            }
            let id = format!("azure-guest:{}:{}", d.account, d.id);
            let name = d
                .raw
                .get("userPrincipalName")
                .or_else(|| d.raw.get("mail"))
                .and_then(Value::as_str)
                .unwrap_or(&d.name)
                .to_string();
            let account = d.account.clone();
            let last = d
                .raw
                .pointer("/signInActivity/lastSignInDateTime")
                .and_then(Value::as_str)
                .and_then(crate::parse_time);
            let init = || Acc {
                kind: Some(AppKind::Guest),
                name,
                account: Some(account),
                category: Some("guest user".into()),
                ..Acc::default()
            };
            if let Some(acc) = self.entry(&id, init) {
                acc.seen(last);
                acc.details.insert(
                    "mail".into(),
                    d.raw.get("mail").cloned().unwrap_or(Value::Null),
                );
                acc.details.insert(
                    "accountEnabled".into(),
                    d.raw.get("accountEnabled").cloned().unwrap_or(Value::Null),
                );
            }
        }
        for d in inv.of_type("azure.entra.service_principal") {
            let app_id = d
                .raw
                .get("appId")
                .and_then(Value::as_str)
                .unwrap_or(&d.id)
                .to_string();
            let owner_org = d.raw.get("appOwnerOrganizationId").and_then(Value::as_str);
            let third_party = owner_org.is_some_and(|o| !o.eq_ignore_ascii_case(&d.account));
            let id = format!("azure-sp:{}:{app_id}", d.account);
            let name = d
                .raw
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or(&d.name)
                .to_string();
            let account = d.account.clone();
            let init = || Acc {
                kind: Some(AppKind::ServicePrincipal),
                name,
                account: Some(account),
                category: Some("enterprise application".into()),
                ..Acc::default()
            };
            if let Some(acc) = self.entry(&id, init) {
                acc.details.insert("appId".into(), json!(app_id));
                acc.details.insert("thirdParty".into(), json!(third_party));
                for k in [
                    "servicePrincipalType",
                    "oauth2PermissionGrants",
                    "appRoleAssignments",
                    "federatedIdentityCredentials",
                ] {
                    if let Some(v) = d.raw.get(k) {
                        acc.details.insert(k.into(), v.clone());
                    }
                }
            }
        }
    }
}

/// The account of an AWS principal: a 12-digit id, or the account field of an ARN; `*` for
/// anyone.
fn principal_account(p: &str) -> Option<String> {
    if p == "*" {
        return Some("*".into());
    }
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p.to_string());
    }
    let parts: Vec<&str> = p.split(':').collect();
    (parts.len() >= 5 && parts[0] == "arn").then(|| parts[4].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_ids_and_accounts() {
        assert_eq!(
            metadata_entity_id(
                r#"<md:EntityDescriptor xmlns:md="x" entityID="https://idp.example/saml">"#
            )
            .as_deref(),
            Some("https://idp.example/saml")
        );
        assert_eq!(metadata_entity_id("<x entityID=idp>"), None);
        assert_eq!(
            principal_account("arn:aws:iam::111122223333:root").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            principal_account("444455556666").as_deref(),
            Some("444455556666")
        );
        assert_eq!(principal_account("AIDAEXAMPLE"), None);
    }
}
