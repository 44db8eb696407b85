//! Reaching a connected account: its settings and sealed secret turned into a [`ScanTarget`].

use serde_json::Value;
use trustplane_keyring::Sealer;
use trustplane_store::{CloudAccount, Store, StoreError};

use crate::ScanTarget;

/// Turns connection ids into the targets the ports are called with, opening sealed secrets
/// for the one call only. Cheap to clone.
#[derive(Clone)]
pub struct Connections {
    store: Store,
    sealer: Sealer,
}

impl Connections {
    /// Over a node's store and master key.
    pub fn new(store: Store, sealer: Sealer) -> Self {
        Connections { store, sealer }
    }

    /// The master key the secrets are sealed with.
    pub(crate) fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Seals an Azure client secret, bound to the account it belongs to.
    pub fn seal_secret(
        &self,
        provider: &str,
        account: &str,
        secret: &str,
    ) -> Result<String, StoreError> {
        self.sealer
            .seal(&secret_context(provider, account), secret.as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// How to reach a connected account (its secret opened for this call only).
    pub async fn connection(&self, id: &str) -> Result<ScanTarget, String> {
        let (account, sealed) = self
            .store
            .cloud_account_with_secret(id)
            .await
            .map_err(|e| e.to_string())?;
        self.target(&account, sealed.as_deref())
    }

    /// The target of a stored account, given its sealed secret.
    pub(crate) fn target(
        &self,
        account: &CloudAccount,
        sealed: Option<&str>,
    ) -> Result<ScanTarget, String> {
        let s = &account.settings;
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        match account.provider.as_str() {
            "aws" => Ok(ScanTarget::Aws {
                account_id: account.account.clone(),
                role_arn: text("roleArn"),
                regions: s
                    .get("regions")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                endpoint_url: text("endpointUrl"),
            }),
            "azure" => {
                let sealed = sealed.ok_or("no client secret is stored for this subscription")?;
                let secret = self
                    .sealer
                    .open(&secret_context(&account.provider, &account.account), sealed)
                    .map_err(|e| e.to_string())?;
                Ok(ScanTarget::Azure {
                    subscription_id: account.account.clone(),
                    tenant_id: text("tenantId").ok_or("no tenantId")?,
                    client_id: text("clientId").ok_or("no clientId")?,
                    client_secret: String::from_utf8(secret)
                        .map_err(|_| "the stored client secret is not text")?,
                    arm_endpoint: text("armEndpoint"),
                    graph_endpoint: text("graphEndpoint"),
                    login_endpoint: text("loginEndpoint"),
                })
            }
            other => Err(format!("unknown provider `{other}`")),
        }
    }
}

fn secret_context(provider: &str, account: &str) -> String {
    format!("cloud-secret:{provider}:{account}")
}
