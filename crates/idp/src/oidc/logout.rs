//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): which client asks, whether its
//! `id_token_hint` is ours, and where the person may be sent back to (only a
//! `post_logout_redirect_uri` the client registered). The server asks the person to confirm
//! unless the hint names their current session, so a link planted elsewhere cannot sign
//! anyone out.

use serde_json::{json, Value};
use trustplane_model::{Actor, User};
use trustplane_store::Session;

use super::audit::{self, Record};
use super::client_auth::Params;
use super::clients::Client;
use super::Oidc;
use crate::signin::SignIn;
use crate::RequestContext;

/// A checked logout request.
pub struct LogoutRequest {
    /// Its parameters (the confirmation form sends them back).
    pub params: Params,
    /// The claims of the `id_token_hint`, an ID token we issued (expired ones are fine: they
    /// only say who it was).
    pub hint: Option<Value>,
    /// The client, named by `client_id` or by the hint's audience.
    pub client: Option<Client>,
    /// Where to send the person afterwards: a URI the client registered.
    pub target: Option<String>,
}

impl LogoutRequest {
    /// Checks a logout request's query or form. The error is safe to show the person.
    pub async fn check(oidc: &Oidc, raw: &[u8]) -> Result<Self, String> {
        let params = Params::parse(raw).map_err(|e| e.description)?;
        let hint = match params.get("id_token_hint") {
            None => None,
            Some(t) => match oidc.verify_own(t).await {
                Ok(jws) if jws.claims["iss"].as_str() == Some(oidc.issuer()) => Some(jws.claims),
                _ => return Err("id_token_hint is not an ID token issued here".into()),
            },
        };
        let hinted_client = hint.as_ref().and_then(|c| c["aud"].as_str());
        let client_id = match (params.get("client_id"), hinted_client) {
            (Some(a), Some(b)) if a != b => {
                return Err("client_id does not match the id_token_hint".into())
            }
            (Some(a), _) => Some(a),
            (None, b) => b,
        };
        let client = match client_id {
            None => None,
            Some(id) => match oidc.client(id).await {
                Ok(Some(c)) => Some(c),
                Ok(None) => return Err("the client is unknown".into()),
                Err(_) => return Err("the server cannot complete this request now".into()),
            },
        };
        let target = match params.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => match &client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => {
                    Some(uri.to_string())
                }
                Some(_) => {
                    return Err("post_logout_redirect_uri is not registered for this client".into())
                }
                None => {
                    return Err(
                        "post_logout_redirect_uri needs the client: send client_id or \
                                id_token_hint"
                            .into(),
                    )
                }
            },
        };
        Ok(LogoutRequest {
            params,
            hint,
            client,
            target,
        })
    }

    /// The client's id, as asked or as the hint names it.
    pub fn client_id(&self) -> Option<&str> {
        self.client.as_ref().map(|c| c.client_id())
    }

    /// Whether the hint is an ID token of this very session: then no confirmation is needed.
    pub fn hint_names_session(&self, session_id: &str) -> bool {
        self.hint
            .as_ref()
            .is_some_and(|h| h["sid"].as_str() == Some(session_id))
    }

    /// The URL to send the person to afterwards, with the request's `state`.
    pub fn redirect_url(&self) -> Option<Result<String, String>> {
        let uri = self.target.as_deref()?;
        Some(match url::Url::parse(uri) {
            Ok(mut url) => {
                if let Some(s) = self.params.get("state") {
                    url.query_pairs_mut().append_pair("state", s);
                }
                Ok(url.into())
            }
            Err(_) => Err("the redirect URI cannot be used".into()),
        })
    }

    /// Ends the session `token` (held by `user`) and records the logout.
    pub async fn sign_out(
        &self,
        oidc: &Oidc,
        signin: &SignIn,
        ctx: &RequestContext,
        token: &str,
        session: &Session,
        user: &User,
    ) -> Result<(), String> {
        if let Err(e) = signin.sign_out(token).await {
            tracing::error!(error = %e, "sign-out failed");
            return Err("the server cannot complete this request now".into());
        }
        let event = audit::event(Record {
            activity: "oidc.logout",
            client: self.client.as_ref(),
            client_id: self.client_id(),
            actor: Actor {
                id: user.id.clone(),
                display_name: Some(user.user_principal_name.clone()),
                ip_address: ctx.ip.map(|i| i.to_string()),
                user_agent: ctx.user_agent.clone(),
            },
            failure: None,
            details: json!({ "sessionId": session.info.id, "postLogoutRedirectUri": self.target }),
        });
        if let Err(e) = oidc.audit.record(event).await {
            tracing::error!(error = %e, "cannot record a logout");
        }
        Ok(())
    }
}
