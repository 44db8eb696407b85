//! Revoking the AWS console sessions an activation gave when it ends early.
//!
//! SAML sessions cannot be recalled once issued: their `SessionDuration` is capped at the
//! time left in the activation, so a natural end needs nothing more, but an activation that
//! ends early (deactivated, revoked, ended by a detection response) leaves sessions alive
//! until that cap. For an `awsSamlRole`, the removal of its directory grant before its end
//! records a revocation ([`SESSION_DENY`] grant record): a deny-all statement on the IAM role
//! for the person's role session names and sessions issued before the end. The record is
//! written before the directory grant is forgotten, so a crash in between does the work again;
//! it is put on the role at once and by the PIM job until IAM confirms it, and lifted by the
//! job once no session it targets can be alive (its end plus the role's maximum session).

use serde_json::{json, Value};
use trustplane_model::{RoleResource, User};
use trustplane_store::{ListQuery, PimGrant, StoreError};

use super::Pim;
use crate::SessionRevocation;
use trustplane_cloudops::ScanTarget;
use trustplane_idp::saml_app::assertion::{values, Subject};
use trustplane_idp::saml_app::{SamlSettings, Template};

/// The kind of grant record that stands for a revocation of AWS role sessions.
pub(super) const SESSION_DENY: &str = "awsSessionDeny";

/// Audit activities of revocations put on a role and lifted from it.
const PUT: &str = "pim.grant.sessionRevoke";
const LIFT: &str = "pim.grant.sessionRevokeLift";

/// The assertion lifetime when no AWS console application says otherwise (the settings'
/// default).
const DEFAULT_ASSERTION_SECS: i64 = 300;

impl Pim {
    /// Records the revocation of the AWS sessions `g` (a directory grant removed before its
    /// end) may have given. Does nothing for roles that are not `awsSamlRole`. A role whose
    /// account is not connected cannot be reached: that is audited as a failure, and the
    /// removal of the grant goes on.
    pub(super) async fn record_session_revocation(&self, g: &PimGrant) -> Result<(), StoreError> {
        let role = match self.store.get_role_definition(&g.role_id).await {
            Ok(r) => r,
            Err(StoreError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(RoleResource::AwsSamlRole {
            account_id,
            role_arn,
            max_session_duration,
            ..
        }) = role.resource
        else {
            return Ok(());
        };
        let now = self.now();
        let (names, window) = match self.store.get_user(&g.user_id).await {
            Ok(user) => self.aws_session_names(&user, &account_id).await?,
            Err(StoreError::NotFound { .. }) => (Vec::new(), DEFAULT_ASSERTION_SECS),
            Err(e) => return Err(e),
        };
        // An assertion issued just before the end can still be exchanged for a session until
        // it expires: those sessions are denied too.
        let issued_before = now.div_euclid(1000) + 1 + window;
        let revocation = SessionRevocation {
            sid: format!(
                "Tp{}{}",
                g.user_id
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>(),
                issued_before
            ),
            role_arn: role_arn.clone(),
            session_names: names,
            issued_before,
        };
        let connection = self.aws_connection(&account_id).await?;
        let record = PimGrant {
            key: format!("aws-deny|{role_arn}|{}|{issued_before}", g.user_id),
            kind: SESSION_DENY.into(),
            user_id: g.user_id.clone(),
            role_id: g.role_id.clone(),
            scope: g.scope.clone(),
            target: json!({ "connectionId": connection, "revocation": revocation }),
            state: super::converge::GRANTING.into(),
            until: (issued_before + i64::from(max_session_duration)) * 1000,
            last_error: None,
        };
        let unreachable = if revocation.session_names.is_empty() {
            Some(format!(
                "the person's AWS role session name is unknown: sessions already issued for {role_arn} could not be revoked"
            ))
        } else if connection.is_none() {
            Some(format!(
                "AWS account {account_id} is not connected: sessions already issued for {role_arn} could not be revoked"
            ))
        } else {
            None
        };
        match unreachable {
            Some(reason) => {
                tracing::warn!(grant = %g.key, %reason, "AWS sessions not revoked");
                self.audit_cloud(&record, PUT, &Err(reason)).await;
                Ok(())
            }
            None => self.store.put_pim_grant(&record).await,
        }
    }

    /// Puts recorded revocations on their roles, and lifts (then forgets) those whose
    /// sessions have all ended. Returns (lifted, failing).
    pub(super) async fn settle_session_revocations(&self) -> Result<(usize, usize), StoreError> {
        let now = self.now();
        let (mut lifted, mut failing) = (0, 0);
        for mut g in self.store.pim_grants().await? {
            if g.kind != SESSION_DENY {
                continue;
            }
            let lift = g.until <= now;
            if !lift && g.state == super::converge::HELD {
                continue;
            }
            let outcome = self.change_revocation(&g, lift).await;
            self.audit_cloud(&g, if lift { LIFT } else { PUT }, &outcome)
                .await;
            match outcome {
                Ok(()) if lift => {
                    self.store.delete_pim_grant(&g.key).await?;
                    lifted += 1;
                }
                Ok(()) => {
                    g.state = super::converge::HELD.into();
                    g.last_error = None;
                    self.store.put_pim_grant(&g).await?;
                }
                Err(reason) => {
                    tracing::warn!(grant = %g.key, %reason, "could not change an AWS session revocation");
                    g.last_error = Some(reason);
                    self.store.put_pim_grant(&g).await?;
                    failing += 1;
                }
            }
        }
        Ok((lifted, failing))
    }

    async fn change_revocation(&self, g: &PimGrant, lift: bool) -> Result<(), String> {
        let connection_id = g
            .target
            .get("connectionId")
            .and_then(Value::as_str)
            .ok_or("the revocation record names no connection")?;
        let revocation: SessionRevocation =
            serde_json::from_value(g.target.get("revocation").cloned().unwrap_or_default())
                .map_err(|e| format!("the revocation record is unreadable: {e}"))?;
        let connection = self.connections.connection(connection_id).await?;
        if !matches!(connection, ScanTarget::Aws { .. }) {
            return Err("an AWS role's sessions need an AWS connection".into());
        }
        let grants = self.grants.as_ref().ok_or(
            "this node cannot change AWS roles (it was not started by `trustplane serve`)",
        )?;
        if lift {
            grants.lift_revocation(&connection, &revocation).await
        } else {
            grants.revoke_sessions(&connection, &revocation).await
        }
    }

    /// The connected AWS account `account_id`, if there is one.
    async fn aws_connection(&self, account_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .list_cloud_accounts()
            .await?
            .into_iter()
            .find(|a| a.provider == "aws" && a.account == account_id)
            .map(|a| a.id))
    }

    /// The role session names the AWS console applications that may offer roles of
    /// `account_id` give `user`, and the longest lifetime of their assertions in seconds
    /// (the user's UPN, and the default lifetime, when no application says otherwise).
    async fn aws_session_names(
        &self,
        user: &User,
        account_id: &str,
    ) -> Result<(Vec<String>, i64), StoreError> {
        let subject = Subject {
            user,
            groups: &[],
            roles: &[],
            aws_time_left_secs: None,
        };
        let (mut names, mut window) = (Vec::new(), None::<i64>);
        let mut query = ListQuery {
            top: 999,
            ..Default::default()
        };
        loop {
            let page = self.store.list_applications(&query).await?;
            for app in &page.items {
                let Some(settings) = SamlSettings::from_app_settings(&app.settings)
                    .ok()
                    .flatten()
                    .filter(|s| s.template == Template::AwsConsole)
                    .filter(|s| {
                        s.aws_accounts.is_empty() || s.aws_accounts.iter().any(|a| a == account_id)
                    })
                else {
                    continue;
                };
                let source = settings
                    .role_session_name_source
                    .clone()
                    .unwrap_or_else(|| "userPrincipalName".into());
                names.extend(values(&source, &subject, &settings));
                window = Some(
                    window
                        .unwrap_or(0)
                        .max(i64::from(settings.assertion_lifetime_seconds)),
                );
            }
            match page.next {
                Some(next) => query.skip_token = Some(next),
                None => break,
            }
        }
        if window.is_none() {
            names.push(user.user_principal_name.clone());
        }
        names.retain(|n| !n.is_empty());
        names.sort();
        names.dedup();
        Ok((names, window.unwrap_or(DEFAULT_ASSERTION_SECS)))
    }
}
