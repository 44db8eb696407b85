//! Revoking the sessions already issued for an IAM role, the way AWS documents it: an inline
//! policy on the role that denies everything to sessions whose `aws:TokenIssueTime` is before
//! a given time. Each revocation is one statement of the policy [`POLICY_NAME`], narrowed by
//! `aws:userid` (`<role id>:<role session name>`) to one person's sessions, so that the role's
//! other users keep theirs. Statements are added and removed by their `Sid`; the policy is
//! deleted when its last statement goes. Both directions are idempotent.
//!
//! The calls need `iam:GetRolePolicy`, `iam:PutRolePolicy` and `iam:DeleteRolePolicy` on the
//! role, in the role's account.
//!
//! The policy is read, changed and written back: two writers changing the same role at the
//! same moment could lose one statement. Trustplane changes it from the PIM job (one node at a
//! time, under a lease) and from the request that ends an activation.

use aws_sdk_iam::Client;
use serde_json::{json, Value};

use crate::client;
use crate::identity_center::{api_reason, ConnectOptions};
use crate::{AwsError, CollectOptions};

/// The inline policy holding Trustplane's revocations on a role.
pub const POLICY_NAME: &str = "TrustplaneRevokedSessions";

/// The session name Trustplane uses when it assumes the connection's role.
const ROLE_SESSION_NAME: &str = "trustplane-session-revocation";

/// One revocation: the sessions of some role session names issued before a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The statement's id (letters and digits only, as IAM requires).
    pub sid: String,
    /// The role session names whose sessions are denied (`RoleSessionName` of the SAML
    /// assertion); at least one.
    pub session_names: Vec<String>,
    /// Sessions issued before this Unix time (seconds) are denied.
    pub issued_before: i64,
}

impl Revocation {
    /// The policy statement.
    fn statement(&self) -> Result<Value, AwsError> {
        if self.sid.is_empty() || !self.sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AwsError::Options(format!(
                "statement id `{}` must be letters and digits",
                self.sid
            )));
        }
        if self.session_names.is_empty() {
            return Err(AwsError::Options(
                "a revocation needs at least one role session name".into(),
            ));
        }
        let before = time::OffsetDateTime::from_unix_timestamp(self.issued_before)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .ok_or_else(|| AwsError::Options(format!("{} is not a time", self.issued_before)))?;
        let users: Vec<String> = self
            .session_names
            .iter()
            .map(|name| format!("*:{name}"))
            .collect();
        Ok(json!({
            "Sid": self.sid,
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": before},
                "StringLike": {"aws:userid": users},
            },
        }))
    }
}

/// IAM in one account, for revoking role sessions.
#[derive(Debug, Clone)]
pub struct RoleSessions {
    client: Client,
}

/// The role's name in `arn:aws:iam::<account>:role/<path/><name>`.
pub fn role_name(role_arn: &str) -> Option<&str> {
    let (_, rest) = role_arn.split_once(":role/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

impl RoleSessions {
    /// A client with the standard credential chain (then `role_arn` assumed, if set), as for
    /// Identity Center. Nothing is called yet.
    pub async fn connect(options: &ConnectOptions) -> RoleSessions {
        let base = client::base_config(&CollectOptions {
            endpoint_url: options.endpoint_url.clone(),
            home_region: options.region.clone(),
            ..Default::default()
        })
        .await;
        let conf = match &options.role_arn {
            Some(role) => client::assumed(&base, role, ROLE_SESSION_NAME).await,
            None => base,
        };
        RoleSessions {
            client: Client::new(&conf),
        }
    }

    /// The statements of the role's revocation policy (none when it has no such policy).
    pub async fn statements(&self, role: &str) -> Result<Vec<Value>, AwsError> {
        let out = match self
            .client
            .get_role_policy()
            .role_name(role)
            .policy_name(POLICY_NAME)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(iam_error("GetRolePolicy", &e)),
        };
        let doc = parse_document(out.policy_document()).ok_or_else(|| AwsError::Iam {
            operation: "GetRolePolicy",
            reason: format!("the policy {POLICY_NAME} is not a JSON policy document"),
        })?;
        Ok(match doc.get("Statement") {
            Some(Value::Array(items)) => items.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => Vec::new(),
        })
    }

    /// Adds (or replaces, by `Sid`) a revocation on the role.
    pub async fn revoke(&self, role: &str, r: &Revocation) -> Result<(), AwsError> {
        let statement = r.statement()?;
        let mut statements = self.statements(role).await?;
        statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(r.sid.as_str()));
        statements.push(statement);
        self.write(role, statements).await
    }

    /// Removes the revocation `sid` from the role; deletes the policy when nothing is left.
    pub async fn lift(&self, role: &str, sid: &str) -> Result<(), AwsError> {
        let mut statements = self.statements(role).await?;
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(sid));
        if statements.len() == before && !statements.is_empty() {
            return Ok(());
        }
        self.write(role, statements).await
    }

    async fn write(&self, role: &str, statements: Vec<Value>) -> Result<(), AwsError> {
        if statements.is_empty() {
            return match self
                .client
                .delete_role_policy()
                .role_name(role)
                .policy_name(POLICY_NAME)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    Ok(())
                }
                Err(e) => Err(iam_error("DeleteRolePolicy", &e)),
            };
        }
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(POLICY_NAME)
            .policy_document(doc.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| iam_error("PutRolePolicy", &e))
    }
}

/// IAM answers policy documents URL-encoded (RFC 3986); an emulator may not.
fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

fn iam_error<E>(
    operation: &'static str,
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> AwsError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::Iam {
        operation,
        reason: api_reason(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_denies_the_named_sessions_issued_before_the_time() {
        let r = Revocation {
            sid: "Tp1".into(),
            session_names: vec!["ada@example.com".into()],
            issued_before: 1_790_000_000,
        };
        let s = r.statement().unwrap();
        assert_eq!(s["Effect"], "Deny");
        assert_eq!(
            s["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2026-09-21T14:13:20Z"
        );
        assert_eq!(
            s["Condition"]["StringLike"]["aws:userid"],
            json!(["*:ada@example.com"])
        );
    }

    #[test]
    fn bad_statement_ids_and_empty_names_are_refused() {
        let mut r = Revocation {
            sid: "Tp-1".into(),
            session_names: vec!["a".into()],
            issued_before: 0,
        };
        assert!(r.statement().is_err());
        r.sid = "Tp1".into();
        r.session_names.clear();
        assert!(r.statement().is_err());
    }

    #[test]
    fn role_names_come_from_the_arn_with_or_without_a_path() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/Admin"),
            Some("Admin")
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/team/ops/Admin"),
            Some("Admin")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/Admin"), None);
        assert_eq!(role_name("arn:aws:iam::123456789012:role/"), None);
    }

    #[test]
    fn documents_are_read_encoded_or_not() {
        let plain = r#"{"Statement":[{"Sid":"A"}]}"#;
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Sid%22%3A%22A%22%7D%5D%7D";
        assert_eq!(parse_document(plain), parse_document(encoded));
        assert!(parse_document(plain).is_some());
        assert!(parse_document("%7Bnot").is_none());
    }
}
