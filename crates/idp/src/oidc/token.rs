//! The token endpoint: authorization code (with PKCE), refresh token (rotated at every use; a
//! rotated token presented again revokes its whole grant), client credentials, and the legacy
//! password grant for clients that enable it.
//!
//! Every answer is recorded: what was issued (token ids, the grant, the user's roles, the
//! conditional-access decision) or why it was refused.

use serde_json::{json, Value};
use trustplane_access::Outcome as CaOutcome;
use trustplane_model::User;
use trustplane_store::{AuthCode, Authentication, CodeUse, Grant, NewRefreshToken, StoreError};

use super::audit::{self, Record};
use super::client_auth::{self, ClientRequest, Params};
use super::clients::{Client, GrantType, USER_SCOPES};
use super::error::OAuthError;
use super::grant::{grant_session, pkce_ok, split_scopes};
use super::tokens::{self, Minted};
use super::{Oidc, TOKEN_PATH};
use crate::ca::CaDecision;
use crate::signin::{FirstStep, SignIn, SignInError};
use crate::{ClientApp, RequestContext};

/// Longest life of a grant (its refresh tokens slide within it).
const GRANT_MAX_TTL_MS: i64 = 90 * 24 * 3600 * 1000;

/// A refusal and what is known about it for the audit trail.
struct Refused {
    error: OAuthError,
    user: Option<User>,
    decision: Option<CaDecision>,
    /// An entry was already written (a replay, with its revocation).
    recorded: bool,
}

impl From<OAuthError> for Refused {
    fn from(error: OAuthError) -> Self {
        Refused {
            error,
            user: None,
            decision: None,
            recorded: false,
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        OAuthError::from(e).into()
    }
}

impl Refused {
    fn with_user(mut self, user: &User) -> Self {
        self.user = Some(user.clone());
        self
    }
}

/// What one answer issued to a user, for its audit entry.
struct IssuedTokens<'a> {
    grant_type: &'a str,
    grant_id: &'a str,
    scopes: &'a [String],
    minted: &'a Minted,
    refresh: bool,
    decision: Option<&'a CaDecision>,
}

/// One token request.
struct Exchange<'a> {
    oidc: &'a Oidc,
    signin: &'a SignIn,
    ctx: &'a RequestContext,
    params: &'a Params,
    client: &'a Client,
    now: i64,
}

/// A request to the token endpoint (`POST /oauth2/token`): authenticates the client, runs the
/// grant and answers the token response's JSON body. Every answer, issued or refused, is in the
/// audit trail before it is returned.
pub async fn exchange(
    oidc: &Oidc,
    signin: &SignIn,
    ctx: &RequestContext,
    req: ClientRequest<'_>,
) -> Result<Value, OAuthError> {
    let parsed = client_auth::require_form(req.content_type).and_then(|()| Params::parse(req.body));
    let params = match parsed {
        Ok(p) => p,
        Err(e) => return Err(refused(oidc, ctx, None, None, "", e.into()).await),
    };
    let grant_type = params.get("grant_type").unwrap_or_default().to_string();
    let claimed = client_auth::claimed_client_id(req.authorization, &params);
    let client =
        match client_auth::authenticate(oidc, req.authorization, &params, &oidc.url(TOKEN_PATH))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return Err(
                    refused(oidc, ctx, None, claimed.as_deref(), &grant_type, e.into()).await,
                )
            }
        };
    let x = Exchange {
        oidc,
        signin,
        ctx,
        params: &params,
        client: &client,
        now: oidc.store().clock().now_ms(),
    };
    let result = match grant_type.as_str() {
        "authorization_code" => x.authorization_code().await,
        "refresh_token" => x.refresh_token().await,
        "client_credentials" => x.client_credentials().await,
        "password" => x.password().await,
        "" => Err(OAuthError::invalid_request("grant_type is missing").into()),
        _ => Err(OAuthError::unsupported_grant_type(
            "supported: authorization_code, refresh_token, client_credentials",
        )
        .into()),
    };
    match result {
        Ok(body) => Ok(body),
        Err(e) => Err(refused(oidc, ctx, Some(&client), None, &grant_type, e).await),
    }
}

/// Records a refusal (unless already recorded) and gives the error to answer.
async fn refused(
    oidc: &Oidc,
    ctx: &RequestContext,
    client: Option<&Client>,
    claimed: Option<&str>,
    grant_type: &str,
    r: Refused,
) -> OAuthError {
    if !r.recorded {
        let roles = match &r.user {
            Some(u) => audit::roles_of(oidc.store(), &u.id)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let event = audit::event(Record {
            activity: "oidc.token.refuse",
            client,
            client_id: claimed,
            actor: match &r.user {
                Some(u) => audit::user_actor(u, ctx),
                None => audit::client_actor(client, claimed, ctx),
            },
            failure: Some(format!("{}: {}", r.error.code, r.error.description)),
            details: json!({
                "grantType": grant_type.chars().take(64).collect::<String>(),
                "error": r.error.code,
                "roles": roles,
                "conditionalAccess": r.decision.as_ref().map(audit::decision_json),
            }),
        });
        if let Err(e) = oidc.audit.record(event).await {
            tracing::error!(error = %e, "cannot record a refused token request");
            return OAuthError::server_error();
        }
    }
    r.error
}

fn response(minted: &Minted, scopes: &[String], refresh: Option<&str>) -> Value {
    let mut body = json!({
        "access_token": minted.access_token,
        "token_type": "Bearer",
        "expires_in": minted.expires_in,
    });
    if !scopes.is_empty() {
        body["scope"] = json!(scopes.join(" "));
    }
    if let Some(id) = &minted.id_token {
        body["id_token"] = json!(id);
    }
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    body
}

impl Exchange<'_> {
    async fn user(&self, user_id: &str) -> Result<User, Refused> {
        match self.oidc.store().get_user(user_id).await {
            Ok(u) if u.account_enabled => Ok(u),
            Ok(u) => {
                Err(Refused::from(OAuthError::invalid_grant("the user is disabled")).with_user(&u))
            }
            Err(StoreError::NotFound { .. }) => {
                Err(OAuthError::invalid_grant("the user no longer exists").into())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn new_refresh(&self, grant_expires_at: i64) -> (String, NewRefreshToken) {
        let (token, token_hash) = trustplane_authn::new_session_token();
        let expires_at = (self.now + self.client.refresh_ttl_ms).min(grant_expires_at);
        (
            token,
            NewRefreshToken {
                token_hash,
                expires_at,
            },
        )
    }

    /// The audit entry of tokens issued to a user.
    async fn issued_event(
        &self,
        user: &User,
        what: IssuedTokens<'_>,
    ) -> Result<trustplane_model::Event, Refused> {
        let roles = audit::roles_of(self.oidc.store(), &user.id).await?;
        Ok(audit::event(Record {
            activity: "oidc.token.issue",
            client: Some(self.client),
            client_id: None,
            actor: audit::user_actor(user, self.ctx),
            failure: None,
            details: json!({
                "grantType": what.grant_type,
                "grantId": what.grant_id,
                "scope": what.scopes.join(" "),
                "jti": what.minted.jti,
                "idToken": what.minted.id_token.is_some(),
                "refreshToken": what.refresh,
                "roles": roles,
                "conditionalAccess": what.decision.map(audit::decision_json),
            }),
        }))
    }

    /// Stores a new grant with its first refresh token (when the client may refresh) and the
    /// audit entry of what was issued, and answers the token response. A sign-in that ended
    /// meanwhile (signed out, revoked, the user disabled) gets nothing.
    async fn begin_grant(
        &self,
        user: &User,
        grant: &Grant,
        scopes: &[String],
        minted: &Minted,
        grant_type: &'static str,
        decision: Option<&CaDecision>,
    ) -> Result<Value, Refused> {
        let refresh = self
            .client
            .allows(GrantType::RefreshToken)
            .then(|| self.new_refresh(grant.expires_at));
        let event = self
            .issued_event(
                user,
                IssuedTokens {
                    grant_type,
                    grant_id: &grant.id,
                    scopes,
                    minted,
                    refresh: refresh.is_some(),
                    decision,
                },
            )
            .await?;
        if !self
            .oidc
            .store()
            .start_grant(grant, refresh.as_ref().map(|(_, r)| r), event)
            .await?
        {
            return Err(Refused::from(OAuthError::invalid_grant(
                "the sign-in has ended (signed out, revoked, a new password, or the user disabled)",
            ))
            .with_user(user));
        }
        Ok(response(
            minted,
            scopes,
            refresh.as_ref().map(|(t, _)| t.as_str()),
        ))
    }

    async fn authorization_code(&self) -> Result<Value, Refused> {
        if !self.client.allows(GrantType::AuthorizationCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the authorization_code grant",
            )
            .into());
        }
        let code = self.params.require("code")?;
        let redirect_uri = self.params.require("redirect_uri")?;
        let code_hash = trustplane_authn::hash_session_token(code);
        let client = self.client;
        let ctx = self.ctx;
        let on_replay = |c: &AuthCode| {
            audit::event(Record {
                activity: "oidc.code.replay",
                client: Some(client),
                client_id: None,
                actor: audit::client_actor(Some(client), None, ctx),
                failure: Some(
                    "invalid_grant: the authorization code was used before; every token issued from it is revoked"
                        .into(),
                ),
                details: json!({
                    "grantType": "authorization_code",
                    "grantId": c.grant_id,
                    "userId": c.authentication.user_id,
                }),
            })
        };
        let code = match self
            .oidc
            .store()
            .use_code(&code_hash, &self.client.app.id, on_replay)
            .await?
        {
            CodeUse::Unknown => {
                return Err(OAuthError::invalid_grant("the code is not valid").into())
            }
            // Checked before the code is spent: the client it was issued to can still use it.
            CodeUse::OtherClient => {
                return Err(
                    OAuthError::invalid_grant("the code was issued to another client").into(),
                )
            }
            CodeUse::Replayed(_) => {
                return Err(Refused {
                    recorded: true,
                    ..OAuthError::invalid_grant("the code was used before").into()
                })
            }
            CodeUse::First(c) => c,
        };
        if self.now >= code.expires_at {
            return Err(OAuthError::invalid_grant("the code has expired").into());
        }
        if code.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            )
            .into());
        }
        match (&code.code_challenge, self.params.get("code_verifier")) {
            (Some(challenge), Some(verifier)) if pkce_ok(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return Err(
                    OAuthError::invalid_grant("the PKCE code_verifier does not match").into(),
                )
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant("code_verifier is missing").into())
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier sent for a code issued without PKCE",
                )
                .into())
            }
            (None, None) => {}
        }
        let user = self.user(&code.authentication.user_id).await?;
        let scopes = split_scopes(&code.scope);
        let minted = tokens::mint(
            self.oidc,
            tokens::Request {
                client: self.client,
                user: Some(&user),
                authentication: Some(&code.authentication),
                scopes: &scopes,
                grant_id: Some(&code.grant_id),
                nonce: code.nonce.as_deref(),
            },
        )
        .await?;
        let grant = Grant {
            id: code.grant_id.clone(),
            application_id: self.client.app.id.clone(),
            scope: code.scope.clone(),
            nonce: code.nonce.clone(),
            authentication: code.authentication.clone(),
            created_at: self.now,
            expires_at: self.now + GRANT_MAX_TTL_MS,
            revoked_at: None,
        };
        self.begin_grant(&user, &grant, &scopes, &minted, "authorization_code", None)
            .await
    }

    async fn refresh_token(&self) -> Result<Value, Refused> {
        if !self.client.allows(GrantType::RefreshToken) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the refresh_token grant",
            )
            .into());
        }
        let presented = self.params.require("refresh_token")?;
        let old_hash = trustplane_authn::hash_session_token(presented);
        let Some((old, grant)) = self.oidc.store().refresh_token(&old_hash).await? else {
            return Err(OAuthError::invalid_grant("the refresh token is not valid").into());
        };
        if grant.application_id != self.client.app.id {
            return Err(OAuthError::invalid_grant("the refresh token is not valid").into());
        }
        if old.rotated_at.is_some() {
            return Err(self.reuse(&grant).await);
        }
        if grant.revoked_at.is_some() {
            return Err(OAuthError::invalid_grant("the refresh token was revoked").into());
        }
        if self.now >= old.expires_at || self.now >= grant.expires_at {
            return Err(OAuthError::invalid_grant("the refresh token has expired").into());
        }
        let granted = split_scopes(&grant.scope);
        let scopes = match self.params.get("scope") {
            None => granted,
            Some(s) => {
                let asked = split_scopes(s);
                if asked.iter().any(|a| !granted.contains(a)) {
                    return Err(OAuthError::invalid_scope(
                        "a refresh can only narrow the granted scopes",
                    )
                    .into());
                }
                asked
            }
        };
        let user = self.user(&grant.authentication.user_id).await?;
        // The same policies as at sign-in, for the sign-in this grant came from.
        let session = grant_session(&grant, self.now);
        let decision = self
            .signin
            .authorize_app(&session, &user, self.client.client_id(), self.ctx)
            .await?;
        if decision.outcome != CaOutcome::Allow {
            let why = if decision.outcome == CaOutcome::Block {
                format!(
                    "blocked by conditional access: {}",
                    decision.blocking.join(", ")
                )
            } else {
                "conditional access now requires more than this sign-in proved: sign in again"
                    .to_string()
            };
            return Err(Refused {
                error: OAuthError::invalid_grant(why),
                user: Some(user),
                decision: Some(decision),
                recorded: false,
            });
        }
        let minted = tokens::mint(
            self.oidc,
            tokens::Request {
                client: self.client,
                user: Some(&user),
                authentication: Some(&grant.authentication),
                scopes: &scopes,
                grant_id: Some(&grant.id),
                nonce: None,
            },
        )
        .await?;
        let (token, new) = self.new_refresh(grant.expires_at);
        let event = self
            .issued_event(
                &user,
                IssuedTokens {
                    grant_type: "refresh_token",
                    grant_id: &grant.id,
                    scopes: &scopes,
                    minted: &minted,
                    refresh: true,
                    decision: Some(&decision),
                },
            )
            .await?;
        if !self
            .oidc
            .store()
            .rotate_refresh_token(&old_hash, &grant.id, &new, event)
            .await?
        {
            // Revoked meanwhile (its sessions ended, say), or rotated by a concurrent request.
            if self
                .oidc
                .store()
                .grant(&grant.id)
                .await?
                .is_none_or(|g| g.revoked_at.is_some())
            {
                return Err(OAuthError::invalid_grant("the refresh token was revoked").into());
            }
            return Err(self.reuse(&grant).await);
        }
        Ok(response(&minted, &scopes, Some(&token)))
    }

    /// A rotated refresh token came back: someone holds a copy. The whole grant goes.
    async fn reuse(&self, grant: &Grant) -> Refused {
        let event = audit::event(Record {
            activity: "oidc.refresh.reuse",
            client: Some(self.client),
            client_id: None,
            actor: audit::client_actor(Some(self.client), None, self.ctx),
            failure: Some(
                "invalid_grant: a rotated refresh token was presented again; the grant is revoked"
                    .into(),
            ),
            details: json!({
                "grantType": "refresh_token",
                "grantId": grant.id,
                "userId": grant.authentication.user_id,
            }),
        });
        match self
            .oidc
            .store()
            .revoke_grant(&grant.id, "refresh token reused", event)
            .await
        {
            Ok(_) => Refused {
                recorded: true,
                ..OAuthError::invalid_grant("the refresh token was used before").into()
            },
            Err(e) => e.into(),
        }
    }

    async fn client_credentials(&self) -> Result<Value, Refused> {
        if !self.client.allows(GrantType::ClientCredentials) || self.client.public {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the client_credentials grant",
            )
            .into());
        }
        let scopes = split_scopes(self.params.get("scope").unwrap_or_default());
        for s in &scopes {
            if USER_SCOPES.contains(&s.as_str()) || !self.client.scopes.contains(s) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope `{}` cannot be granted to the client itself",
                    s.chars().take(64).collect::<String>()
                ))
                .into());
            }
        }
        // Policies that target this application's service identity apply.
        let decision = self
            .signin
            .ca
            .decide_workload(&self.client.app.id, self.client.client_id(), self.ctx)
            .await?;
        if decision.outcome != CaOutcome::Allow {
            return Err(Refused {
                error: OAuthError::invalid_grant(format!(
                    "blocked by conditional access: {}",
                    decision.blocking.join(", ")
                )),
                user: None,
                decision: Some(decision),
                recorded: false,
            });
        }
        let minted = tokens::mint(
            self.oidc,
            tokens::Request {
                client: self.client,
                user: None,
                authentication: None,
                scopes: &scopes,
                grant_id: None,
                nonce: None,
            },
        )
        .await?;
        let event = audit::event(Record {
            activity: "oidc.token.issue",
            client: Some(self.client),
            client_id: None,
            actor: audit::client_actor(Some(self.client), None, self.ctx),
            failure: None,
            details: json!({
                "grantType": "client_credentials",
                "scope": scopes.join(" "),
                "jti": minted.jti,
                "conditionalAccess": audit::decision_json(&decision),
            }),
        });
        self.oidc.audit.record(event).await?;
        Ok(response(&minted, &scopes, None))
    }

    /// The resource-owner password grant: a legacy, password-only sign-in (client app type
    /// `other`), so conditional access treats it as legacy authentication.
    async fn password(&self) -> Result<Value, Refused> {
        if !self.client.password_grant {
            return Err(OAuthError::unauthorized_client(
                "the password grant is not enabled for this client",
            )
            .into());
        }
        let username = self.params.require("username")?;
        let password = self.params.require("password")?;
        let scopes = split_scopes(self.params.get("scope").unwrap_or_default());
        if let Some(s) = scopes.iter().find(|s| !self.client.scopes.contains(s)) {
            return Err(OAuthError::invalid_scope(format!(
                "scope `{}` is not allowed for this client",
                s.chars().take(64).collect::<String>()
            ))
            .into());
        }
        let issued = match self
            .signin
            .password(self.ctx, ClientApp::Other, username, password)
            .await
        {
            Ok(FirstStep::Done(issued)) => issued,
            Ok(FirstStep::SecondFactor { .. }) => {
                return Err(OAuthError::invalid_grant(
                    "a second factor is needed, which the password grant cannot provide",
                )
                .into())
            }
            Err(SignInError::Store(e)) => return Err(e.into()),
            Err(e @ (SignInError::Busy { .. } | SignInError::DirectoryUnavailable)) => {
                return Err(OAuthError::busy(e.to_string()).into())
            }
            Err(e @ SignInError::Blocked(_)) => {
                return Err(OAuthError::invalid_grant(e.to_string()).into())
            }
            Err(e) => return Err(OAuthError::invalid_grant(e.to_string()).into()),
        };
        // The legacy sign-in's session is not kept: nobody holds its cookie.
        self.signin.sign_out(&issued.token).await?;
        let user = issued.user;
        let decision = self
            .signin
            .authorize_app(&issued.session, &user, self.client.client_id(), self.ctx)
            .await?;
        if decision.outcome != CaOutcome::Allow {
            return Err(Refused {
                error: OAuthError::invalid_grant(format!(
                    "blocked by conditional access: {}",
                    decision.blocking.join(", ")
                )),
                user: Some(user),
                decision: Some(decision),
                recorded: false,
            });
        }
        let authentication = Authentication {
            user_id: user.id.clone(),
            session_id: None,
            auth_time: self.now,
            amr: vec!["pwd".into()],
            mfa_at: None,
            client_app: ClientApp::Other.as_str().into(),
        };
        let grant = Grant {
            id: trustplane_model::new_id(),
            application_id: self.client.app.id.clone(),
            scope: scopes.join(" "),
            nonce: None,
            authentication,
            created_at: self.now,
            expires_at: self.now + GRANT_MAX_TTL_MS,
            revoked_at: None,
        };
        let minted = tokens::mint(
            self.oidc,
            tokens::Request {
                client: self.client,
                user: Some(&user),
                authentication: Some(&grant.authentication),
                scopes: &scopes,
                grant_id: Some(&grant.id),
                nonce: None,
            },
        )
        .await?;
        self.begin_grant(&user, &grant, &scopes, &minted, "password", Some(&decision))
            .await
    }
}
