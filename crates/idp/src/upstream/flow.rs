//! Providers in the store and the authorization code flow through one of them.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use trustplane_authn as authn;
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, User};
use trustplane_store::{IdentityProvider, NewIdentityProvider, NewUser, Store, StoreError};

use super::claims::{asserted, domain_of, Asserted};
use super::client::ProviderClient;
use super::id_token::{self, Expected, IdTokenError};
use super::settings::{LinkBy, NewProvider, ProviderSettings};
use super::{UpstreamError, CALLBACK_PATH, STARTED_TTL_MS};
use crate::oidc::jwt::b64;
use crate::signin::{FirstFactor, FirstStep, SignIn};
use crate::{ClientApp, RequestContext};

/// The pending step's kind for a started upstream sign-in.
const STARTED_KIND: &str = "upstreamSignIn";
/// Longest `state` or `code` accepted back from the browser.
const MAX_PARAM_LEN: usize = 4096;

/// A started sign-in: where to send the browser, and the value that binds it to the browser
/// (to set as the [`BINDING_COOKIE`](super::BINDING_COOKIE)).
#[derive(Debug)]
pub struct Started {
    /// The provider's authorization URL with this sign-in's parameters.
    pub authorization_url: String,
    /// The browser binding.
    pub binding: String,
}

/// A finished upstream sign-in.
pub struct Finished {
    /// Signed in, or on to the second factor.
    pub step: FirstStep,
    /// Where to go afterwards (a local path, checked when the sign-in started).
    pub next: String,
}

/// Upstream providers over a node's store and master key.
pub struct Upstream {
    store: Store,
    sealer: Sealer,
    client: ProviderClient,
    redirect_uri: String,
}

fn seal_context(name: &str) -> String {
    format!("identityProvider:{}", name.to_lowercase())
}

impl Upstream {
    /// Over a store and the master key; `origin` is the node's public URL.
    pub fn new(store: Store, sealer: Sealer, origin: &str) -> Self {
        Upstream {
            store,
            sealer,
            client: ProviderClient::new(),
            redirect_uri: format!("{}{CALLBACK_PATH}", origin.trim_end_matches('/')),
        }
    }

    /// The redirect URI to register at the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Validates and stores a provider; its secret is sealed.
    pub async fn create(
        &self,
        actor: &Actor,
        new: NewProvider,
    ) -> Result<IdentityProvider, UpstreamError> {
        let valid = new.validate()?;
        let sealed = self
            .sealer
            .seal(
                &seal_context(&valid.display_name),
                new.client_secret.as_bytes(),
            )
            .map_err(|_| UpstreamError::Secret)?;
        let settings = serde_json::to_value(&valid.settings).unwrap_or(Value::Null);
        Ok(self
            .store
            .create_identity_provider(
                actor,
                NewIdentityProvider {
                    provider_type: "oidc".into(),
                    display_name: valid.display_name,
                    issuer: valid.issuer,
                    client_id: valid.client_id,
                    domains: valid.domains,
                    settings,
                    sealed_client_secret: sealed,
                },
            )
            .await?)
    }

    /// Reads the provider's discovery document and keys: what a test of the settings shows.
    pub async fn test(&self, id_or_name: &str) -> Result<Value, UpstreamError> {
        let provider = self.store.get_identity_provider(id_or_name).await?;
        let metadata = self.client.discover(&provider.issuer).await?;
        let (_, jwks) = self
            .client
            .metadata(&provider.issuer, self.store.clock().now_ms())
            .await?;
        Ok(json!({
            "issuer": provider.issuer,
            "authorizationEndpoint": metadata.authorization_endpoint,
            "tokenEndpoint": metadata.token_endpoint,
            "jwksUri": metadata.jwks_uri,
            "signingKeys": jwks["keys"].as_array().map_or(0, Vec::len),
            "redirectUri": self.redirect_uri,
        }))
    }

    /// Home-realm discovery: the provider the sign-in name's domain belongs to.
    pub async fn home_realm(
        &self,
        username: &str,
    ) -> Result<Option<IdentityProvider>, UpstreamError> {
        let Some(domain) = domain_of(username) else {
            return Ok(None);
        };
        if domain.len() > 253 {
            return Ok(None);
        }
        Ok(self.store.identity_provider_for_domain(&domain).await?)
    }

    /// Starts a sign-in at the provider: a fresh `state`, `nonce` and PKCE verifier, kept
    /// (single use, for [`STARTED_TTL_MS`]) with a hash of the browser binding.
    pub async fn start(
        &self,
        id_or_name: &str,
        login_hint: Option<&str>,
        next: &str,
    ) -> Result<Started, UpstreamError> {
        let provider = self.store.get_identity_provider(id_or_name).await?;
        let settings = provider_settings(&provider)?;
        let (metadata, _) = self
            .client
            .metadata(&provider.issuer, self.store.clock().now_ms())
            .await?;
        let (state, state_hash) = authn::new_session_token();
        let (nonce, _) = authn::new_session_token();
        let (verifier, _) = authn::new_session_token();
        let (binding, binding_hash) = authn::new_session_token();
        let challenge = b64(&Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(&metadata.authorization_endpoint)
            .map_err(|_| UpstreamError::Provider("bad authorization_endpoint".into()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &provider.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &settings.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint.filter(|h| !h.is_empty() && h.len() <= 256) {
                q.append_pair("login_hint", hint);
            }
        }
        let data = json!({
            "provider": provider.id,
            "nonce": nonce,
            "verifier": verifier,
            "binding": binding_hash,
            "next": next,
        });
        self.store
            .put_pending(
                &state_hash,
                STARTED_KIND,
                None,
                &data.to_string(),
                STARTED_TTL_MS,
            )
            .await?;
        Ok(Started {
            authorization_url: url.into(),
            binding,
        })
    }

    /// The browser is back with `state` and `code`: the code is redeemed, the ID token
    /// checked, the person found (or created, or refused), and the sign-in goes on as any
    /// other. Every refusal is in the sign-in log, and creates nothing.
    pub async fn finish(
        &self,
        signin: &SignIn,
        ctx: &RequestContext,
        state: &str,
        code: &str,
        binding: Option<&str>,
    ) -> Result<Finished, UpstreamError> {
        signin.limit_ip(ctx)?;
        if state.is_empty() || state.len() > MAX_PARAM_LEN || code.len() > MAX_PARAM_LEN {
            return Err(UpstreamError::Expired);
        }
        // Taken, not read: a state works once, whatever happens next.
        let Some((_, data)) = self
            .store
            .take_pending(&authn::hash_session_token(state), STARTED_KIND)
            .await?
        else {
            return Err(UpstreamError::Expired);
        };
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let field = |k: &str| data[k].as_str().unwrap_or_default().to_string();
        let bound = binding.is_some_and(|b| {
            bool::from(
                authn::hash_session_token(b)
                    .as_bytes()
                    .ct_eq(field("binding").as_bytes()),
            )
        });
        if !bound {
            return Err(UpstreamError::Expired);
        }
        let next = field("next");
        let (provider, sealed) = self
            .store
            .identity_provider_with_secret(&field("provider"))
            .await?;
        let attempted_name = format!("({})", provider.display_name);
        let attempted = attempted_name.as_str();
        let fail = |reason: String| async move {
            signin
                .log(
                    ctx,
                    ClientApp::Browser,
                    None,
                    attempted,
                    &[FirstFactor::FEDERATED.method],
                    Some(&reason),
                    None,
                )
                .await?;
            Ok::<UpstreamError, UpstreamError>(UpstreamError::Refused(reason))
        };
        if code.is_empty() {
            return Err(fail("the provider sent no code".into()).await?);
        }
        let secret = self
            .sealer
            .open(&seal_context(&provider.display_name), &sealed)
            .ok()
            .and_then(|s| String::from_utf8(s).ok())
            .ok_or(UpstreamError::Secret)?;
        let now_ms = self.store.clock().now_ms();
        let (metadata, jwks) = self.client.metadata(&provider.issuer, now_ms).await?;
        let token = match self
            .client
            .redeem(
                &metadata.token_endpoint,
                &provider.client_id,
                &secret,
                code,
                &field("verifier"),
                &self.redirect_uri,
            )
            .await
        {
            Ok(t) => t,
            Err(UpstreamError::Refused(reason)) => return Err(fail(reason).await?),
            Err(e) => return Err(e),
        };
        let nonce = field("nonce");
        let expected = Expected {
            issuer: &provider.issuer,
            client_id: &provider.client_id,
            nonce: &nonce,
            now_ms,
        };
        let claims = match id_token::validate(&token, &jwks, &expected) {
            // A key not seen yet: the provider may have rotated; fetch its keys once more.
            Err(IdTokenError::UnknownKey) => {
                match self.client.refresh_keys(&provider.issuer, now_ms).await? {
                    Some(fresh) => id_token::validate(&token, &fresh, &expected),
                    None => Err(IdTokenError::UnknownKey),
                }
            }
            other => other,
        };
        let claims = match claims {
            Ok(c) => c,
            Err(e) => return Err(fail(e.to_string()).await?),
        };
        let settings = provider_settings(&provider)?;
        let Some(person) = asserted(&claims, &settings.claim_mapping) else {
            return Err(fail("the ID token has no usable subject claim".into()).await?);
        };
        let user = match self.user_for(&provider, &settings, &person).await? {
            Ok(user) => user,
            Err(reason) => return Err(fail(reason).await?),
        };
        if !user.account_enabled {
            signin
                .log(
                    ctx,
                    ClientApp::Browser,
                    Some(&user),
                    &user.user_principal_name,
                    &[FirstFactor::FEDERATED.method],
                    Some("account disabled"),
                    None,
                )
                .await?;
            return Err(UpstreamError::Refused("account disabled".into()));
        }
        signin.refund_ip(ctx);
        let step = self
            .sign_in(signin, ctx, &user, settings.trust_mfa && person.mfa)
            .await?;
        Ok(Finished { step, next })
    }

    /// Conditional access and the session. The provider's MFA counts for the MFA control
    /// only when the administrator trusts it; otherwise a local second factor is asked for,
    /// as after a password.
    async fn sign_in(
        &self,
        signin: &SignIn,
        ctx: &RequestContext,
        user: &User,
        trusted_mfa: bool,
    ) -> Result<FirstStep, UpstreamError> {
        let client = ClientApp::Browser;
        if trusted_mfa {
            let decision = signin.decide_sign_in(user, client, ctx, &["mfa"]).await?;
            if decision.outcome != trustplane_access::Outcome::Block && decision.required.is_empty()
            {
                let issued = signin
                    .issue(
                        user,
                        ctx,
                        client,
                        vec!["fed".into(), "mfa".into()],
                        true,
                        &[FirstFactor::FEDERATED.method, "upstreamMfa"],
                        None,
                        Some(&decision.log),
                    )
                    .await?;
                return Ok(FirstStep::Done(Box::new(issued)));
            }
        }
        let decision = signin.decide_sign_in(user, client, ctx, &[]).await?;
        let factors = signin.second_factors(&user.id).await?.len();
        Ok(signin
            .after_first_factor(
                ctx,
                client,
                user,
                FirstFactor::FEDERATED,
                &decision,
                i64::try_from(factors).unwrap_or(i64::MAX),
            )
            .await?)
    }

    /// The user an upstream identity signs in as: its link, else a new link by the
    /// provider's `linkBy`, else a user created just in time. `Ok(Err(reason))`: refused.
    async fn user_for(
        &self,
        provider: &IdentityProvider,
        settings: &ProviderSettings,
        person: &Asserted,
    ) -> Result<Result<User, String>, UpstreamError> {
        if let Some(id) = self
            .store
            .external_identity_user(&provider.id, &person.subject)
            .await?
        {
            return Ok(Ok(self.store.get_user(&id).await?));
        }
        let actor = Actor {
            id: provider.id.clone(),
            display_name: Some(format!("identity provider {}", provider.display_name)),
            ip_address: None,
            user_agent: None,
        };
        // A name the provider asserts counts only inside its own domains.
        let upn = person
            .user_principal_name
            .clone()
            .filter(|u| domain_of(u).is_some_and(|d| provider.domains.contains(&d)));
        let existing = match &upn {
            Some(u) => match self.store.get_user(u).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let linked = match settings.link_by {
            LinkBy::DirectoryAnchor => {
                let Some(anchor) = &person.anchor else {
                    return Ok(Err("the ID token has no directory anchor claim".into()));
                };
                match self.store.users_by_source_anchor(anchor).await?.as_slice() {
                    [one] => Some(self.store.get_user(one).await?),
                    [] => None,
                    _ => return Ok(Err("the directory anchor matches several users".into())),
                }
            }
            LinkBy::UserPrincipalName => existing.clone(),
            LinkBy::None => None,
        };
        if let Some(user) = linked {
            return match self
                .store
                .link_external_identity(&actor, &provider.id, &person.subject, &user)
                .await
            {
                Ok(()) => Ok(Ok(user)),
                Err(StoreError::Conflict(m)) => Ok(Err(m)),
                Err(e) => Err(e.into()),
            };
        }
        if existing.is_some() {
            return Ok(Err(
                "the asserted userPrincipalName belongs to a user this identity is not linked to"
                    .into(),
            ));
        }
        if !settings.jit_provisioning {
            return Ok(Err("no user is linked to this identity".into()));
        }
        let Some(upn) = upn else {
            return Ok(Err(
                "the ID token asserts no userPrincipalName in the provider's domains".into(),
            ));
        };
        let new = NewUser {
            display_name: person.display_name.clone().unwrap_or_else(|| upn.clone()),
            user_principal_name: upn,
            mail: person.mail.clone(),
            given_name: person.given_name.clone(),
            surname: person.surname.clone(),
            account_enabled: true,
            ..Default::default()
        };
        match self
            .store
            .create_external_user(&actor, &provider.id, &person.subject, new)
            .await
        {
            Ok(user) => Ok(Ok(user)),
            Err(StoreError::Conflict(m)) => Ok(Err(m)),
            Err(StoreError::Invalid { message, .. }) => Ok(Err(message)),
            Err(e) => Err(e.into()),
        }
    }
}

fn provider_settings(provider: &IdentityProvider) -> Result<ProviderSettings, UpstreamError> {
    serde_json::from_value(provider.settings.clone()).map_err(|e| {
        UpstreamError::Store(StoreError::Corrupt(format!(
            "identity provider settings: {e}"
        )))
    })
}
