//! How administrators configure PIM: a role's activation settings at a scope (approvers named
//! by id, UPN or group name are kept by id) and the node-wide webhook and reconciliation mode.

use serde::{Deserialize, Serialize};
use trustplane_model::{Actor, PimSettings};

use super::{invalid, Pim, PimError, REMOVE_OUTSIDE_SETTING, WEBHOOK_SETTING};

/// Node-wide PIM configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Configuration {
    /// Where notifications are posted as JSON; none when absent.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Whether reconciliation removes cloud grants made outside Trustplane.
    #[serde(default)]
    pub remove_outside_grants: bool,
}

impl Pim {
    /// Replaces the settings of the role `role` (by id or name) at `scope`; answers them as
    /// stored.
    pub async fn put_settings(
        &self,
        actor: &Actor,
        role: &str,
        scope: &str,
        mut settings: PimSettings,
    ) -> Result<PimSettings, PimError> {
        let role = self.store.get_role_definition(role).await?;
        if !scope.starts_with('/') {
            return Err(invalid("scope", "scope must start with `/`"));
        }
        if let Err((field, message)) = settings.validate() {
            return Err(invalid(field, format!("{field}: {message}")));
        }
        let mut approvers = Vec::with_capacity(settings.approvers.len());
        for a in &settings.approvers {
            if let Ok(user) = self.store.get_user(a).await {
                approvers.push(user.id);
            } else if let Ok(group) = self.store.get_group(a).await {
                approvers.push(group.id);
            } else {
                return Err(PimError::UnknownReference {
                    field: "approvers",
                    detail: format!(
                        "approvers refers to `{a}`, which is neither a user nor a group"
                    ),
                });
            }
        }
        settings.approvers = approvers;
        self.store
            .put_pim_settings(actor, &role.id, scope, &settings)
            .await?;
        Ok(settings)
    }

    /// The webhook URL and the reconciliation mode.
    pub async fn configuration(&self) -> Result<Configuration, PimError> {
        Ok(Configuration {
            webhook_url: self
                .store
                .setting(WEBHOOK_SETTING)
                .await?
                .filter(|u| !u.is_empty()),
            remove_outside_grants: self.store.setting(REMOVE_OUTSIDE_SETTING).await?.as_deref()
                == Some("true"),
        })
    }

    /// Sets the webhook URL (an http(s) URL) and the reconciliation mode.
    pub async fn set_configuration(&self, c: &Configuration) -> Result<(), PimError> {
        if let Some(url) = &c.webhook_url {
            trustplane_cloudops::check_url("webhookUrl", Some(url))?;
        }
        self.store
            .put_setting(WEBHOOK_SETTING, c.webhook_url.as_deref().unwrap_or(""))
            .await?;
        let remove = if c.remove_outside_grants {
            "true"
        } else {
            "false"
        };
        self.store
            .put_setting(REMOVE_OUTSIDE_SETTING, remove)
            .await?;
        Ok(())
    }
}
