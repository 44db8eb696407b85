//! Responses to alerts: the actions a policy or an analyst takes, and signed webhooks.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use trustplane_model::{Actor, RequestState};
use trustplane_store::{level_rank, Alert, RequestChange, StoreError, UserPatch};

use crate::Detection;

impl Detection {
    pub(crate) async fn respond_automatically(&self, alert: &Alert) -> Result<(), StoreError> {
        for (policy, secret) in self.store.response_policies().await? {
            let applies = policy.automatic
                && level_rank(&alert.level) >= level_rank(&policy.min_level)
                && policy
                    .rule_id
                    .as_ref()
                    .is_none_or(|r| Some(r) == alert.rule_id.as_ref());
            if applies {
                self.act(
                    &Actor::system(),
                    alert,
                    &policy.action,
                    policy.webhook_url.as_deref(),
                    secret.as_deref(),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Takes one action on an alert (by hand, or for an automatic policy) and records it.
    pub async fn act(
        &self,
        actor: &Actor,
        alert: &Alert,
        action: &str,
        webhook_url: Option<&str>,
        sealed_secret: Option<&str>,
    ) -> Result<String, StoreError> {
        let outcome = match (action, &alert.person_id) {
            ("endSessions", Some(person)) => {
                let n = self.store.revoke_all_sessions(actor, person).await?;
                format!("ended {n} sessions")
            }
            ("disableUser", Some(person)) => {
                self.store
                    .update_user(
                        actor,
                        person,
                        UserPatch {
                            account_enabled: Some(false),
                            ..Default::default()
                        },
                    )
                    .await?;
                "user disabled".to_string()
            }
            ("endElevations", Some(person)) => {
                // The PIM job takes the grants back within seconds of the requests ending.
                let reason = format!("ended in response to alert {}", alert.id);
                let mut n = 0;
                for r in self
                    .store
                    .list_pim_requests(Some(person), &[RequestState::Active])
                    .await?
                {
                    let change = RequestChange {
                        end_at: Some(self.store.clock().now_ms()),
                        ..RequestChange::to(RequestState::Revoked, Some(reason.clone()))
                    };
                    if self
                        .store
                        .transition_pim_request(
                            actor,
                            &r.id,
                            &[RequestState::Active],
                            change,
                            "pim.activation.revoke",
                        )
                        .await
                        .is_ok()
                    {
                        n += 1;
                    }
                }
                format!("ended {n} elevations")
            }
            ("endSessions" | "disableUser" | "endElevations", None) => {
                "no person to act on".to_string()
            }
            ("webhook", _) => match webhook_url {
                Some(url) => self.webhook(url, sealed_secret, alert).await,
                None => "no webhook URL".to_string(),
            },
            (other, _) => {
                return Err(StoreError::Invalid {
                    field: "action",
                    message: format!("unknown action `{other}`"),
                })
            }
        };
        self.store
            .record_response(actor, &alert.id, action, &outcome)
            .await?;
        Ok(outcome)
    }

    /// POSTs the alert as JSON, signed with HMAC-SHA256 in `X-Trustplane-Signature`.
    async fn webhook(&self, url: &str, sealed_secret: Option<&str>, alert: &Alert) -> String {
        let body = serde_json::to_vec(&json!({ "alert": alert })).unwrap_or_default();
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .timeout(std::time::Duration::from_secs(10));
        if let Some(secret) = sealed_secret.and_then(|s| self.sealer.open("webhook", s).ok()) {
            if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&secret) {
                mac.update(&body);
                req = req.header(
                    "x-trustplane-signature",
                    format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
                );
            }
        }
        match req.body(body).send().await {
            Ok(r) if r.status().is_success() => format!("webhook answered {}", r.status().as_u16()),
            Ok(r) => format!("webhook failed with {}", r.status().as_u16()),
            Err(e) => format!("webhook failed: {e}"),
        }
    }

    /// Seals a webhook secret for storage.
    pub fn seal_secret(&self, secret: &str) -> Result<String, StoreError> {
        self.sealer
            .seal("webhook", secret.as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
