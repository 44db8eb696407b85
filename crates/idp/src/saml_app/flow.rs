//! The identity provider's single sign-on flow, free of HTTP.
//!
//! A request is checked first (known SP, registered ACS, signature when required, fresh), then
//! sealed into the URL the browser comes back to (`/saml/resume`), so it survives the sign-in
//! and step-up pages without server-side state. Conditional access decides at every response;
//! a refused person gets a status response without an assertion. Each step answers a
//! [`Step`] the server renders as a page, a redirect or the auto-post form.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use trustplane_access::Outcome as CaOutcome;
use trustplane_keyring::{KeyRing, KeyRingError, Sealer};
use trustplane_model::{from_ms, to_ms, Actor, Application, Event, Outcome, Target, User};
use trustplane_saml::{
    build_response, build_status_response, new_id, AuthnRequest, Certificate, Refusal,
    ResponseParams, StatusParams,
};
use trustplane_store::{Session, Store, StoreError};

use super::keys::SamlKeys;
use super::sso;
use crate::signin::SignIn;
use crate::{url_encode, RequestContext};

/// A checked request waiting for the person, sealed into the URL they come back to.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The application's object id.
    app: String,
    /// The request answered (absent for IdP-initiated sign-on).
    request_id: Option<String>,
    /// The registered ACS the response goes to.
    acs: String,
    relay_state: Option<String>,
    /// `ForceAuthn`: only a sign-in made after this time counts.
    signed_in_after: Option<i64>,
    /// AWS console: the one role asked for (a portal tile per role), instead of all.
    #[serde(default)]
    aws_role: Option<String>,
    expires_at: i64,
}

const PENDING_CONTEXT: &str = "saml-pending";
/// Long enough to sign in and step up, short enough that a leaked URL soon stops working.
const PENDING_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// How far a request's `IssueInstant` may be from our clock.
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
/// `RelayState` is at most 80 bytes by the bindings specification; some SPs send more.
const MAX_RELAY_STATE: usize = 1024;

/// What to answer the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An error page with this status; nothing goes to the SP (its ACS is not trusted yet, or
    /// the person has nothing to take there).
    Refuse {
        /// The HTTP status.
        status: u16,
        /// What to tell the person.
        message: String,
    },
    /// On to a path of this server (the sealed resume URL, or account set-up).
    Continue(String),
    /// Sign in first, then come back to `next`.
    SignIn {
        /// Where to come back to.
        next: String,
    },
    /// Conditional access asks for a second factor: step up, then come back to `next`.
    StepUp {
        /// Where to come back to.
        next: String,
    },
    /// Post this signed response to the SP's ACS.
    Post {
        /// The ACS URL.
        acs: String,
        /// The response XML.
        xml: String,
        /// The SP's `RelayState`, returned as it came.
        relay_state: Option<String>,
    },
}

fn refuse(status: u16, message: &str) -> Step {
    Step::Refuse {
        status,
        message: message.to_string(),
    }
}

/// Why a step could not be answered at all.
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key is unusable.
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    /// The response could not be built.
    #[error("{0}")]
    Build(String),
}

/// Which signature came with a request.
pub enum RequestSignature {
    /// None.
    None,
    /// The HTTP-Redirect binding's query signature.
    Redirect(trustplane_saml::RedirectSignature),
    /// An enveloped XML signature (HTTP-POST binding).
    Post(trustplane_saml::XmlSignature),
}

impl RequestSignature {
    fn verify(&self, certs: &[Certificate]) -> Option<trustplane_saml::Result<()>> {
        match self {
            RequestSignature::None => None,
            RequestSignature::Redirect(s) => Some(s.verify(certs)),
            RequestSignature::Post(s) => Some(s.verify(certs)),
        }
    }
}

/// The identity provider: its signing keys, its names, and where it keeps its state.
pub struct Saml {
    /// The signing keys.
    pub ring: KeyRing<SamlKeys>,
    /// Our entity id (the metadata URL, as is customary).
    pub entity_id: String,
    /// Where SPs send requests.
    pub sso_url: String,
    store: Store,
    sealer: Sealer,
}

impl Saml {
    /// The IdP of a server reached at `public_url`.
    pub fn new(store: Store, sealer: Sealer, public_url: &str) -> Arc<Self> {
        let entity_id = format!("{public_url}/saml/metadata");
        Arc::new(Saml {
            ring: KeyRing::new(
                SamlKeys {
                    common_name: entity_id.clone(),
                },
                store.clone(),
                sealer.clone(),
            ),
            sso_url: format!("{public_url}/saml/sso"),
            entity_id,
            store,
            sealer,
        })
    }

    fn now(&self) -> i64 {
        self.store.clock().now_ms()
    }

    /// Checks an SP-initiated request and sends the browser on to `/saml/resume`. Nothing is
    /// issued here: a request that fails any check gets an error page and no redirect to the
    /// SP, since its ACS URL cannot be trusted.
    pub async fn accept(
        &self,
        request: AuthnRequest,
        relay_state: Option<String>,
        signature: RequestSignature,
    ) -> Result<Step, SamlError> {
        let Some(app) = sso::find_sp(&self.store, &request.issuer).await? else {
            return Ok(refuse(
                400,
                "The service provider that sent you here is not known to Trustplane.",
            ));
        };
        let Some(settings) = sso::settings_of(&app) else {
            return Ok(refuse(
                400,
                "The application is not set up for SAML sign-on.",
            ));
        };
        let sp = settings.sp_metadata(&app.app_id);
        let acs = match sp.acs_for(&request) {
            Ok(acs) => acs.location.clone(),
            Err(e) => return Ok(refuse(400, &e.to_string())),
        };
        match signature.verify(&sp.signing_certificates) {
            Some(Ok(())) => {}
            Some(Err(e)) if !sp.signing_certificates.is_empty() => {
                return Ok(refuse(
                    400,
                    &format!("The request's signature is not valid: {e}."),
                ))
            }
            // A signature we have no certificate for proves nothing, and is not required.
            Some(Err(_)) | None => {
                if settings.require_signed_requests {
                    return Ok(refuse(400, "This service provider must sign its requests."));
                }
            }
        }
        if request
            .destination
            .as_ref()
            .is_some_and(|d| d != &self.sso_url)
        {
            return Ok(refuse(
                400,
                "The request was meant for another identity provider.",
            ));
        }
        let now = self.now();
        if (now - to_ms(request.issue_instant)).abs() > MAX_SKEW_MS {
            return Ok(refuse(
                400,
                "The request is too old or from the future (check the service provider's clock).",
            ));
        }
        if relay_state
            .as_ref()
            .is_some_and(|r| r.len() > MAX_RELAY_STATE)
        {
            return Ok(refuse(400, "RelayState is too long."));
        }
        self.to_resume(&Pending {
            app: app.id,
            request_id: Some(request.id),
            acs,
            relay_state,
            signed_in_after: request.force_authn.then_some(now),
            aws_role: None,
            expires_at: now + PENDING_LIFETIME_MS,
        })
    }

    /// IdP-initiated sign-on (the portal's link) to an application named by appId, object id
    /// or entity id; for the AWS console, `aws_role` is the one role to sign in with (AWS then
    /// skips its role picker).
    pub async fn start(
        &self,
        app: &str,
        relay_state: Option<String>,
        aws_role: Option<String>,
    ) -> Result<Step, SamlError> {
        let found = match self.store.get_application(app).await {
            Ok(a) => Some(a),
            Err(_) => sso::find_sp(&self.store, app).await.ok().flatten(),
        };
        let Some(app) = found else {
            return Ok(refuse(404, "There is no such application."));
        };
        let Some(settings) = sso::settings_of(&app) else {
            return Ok(refuse(
                400,
                "The application is not set up for SAML sign-on.",
            ));
        };
        let Some(acs) = settings.sp_metadata(&app.app_id).default_acs().cloned() else {
            return Ok(refuse(400, "The application has no ACS."));
        };
        if relay_state
            .as_ref()
            .is_some_and(|r| r.len() > MAX_RELAY_STATE)
        {
            return Ok(refuse(400, "RelayState is too long."));
        }
        self.to_resume(&Pending {
            app: app.id,
            request_id: None,
            acs: acs.location,
            relay_state,
            signed_in_after: None,
            aws_role,
            expires_at: self.now() + PENDING_LIFETIME_MS,
        })
    }

    fn to_resume(&self, pending: &Pending) -> Result<Step, SamlError> {
        let plain = serde_json::to_vec(pending).map_err(|e| SamlError::Build(e.to_string()))?;
        let sealed = self
            .sealer
            .seal(PENDING_CONTEXT, &plain)
            .map_err(|_| SamlError::Build("cannot seal the request".into()))?;
        Ok(Step::Continue(format!(
            "/saml/resume?r={}",
            url_encode(&sealed)
        )))
    }

    /// Answers a sealed request (`/saml/resume?r=`) for the person holding the session cookie
    /// `session_token`: sign in (again, for `ForceAuthn`) first, then conditional access, then
    /// the signed response or a refusal.
    pub async fn resume(
        &self,
        signin: &SignIn,
        ctx: &RequestContext,
        sealed: &str,
        session_token: Option<&str>,
    ) -> Result<Step, SamlError> {
        let pending: Pending = match self
            .sealer
            .open(PENDING_CONTEXT, sealed)
            .ok()
            .and_then(|plain| serde_json::from_slice(&plain).ok())
        {
            Some(p) => p,
            None => return Ok(refuse(400, "The sign-in link is not valid.")),
        };
        if pending.expires_at <= self.now() {
            return Ok(refuse(
                400,
                "The sign-in took too long. Go back to the application and start again.",
            ));
        }
        let here = format!("/saml/resume?r={}", url_encode(sealed));
        let session = match session_token {
            Some(token) => signin.session(token).await?,
            None => None,
        };
        let Some((session, user)) = session else {
            return Ok(Step::SignIn { next: here });
        };
        if pending
            .signed_in_after
            .is_some_and(|after| session.created_at < after)
        {
            return Ok(Step::SignIn { next: here });
        }
        if session.restriction.is_some() {
            return Ok(Step::Continue("/account/security".into()));
        }
        self.respond(signin, ctx, &session, &user, &pending, here)
            .await
    }

    /// Conditional access, then the signed response (or a refusal) for a signed-in person.
    async fn respond(
        &self,
        signin: &SignIn,
        ctx: &RequestContext,
        session: &Session,
        user: &User,
        pending: &Pending,
        here: String,
    ) -> Result<Step, SamlError> {
        let app = self.store.get_application(&pending.app).await?;
        let Some(settings) = sso::settings_of(&app) else {
            return Ok(refuse(
                400,
                "The application is no longer set up for SAML sign-on.",
            ));
        };
        let decision = signin
            .authorize_app(session, user, &app.app_id, ctx)
            .await?;
        match decision.outcome {
            CaOutcome::Allow => {}
            CaOutcome::Grant => return Ok(Step::StepUp { next: here }),
            CaOutcome::Block => {
                let why = format!(
                    "blocked by conditional access: {}",
                    decision.blocking.join(", ")
                );
                return self.refusal(ctx, user, &app, pending, &why).await;
            }
        }
        let assertion = match sso::decide(&self.store, user, &settings, pending.aws_role.as_deref())
            .await?
        {
            sso::Decision::Issue(a) => a,
            sso::Decision::Refuse(why @ sso::Refused::NoAwsRole) => {
                self.refusal(ctx, user, &app, pending, &why.to_string())
                    .await?;
                return Ok(refuse(
                        403,
                        "You hold no AWS role that this application grants. Ask for one, or activate an eligible role first.",
                    ));
            }
            sso::Decision::Refuse(why) => {
                return self
                    .refusal(ctx, user, &app, pending, &why.to_string())
                    .await;
            }
        };
        // Each request is answered once: a replayed request id gets nothing.
        if let Some(id) = &pending.request_id {
            let once = format!("saml:{}:{id}", app.app_id);
            if !self
                .store
                .use_once(&once, pending.expires_at + MAX_SKEW_MS)
                .await?
            {
                return Ok(refuse(400, "This sign-in request was answered already."));
            }
        }
        let keys = self.ring.current().await?;
        let now = self.now();
        let params = ResponseParams {
            response_id: fresh_id()?,
            assertion_id: fresh_id()?,
            issue_instant: from_ms(now),
            issuer: self.entity_id.clone(),
            destination: pending.acs.clone(),
            in_response_to: pending.request_id.clone(),
            audience: app.app_id.clone(),
            name_id: assertion.name_id,
            name_id_format: assertion.name_id_format,
            session_index: session_index(&session.info.id),
            // AWS also reads this as the end of the console session; with a time-bound role
            // it ends the session when the activation does, whatever DurationSeconds a CLI
            // asks for.
            session_not_on_or_after: assertion
                .aws_time_left_secs
                .map(|left| from_ms(now + i64::from(left) * 1000)),
            authn_instant: from_ms(session.created_at),
            authn_context_class_ref: if session.mfa_at.is_some() {
                "https://refeds.org/profile/mfa".into()
            } else {
                "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into()
            },
            // A minute of leeway for SP clocks that run behind.
            not_before: from_ms(now - 60_000),
            not_on_or_after: from_ms(now + i64::from(settings.assertion_lifetime_seconds) * 1000),
            attributes: assertion.attributes,
            sign_assertion: settings.sign_assertion,
            sign_response: settings.sign_response,
        };
        let xml = build_response(&params, &keys.signer)
            .map_err(|e| SamlError::Build(format!("cannot build the response: {e}")))?;
        let attribute_names: Vec<&str> =
            params.attributes.iter().map(|a| a.name.as_str()).collect();
        self.store
            .record_event(issue_event(
                ctx,
                user,
                &app,
                Outcome::Success,
                None,
                json!({
                    "protocol": "saml",
                    "inResponseTo": pending.request_id,
                    "assertionId": params.assertion_id,
                    "attributes": attribute_names,
                    "awsRoles": assertion.aws_roles,
                    "conditionalAccess": decision.log,
                }),
            ))
            .await?;
        Ok(Step::Post {
            acs: pending.acs.clone(),
            xml,
            relay_state: pending.relay_state.clone(),
        })
    }

    /// A status response without an assertion, recorded with why.
    async fn refusal(
        &self,
        ctx: &RequestContext,
        user: &User,
        app: &Application,
        pending: &Pending,
        why: &str,
    ) -> Result<Step, SamlError> {
        self.store
            .record_event(issue_event(
                ctx,
                user,
                app,
                Outcome::Failure,
                Some(why),
                json!({ "protocol": "saml", "inResponseTo": pending.request_id }),
            ))
            .await?;
        let keys = self.ring.current().await?;
        let xml = build_status_response(
            &StatusParams {
                response_id: fresh_id()?,
                issue_instant: from_ms(self.now()),
                issuer: self.entity_id.clone(),
                destination: pending.acs.clone(),
                in_response_to: pending.request_id.clone(),
                refusal: Refusal::RequestDenied,
                message: Some(why.into()),
            },
            &keys.signer,
        )
        .map_err(|e| SamlError::Build(format!("cannot build the response: {e}")))?;
        Ok(Step::Post {
            acs: pending.acs.clone(),
            xml,
            relay_state: pending.relay_state.clone(),
        })
    }
}

fn fresh_id() -> Result<String, SamlError> {
    new_id().map_err(|e| SamlError::Build(e.to_string()))
}

/// The session as SPs see it: a digest, so that the session id itself never leaves.
fn session_index(session_id: &str) -> String {
    let digest = Sha256::digest(session_id.as_bytes());
    format!("_{}", hex::encode(&digest[..16]))
}

fn issue_event(
    ctx: &RequestContext,
    user: &User,
    app: &Application,
    result: Outcome,
    reason: Option<&str>,
    details: serde_json::Value,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "federation".into(),
        activity: "saml.response".into(),
        initiated_by: Actor {
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
            ip_address: ctx.ip.map(|i| i.to_string()),
            user_agent: ctx.user_agent.clone(),
        },
        target: Some(Target {
            kind: "application".into(),
            id: app.app_id.clone(),
            display_name: Some(app.display_name.clone()),
        }),
        result,
        result_reason: reason.map(str::to_string),
        before: None,
        after: Some(details),
    }
}
