//! The sign-in flow as library calls: first factor, second factor, passkeys, sessions,
//! step-up and method enrolment. The pages and the JSON API are thin adapters over these.
//!
//! Every attempt, successful or not, goes to the sign-in log (audit entries of category
//! `signIn`). Unknown users, wrong passwords, disabled and locked accounts all get the same
//! answer after the same work, so answers do not reveal which accounts exist.

use std::sync::Arc;

use serde_json::{json, Value};
use trustplane_authn as authn;
use trustplane_authn::{
    AccountThrottle, GateError, HashGate, IpRateLimiter, Relying, RetryAfterMs, SessionPolicy,
    Throttled, TotpSecret,
};
use trustplane_model::{Actor, Event, Outcome, Target, User};
use trustplane_store::{
    NewSession, Session, Store, StoreError, StoredMethod, TEMPORARY_ACCESS_PASS,
};

use crate::ca::{CaDecision, ConditionalAccess, PORTAL_APP_ID};
use crate::{ClientApp, RequestContext};
use trustplane_access::Outcome as CaOutcome;
use trustplane_directory_sync::{DirectorySync, Verdict};
use trustplane_keyring::Sealer;
use trustplane_risk::{Locator, Place, RiskService};

/// How long the gap between the first and the second factor may be.
const PENDING_TTL_MS: i64 = 5 * 60 * 1000;
/// A second factor proven this recently counts for step-up (adding or removing methods).
pub const STEP_UP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Why a sign-in step failed. Messages are safe to show.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown user, wrong password, disabled or locked account: deliberately one answer.
    #[error("the user name or password is incorrect")]
    InvalidCredentials,
    /// Too many failed attempts from this address, or (for a signed-in user's code or current
    /// password) recently on this account.
    #[error("too many attempts; try again in {} seconds", retry_after_ms / 1000 + 1)]
    RateLimited {
        /// When to try again.
        retry_after_ms: i64,
    },
    /// The account is locked after too many failures (said only to someone already signed
    /// in: at sign-in a locked account gets the same answer as a wrong password).
    #[error(
        "the account is locked after too many failed attempts; an administrator can unlock it"
    )]
    Locked,
    /// Too many passwords are being checked at once on this node.
    #[error("the server is busy; try again in {retry_after_secs} seconds")]
    Busy {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The second-factor step is unknown or too old.
    #[error("this sign-in has expired; start again")]
    Expired,
    /// The code or passkey did not verify (or was used before).
    #[error("the code is not valid")]
    InvalidCode,
    /// Conditional access refused: the policies named, or why.
    #[error("access blocked by conditional access: {0}")]
    Blocked(String),
    /// The request was malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Pass-through authentication could not reach the person's directory: the sign-in fails
    /// closed.
    #[error(
        "your organisation's directory cannot be reached to check the password; try again later"
    )]
    DirectoryUnavailable,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignInError {
    /// Seconds to wait before trying again, for the refusals that have a time.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            SignInError::RateLimited { retry_after_ms } => {
                Some(u64::try_from(retry_after_ms / 1000 + 1).unwrap_or(1))
            }
            SignInError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// As the JSON APIs answer it: a problem document, with `Retry-After` when there is a time.
/// A new session and its token, which only the client keeps.
pub struct Issued {
    /// The cookie or bearer value.
    pub token: String,
    /// The stored session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

/// The result of the first step.
pub enum FirstStep {
    /// Signed in (the user has no second factor registered).
    Done(Box<Issued>),
    /// A second factor is needed; `handle` identifies this sign-in for the next step.
    SecondFactor {
        /// Random handle for the next step (stored only hashed).
        handle: String,
        /// The kinds of method the user can use.
        methods: Vec<String>,
    },
}

/// A second factor offered by the user.
pub enum SecondFactor {
    /// A six-digit TOTP code.
    Totp(String),
    /// A recovery code.
    RecoveryCode(String),
}

/// Bounds on the work sign-in does and on guessing, set per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Password hashes and verifications computed at once (each argon2id holds 19 MiB).
    pub max_concurrent_password_hashes: usize,
    /// Password checks that may wait for a turn; past that, 503 with `Retry-After`.
    pub password_hash_queue: usize,
    /// Failed attempts one address (an IPv6 /64) may make in a burst.
    pub failures_per_address_burst: u32,
    /// Failed attempts one address regains per minute after the burst.
    pub failures_per_address_per_minute: u32,
}

impl Default for SignInLimits {
    /// Twice the cores at once and 32 waiting per slot; 10 failures per address at once, then 30
    /// a minute.
    fn default() -> Self {
        let concurrent = HashGate::default_concurrency();
        SignInLimits {
            max_concurrent_password_hashes: concurrent,
            password_hash_queue: concurrent.saturating_mul(32),
            failures_per_address_burst: 10,
            failures_per_address_per_minute: 30,
        }
    }
}

/// Addresses the per-address limiter tracks at most.
const TRACKED_ADDRESSES: usize = 100_000;

/// The sign-in service: the store, the sealing key and the policies.
pub struct SignIn {
    pub(crate) store: Store,
    pub(crate) sealer: Sealer,
    pub(crate) sessions: SessionPolicy,
    pub(crate) throttle: AccountThrottle,
    pub(crate) ip_limiter: IpRateLimiter,
    /// Every argon2id computation of the node goes through this.
    pub(crate) hashes: Arc<HashGate>,
    pub(crate) relying: Relying,
    pub(crate) issuer: String,
    pub(crate) ca: Arc<ConditionalAccess>,
    /// Sign-in and user risk, handed to conditional access.
    pub(crate) risk: Arc<RiskService>,
    /// Directory connections, for pass-through authentication.
    pub(crate) directory: DirectorySync,
}

/// Places addresses with the conditional-access engine's GeoIP database (one copy in memory).
struct CaLocator(Arc<ConditionalAccess>);

impl Locator for CaLocator {
    fn locate(&self, ip: std::net::IpAddr) -> Option<Place> {
        self.0.geoip().and_then(|g| g.locate(ip))
    }
}

/// How a session's client talks to us, as its sign-in recorded it.
fn session_client(session: &Session) -> ClientApp {
    match session.info.client_app.as_str() {
        "browser" => ClientApp::Browser,
        "other" => ClientApp::Other,
        _ => ClientApp::MobileAppsAndDesktopClients,
    }
}

/// A handle and the hash under which its state is stored.
fn new_handle() -> (String, String) {
    authn::new_session_token()
}

fn totp_context(user_id: &str) -> String {
    format!("totp:{user_id}")
}

fn passkey_context(user_id: &str) -> String {
    format!("passkey:{user_id}")
}

impl SignIn {
    /// Builds the service.
    pub fn new(
        store: Store,
        sealer: Sealer,
        relying: Relying,
        issuer: String,
        sessions: SessionPolicy,
        ca: Arc<ConditionalAccess>,
        limits: SignInLimits,
    ) -> Arc<Self> {
        let locator: Arc<dyn Locator> = Arc::new(CaLocator(ca.clone()));
        let risk = Arc::new(RiskService::new(
            store.clone(),
            Some(locator),
            trustplane_risk::Settings::default(),
        ));
        Arc::new(SignIn {
            risk,
            directory: DirectorySync::new(store.clone(), sealer.clone()),
            store,
            sealer,
            sessions,
            throttle: AccountThrottle::default(),
            ip_limiter: IpRateLimiter::new(
                limits.failures_per_address_burst,
                limits.failures_per_address_per_minute,
                TRACKED_ADDRESSES,
            ),
            hashes: Arc::new(HashGate::new(
                limits.max_concurrent_password_hashes,
                limits.password_hash_queue,
            )),
            relying,
            issuer,
            ca,
        })
    }

    fn now(&self) -> i64 {
        self.store.clock().now_ms()
    }

    /// Sign-in and user risk of this node.
    pub fn risk(&self) -> Arc<RiskService> {
        self.risk.clone()
    }

    /// Conditional access for a sign-in of `user` that proved its first factor: the
    /// sign-in's risk (from the sign-in history, before this attempt is logged) and the
    /// user's risk are computed, the detections stored, and the policies evaluated with both.
    /// A detection never refuses anything itself; only a policy does.
    pub(crate) async fn decide_sign_in(
        &self,
        user: &User,
        client: ClientApp,
        ctx: &RequestContext,
        satisfied: &[&str],
    ) -> Result<CaDecision, StoreError> {
        let assessment = self
            .risk
            .assess_sign_in(user, ctx.ip, ctx.user_agent.as_deref())
            .await?;
        if !assessment.detections.is_empty() {
            self.risk.record(user, ctx.ip, &assessment).await?;
        }
        let user_risk = self.risk.user_risk(&user.id).await?;
        self.ca
            .decide_with_risk(
                user,
                client,
                ctx,
                PORTAL_APP_ID,
                satisfied,
                &assessment,
                &user_risk,
            )
            .await
    }

    /// The gate every password hash and verification of this node goes through.
    pub fn password_hashes(&self) -> Arc<HashGate> {
        self.hashes.clone()
    }

    /// Takes one attempt from the address's allowance; [`refund_ip`](Self::refund_ip) gives
    /// it back when the attempt succeeds, so that only failures count.
    pub(crate) fn limit_ip(&self, ctx: &RequestContext) -> Result<(), SignInError> {
        if let Some(ip) = ctx.ip {
            self.ip_limiter
                .check(ip, self.now())
                .map_err(|r| SignInError::RateLimited {
                    retry_after_ms: r.0,
                })?;
        }
        Ok(())
    }

    /// The attempt [`limit_ip`](Self::limit_ip) took succeeded (or was never judged).
    pub(crate) fn refund_ip(&self, ctx: &RequestContext) {
        if let Some(ip) = ctx.ip {
            self.ip_limiter.refund(ip, self.now());
        }
    }

    /// The account's delay and lock after consecutive failures, as at sign-in; returns the
    /// failure count.
    async fn account_allows(&self, user_id: &str) -> Result<i64, SignInError> {
        let (failures, last_failure) = self.store.account_failures(user_id).await?;
        let count = u32::try_from(failures).unwrap_or(u32::MAX);
        match self.throttle.check(count, last_failure, self.now()) {
            Ok(()) => Ok(failures),
            Err(Throttled::Delayed(RetryAfterMs(ms))) => {
                Err(SignInError::RateLimited { retry_after_ms: ms })
            }
            Err(Throttled::Locked) => Err(SignInError::Locked),
        }
    }

    /// Before checking a secret a signed-in user offers (a second-factor code, the current
    /// password): the same per-address and per-account limits as sign-in. Returns the
    /// account's failure count.
    async fn may_try(&self, ctx: &RequestContext, user_id: &str) -> Result<i64, SignInError> {
        self.limit_ip(ctx)?;
        self.account_allows(user_id).await
    }

    /// After a proven second factor: the address's attempt back, the account's failures
    /// cleared (as a completed sign-in clears them).
    async fn second_factor_proven(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        failures: i64,
    ) -> Result<(), StoreError> {
        self.refund_ip(ctx);
        if failures > 0 {
            self.store.reset_account_failures(user_id).await?;
        }
        Ok(())
    }

    /// Writes one sign-in log entry (for attempts that create no session).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        user: Option<&User>,
        attempted: &str,
        methods: &[&str],
        failure: Option<&str>,
        session: Option<&Session>,
    ) -> Result<(), StoreError> {
        self.log_with(
            ctx, client, user, attempted, methods, failure, session, None,
        )
        .await
    }

    /// [`log`](Self::log) with conditional access's part of the entry.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log_with(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        user: Option<&User>,
        attempted: &str,
        methods: &[&str],
        failure: Option<&str>,
        session: Option<&Session>,
        ca: Option<&Value>,
    ) -> Result<(), StoreError> {
        let event = sign_in_event(
            ctx,
            client,
            user,
            attempted,
            methods,
            failure,
            session.map(|s| s.info.id.as_str()),
            ca,
        );
        self.store.record_sign_in(event).await?;
        Ok(())
    }
}

/// The sign-in log entry of one attempt.
#[allow(clippy::too_many_arguments)]
fn sign_in_event(
    ctx: &RequestContext,
    client: ClientApp,
    user: Option<&User>,
    attempted: &str,
    methods: &[&str],
    failure: Option<&str>,
    session_id: Option<&str>,
    ca: Option<&Value>,
) -> Event {
    {
        let actor = Actor {
            id: user
                .map(|u| u.id.clone())
                .unwrap_or_else(|| "unknown".into()),
            display_name: Some(
                user.map(|u| u.user_principal_name.clone())
                    .unwrap_or_else(|| attempted.chars().take(113).collect()),
            ),
            ip_address: ctx.ip.map(|i| i.to_string()),
            user_agent: ctx.user_agent.clone(),
        };
        Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "signIn".into(),
            activity: "signIn".into(),
            initiated_by: actor,
            target: Some(Target {
                kind: "application".into(),
                id: "trustplane".into(),
                display_name: Some("Trustplane".into()),
            }),
            result: if failure.is_none() {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            result_reason: failure.map(str::to_string),
            before: None,
            after: Some(json!({
                "userPrincipalName": attempted,
                "clientAppUsed": client.as_str(),
                "ipAddress": ctx.ip.map(|i| i.to_string()),
                "userAgent": ctx.user_agent,
                "devicePlatform": ctx.device_platform,
                "appId": "trustplane",
                "authenticationMethodsUsed": methods,
                "status": if failure.is_none() { "success" } else { "failure" },
                "failureReason": failure,
                "sessionId": session_id,
                "conditionalAccessStatus": ca.map(|c| c["conditionalAccessStatus"].clone()),
                "appliedConditionalAccessPolicies": ca.map(|c| c["appliedConditionalAccessPolicies"].clone()),
                "reportOnlyConditionalAccessPolicies": ca.map(|c| c["reportOnlyConditionalAccessPolicies"].clone()),
                "country": ca.map(|c| c["country"].clone()),
                "riskLevelDuringSignIn": ca.map(|c| c["riskLevelDuringSignIn"].clone()),
                "riskEventTypes_v2": ca.map(|c| c["riskEventTypes_v2"].clone()),
                "riskLevelAggregated": ca.map(|c| c["riskLevelAggregated"].clone()),
            })),
        }
    }
}

impl SignIn {
    /// Creates the session, its sign-in log entry and the reset of the failure count in one
    /// transaction: one commit on the hot path instead of three.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue(
        &self,
        user: &User,
        ctx: &RequestContext,
        client: ClientApp,
        amr: Vec<String>,
        mfa: bool,
        methods: &[&str],
        restriction: Option<&str>,
        ca: Option<&Value>,
    ) -> Result<Issued, SignInError> {
        // Always a fresh token: a value planted before sign-in is never promoted (fixation).
        let (token, token_hash) = authn::new_session_token();
        let session_id = trustplane_model::new_id();
        let event = sign_in_event(
            ctx,
            client,
            Some(user),
            &user.user_principal_name,
            methods,
            None,
            Some(&session_id),
            ca,
        );
        let session = self
            .store
            .create_session(
                NewSession {
                    id: session_id,
                    user_id: user.id.clone(),
                    token_hash,
                    amr,
                    mfa,
                    ip_address: ctx.ip.map(|i| i.to_string()),
                    user_agent: ctx.user_agent.clone(),
                    client_app: client.as_str().into(),
                    restriction: restriction.map(str::to_string),
                },
                event,
            )
            .await?;
        Ok(Issued {
            token,
            session,
            user: user.clone(),
        })
    }

    /// Second-factor kinds the user has registered.
    pub(crate) async fn second_factors(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let methods = self.store.list_auth_methods(user_id, None).await?;
        let mut kinds: Vec<String> = methods
            .iter()
            .filter(|m| m.is_second_factor())
            .map(|m| m.kind.clone())
            .collect();
        kinds.sort();
        kinds.dedup();
        Ok(kinds)
    }

    /// Step one: user name and password.
    pub async fn password(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        username: &str,
        password: &str,
    ) -> Result<FirstStep, SignInError> {
        if let Err(e) = self.limit_ip(ctx) {
            self.log(
                ctx,
                client,
                None,
                username,
                &["password"],
                Some("rate limited by source address"),
                None,
            )
            .await?;
            return Err(e);
        }
        if username.len() > 256 || password.len() > 1024 {
            return Err(SignInError::InvalidCredentials);
        }
        let facts = self.store.sign_in_facts(username).await?;
        let user = facts.as_ref().map(|f| f.user.clone());
        let (hash, must_change, failures, last_failure, factor_count, source) = match facts {
            Some(f) => (
                f.password_hash,
                f.password_must_change,
                f.failures,
                f.last_failure_at,
                f.second_factors,
                f.source,
            ),
            None => (None, false, 0, 0, 0, None),
        };
        let throttled = self
            .throttle
            .retry_after_ms(
                u32::try_from(failures).unwrap_or(u32::MAX),
                last_failure,
                self.now(),
            )
            .is_some();
        // Pass-through: the directory a person was imported from checks their password, when
        // that connection says so; the local hash is not looked at. Throttled or disabled
        // accounts are refused without asking the directory (no bind that could count against
        // the account there).
        let directory = match (&user, &source) {
            (Some(u), Some((connection, anchor))) if !throttled && u.account_enabled => {
                match self
                    .directory
                    .check_password(connection, anchor, password)
                    .await
                {
                    Ok(verdict) => verdict,
                    Err(e) => {
                        // Fail closed: no answer is never a yes, and nothing cached stands in.
                        self.refund_ip(ctx);
                        tracing::warn!(user = %u.user_principal_name, error = %e, "pass-through authentication: no answer from the directory");
                        self.log(
                            ctx,
                            client,
                            Some(u),
                            username,
                            &["password"],
                            Some("directory unavailable (pass-through authentication)"),
                            None,
                        )
                        .await?;
                        return Err(SignInError::DirectoryUnavailable);
                    }
                }
            }
            _ => None,
        };
        let directory_refusal = match &directory {
            Some(Verdict::Refused(r)) => Some(r),
            _ => None,
        };
        // Disabled, locked or gone in the directory: not even a temporary access pass signs
        // this person in through the password field.
        let directory_refused_account = directory_refusal.is_some_and(|r| r.is_account_state());
        let directory_refusal = directory_refusal.map(|r| r.reason());
        // The same hashing work on every other path: unknown user, no password, throttled
        // account; and all of it within the node's bound on concurrent hashing.
        let verified = match directory {
            Some(verdict) => Ok(Some(authn::PasswordCheck {
                valid: verdict == Verdict::Accepted,
                needs_rehash: false,
            })),
            None => {
                self.hashes
                    .verify(password, hash.filter(|_| !throttled))
                    .await
            }
        };
        let check = match verified {
            Ok(check) => check,
            Err(GateError::Busy { retry_after_secs }) => {
                // Not judged, so not a failure of the address.
                self.refund_ip(ctx);
                self.log(
                    ctx,
                    client,
                    user.as_ref(),
                    username,
                    &["password"],
                    Some("refused: too many passwords being checked at once"),
                    None,
                )
                .await?;
                return Err(SignInError::Busy { retry_after_secs });
            }
            Err(_) => return Err(SignInError::InvalidCredentials),
        };
        let Some(user) = user else {
            self.log(
                ctx,
                client,
                None,
                username,
                &["password"],
                Some("unknown user"),
                None,
            )
            .await?;
            return Err(SignInError::InvalidCredentials);
        };
        let password_valid = check.as_ref().is_some_and(|c| c.valid);
        if !throttled
            && !password_valid
            && user.account_enabled
            && !directory_refused_account
            && client != ClientApp::Other
        {
            if let Some(method_id) = self.temporary_access_pass(&user, password).await? {
                return self
                    .with_temporary_access_pass(ctx, client, &user, &method_id)
                    .await;
            }
        }
        let reason = if throttled {
            Some("account temporarily locked after repeated failures")
        } else if !password_valid {
            Some(directory_refusal.unwrap_or("invalid password"))
        } else if !user.account_enabled {
            Some("account disabled")
        } else {
            None
        };
        if let Some(reason) = reason {
            if !throttled {
                self.store.record_account_failure(&user.id).await?;
            }
            self.log(
                ctx,
                client,
                Some(&user),
                username,
                &["password"],
                Some(reason),
                None,
            )
            .await?;
            return Err(SignInError::InvalidCredentials);
        }
        // The right password: whatever follows, this was no guess.
        self.refund_ip(ctx);
        if check.is_some_and(|c| c.needs_rehash) && !must_change {
            self.rehash(&user, password).await?;
        }
        // Conditional access decides after the first factor.
        let decision = self.decide_sign_in(&user, client, ctx, &[]).await?;
        self.after_first_factor(
            ctx,
            client,
            &user,
            FirstFactor::PASSWORD,
            &decision,
            factor_count,
        )
        .await
    }

    /// After a proven first factor and conditional access's decision on it: refused, signed
    /// in (no second factor registered; a registration-only session when MFA is required), or
    /// on to the second factor. Passwords and upstream providers share it.
    pub(crate) async fn after_first_factor(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        user: &User,
        first: FirstFactor,
        decision: &CaDecision,
        factor_count: i64,
    ) -> Result<FirstStep, SignInError> {
        let methods = [first.method];
        let username = user.user_principal_name.as_str();
        if decision.outcome == CaOutcome::Block || !decision.mfa_satisfies() {
            return Err(self.refuse(ctx, client, user, &methods, decision).await?);
        }
        if factor_count == 0 {
            let restriction = if decision.requires_mfa() {
                if client != ClientApp::Browser {
                    let reason = "conditional access requires MFA and the user has no second factor registered";
                    self.log_with(
                        ctx,
                        client,
                        Some(user),
                        username,
                        &methods,
                        Some(reason),
                        None,
                        Some(&decision.log),
                    )
                    .await?;
                    return Err(SignInError::Blocked(
                        "MFA is required: register a method at /account/security".into(),
                    ));
                }
                // Registration interrupt: a session that can only register a second factor.
                Some(RESTRICTED_TO_MFA_REGISTRATION)
            } else {
                None
            };
            let issued = self
                .issue(
                    user,
                    ctx,
                    client,
                    vec![first.amr.into()],
                    false,
                    &methods,
                    restriction,
                    Some(&decision.log),
                )
                .await?;
            return Ok(FirstStep::Done(Box::new(issued)));
        }
        if client == ClientApp::Other {
            let reason = "a second factor is needed, which password-only clients cannot provide";
            self.log_with(
                ctx,
                client,
                Some(user),
                username,
                &methods,
                Some(reason),
                None,
                Some(&decision.log),
            )
            .await?;
            return Err(SignInError::Blocked(reason.into()));
        }
        let kinds = self.second_factors(&user.id).await?;
        let (handle, handle_hash) = new_handle();
        let data = json!({ "client": client.as_str(), "first": first.method }).to_string();
        self.store
            .put_pending(
                &handle_hash,
                "secondFactor",
                Some(&user.id),
                &data,
                PENDING_TTL_MS,
            )
            .await?;
        Ok(FirstStep::SecondFactor {
            handle,
            methods: kinds,
        })
    }

    /// The id of the user's temporary access pass when `typed` is it and it may be used now;
    /// a single-use pass is spent here, so two sign-ins cannot both use it.
    async fn temporary_access_pass(
        &self,
        user: &User,
        typed: &str,
    ) -> Result<Option<String>, SignInError> {
        let now = self.now();
        for m in self
            .store
            .list_auth_methods(&user.id, Some(TEMPORARY_ACCESS_PASS))
            .await?
        {
            let Some(terms) = authn::tap::verify_pass(typed, &m.secret) else {
                continue;
            };
            if !terms.usable_at(now) {
                continue;
            }
            if terms.usable_once {
                if !self.store.spend_temporary_access_pass(&m.id).await? {
                    continue;
                }
            } else {
                self.store.touch_auth_method(&m.id).await?;
            }
            return Ok(Some(m.id));
        }
        Ok(None)
    }

    /// Completes a sign-in made with a temporary access pass. The pass proves more than a
    /// password (an administrator handed it over for this person, for a short while), so it
    /// satisfies an MFA requirement, as in Entra ID; conditional access still decides.
    async fn with_temporary_access_pass(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        user: &User,
        method_id: &str,
    ) -> Result<FirstStep, SignInError> {
        self.refund_ip(ctx);
        let methods = ["temporaryAccessPass"];
        let decision = self.decide_sign_in(user, client, ctx, &["mfa"]).await?;
        if decision.outcome == CaOutcome::Block || !decision.mfa_satisfies() {
            return Err(self.refuse(ctx, client, user, &methods, &decision).await?);
        }
        tracing::info!(user = %user.user_principal_name, method = %method_id, "signed in with a temporary access pass");
        let issued = self
            .issue(
                user,
                ctx,
                client,
                vec![TAP_AMR.into()],
                true,
                &methods,
                None,
                Some(&decision.log),
            )
            .await?;
        Ok(FirstStep::Done(Box::new(issued)))
    }

    /// Gives `user` a temporary access pass, replacing any they had; returns the pass (shown
    /// once) and its terms. `lifetime_minutes` is 10 minutes to 30 days, as in Entra ID.
    pub async fn create_temporary_access_pass(
        &self,
        actor: &Actor,
        user: &User,
        start_ms: Option<i64>,
        lifetime_minutes: i64,
        usable_once: bool,
    ) -> Result<(String, authn::tap::PassTerms), SignInError> {
        if !(TAP_MIN_MINUTES..=TAP_MAX_MINUTES).contains(&lifetime_minutes) {
            return Err(SignInError::BadRequest(format!(
                "lifetimeInMinutes must be {TAP_MIN_MINUTES} to {TAP_MAX_MINUTES}"
            )));
        }
        let now = self.now();
        let start_ms = start_ms.unwrap_or(now);
        if start_ms < now - 60_000 || start_ms > now + TAP_MAX_MINUTES * 60_000 {
            return Err(SignInError::BadRequest(
                "startDateTime must be now or within the next 30 days".into(),
            ));
        }
        let terms = authn::tap::PassTerms {
            start_ms,
            end_ms: start_ms + lifetime_minutes * 60_000,
            usable_once,
        };
        let pass = authn::tap::new_pass();
        let label = format!(
            "Temporary access pass ({lifetime_minutes} min{})",
            if usable_once { ", once" } else { "" }
        );
        self.store
            .replace_temporary_access_pass(
                actor,
                &user.id,
                &authn::tap::seal_pass(&pass, terms),
                &label,
            )
            .await?;
        Ok((pass, terms))
    }

    async fn rehash(&self, user: &User, password: &str) -> Result<(), SignInError> {
        // When the node is busy the upgrade waits for a later sign-in.
        if let Ok(Ok(hash)) = self.hashes.hash(password).await {
            let patch = trustplane_store::UserPatch {
                password_hash: Some(hash),
                password_sign_ins: trustplane_store::PasswordSignIns::Rehash,
                ..Default::default()
            };
            self.store
                .update_user(&Actor::system(), &user.id, patch)
                .await?;
        }
        Ok(())
    }

    /// Checks a TOTP or recovery code of a user; marks it used. Returns the amr value.
    async fn check_code(
        &self,
        user: &User,
        factor: &SecondFactor,
    ) -> Result<Option<&'static str>, SignInError> {
        match factor {
            SecondFactor::Totp(code) => {
                let now_secs = u64::try_from(self.now() / 1000).unwrap_or(0);
                for m in self.store.list_auth_methods(&user.id, Some("totp")).await? {
                    let Ok(seed) = self.sealer.open(&totp_context(&user.id), &m.secret) else {
                        tracing::error!(method = %m.id, "a TOTP secret cannot be opened");
                        continue;
                    };
                    let Ok(secret) = TotpSecret::from_bytes(seed) else {
                        continue;
                    };
                    let last = m.last_step.and_then(|s| u64::try_from(s).ok());
                    if let Ok(step) = authn::totp::verify(&secret, code, now_secs, last) {
                        // The conditional update makes the code single-use even across nodes.
                        if self
                            .store
                            .accept_totp_step(&m.id, i64::try_from(step).unwrap_or(i64::MAX))
                            .await?
                        {
                            return Ok(Some("otp"));
                        }
                    }
                }
                Ok(None)
            }
            SecondFactor::RecoveryCode(code) => {
                for m in self
                    .store
                    .list_auth_methods(&user.id, Some("recoveryCode"))
                    .await?
                {
                    if m.used_at.is_none()
                        && authn::verify_recovery_code(code, &m.secret)
                        && self.store.spend_recovery_code(&m.id).await?
                    {
                        return Ok(Some("rc"));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Step two: a code for the sign-in identified by `handle`.
    pub async fn second_factor(
        &self,
        ctx: &RequestContext,
        handle: &str,
        factor: SecondFactor,
    ) -> Result<Issued, SignInError> {
        self.limit_ip(ctx)?;
        let handle_hash = authn::hash_session_token(handle);
        let (user_id, data) = self
            .store
            .peek_pending(&handle_hash, "secondFactor")
            .await?
            .ok_or(SignInError::Expired)?;
        let user = self
            .store
            .get_user(user_id.as_deref().unwrap_or_default())
            .await?;
        let client = if data.contains("mobileAppsAndDesktopClients") {
            ClientApp::MobileAppsAndDesktopClients
        } else {
            ClientApp::Browser
        };
        let first = FirstFactor::named(
            serde_json::from_str::<Value>(&data)
                .ok()
                .as_ref()
                .and_then(|d| d["first"].as_str()),
        );
        let method_name = match factor {
            SecondFactor::Totp(_) => "totp",
            SecondFactor::RecoveryCode(_) => "recoveryCode",
        };
        let throttled = match self.account_allows(&user.id).await {
            Ok(_) => false,
            Err(SignInError::RateLimited { .. } | SignInError::Locked) => true,
            Err(e) => return Err(e),
        };
        if throttled {
            // Failures elsewhere since the password step (another sign-in, a step-up): this
            // sign-in is over, as after too many wrong codes here.
            self.store
                .take_pending(&handle_hash, "secondFactor")
                .await?;
            return Err(SignInError::Expired);
        }
        if !user.account_enabled {
            self.store
                .take_pending(&handle_hash, "secondFactor")
                .await?;
            self.log(
                ctx,
                client,
                Some(&user),
                &user.user_principal_name,
                &[first.method, method_name],
                Some("account disabled"),
                None,
            )
            .await?;
            return Err(SignInError::Expired);
        }
        match self.check_code(&user, &factor).await? {
            Some(amr) => {
                // Take the pending step only now, so a typo does not end the sign-in.
                if self
                    .store
                    .take_pending(&handle_hash, "secondFactor")
                    .await?
                    .is_none()
                {
                    return Err(SignInError::Expired);
                }
                self.refund_ip(ctx);
                let issued = self
                    .issue(
                        &user,
                        ctx,
                        client,
                        vec![first.amr.into(), amr.into(), "mfa".into()],
                        true,
                        &[first.method, method_name],
                        None,
                        None,
                    )
                    .await?;
                Ok(issued)
            }
            None => {
                let failures = self.store.record_account_failure(&user.id).await?;
                self.log(
                    ctx,
                    client,
                    Some(&user),
                    &user.user_principal_name,
                    &[first.method, method_name],
                    Some("invalid or reused code"),
                    None,
                )
                .await?;
                if self
                    .throttle
                    .retry_after_ms(
                        u32::try_from(failures).unwrap_or(u32::MAX),
                        self.now(),
                        self.now(),
                    )
                    .is_some()
                {
                    // Too many wrong codes: this sign-in is over.
                    self.store
                        .take_pending(&handle_hash, "secondFactor")
                        .await?;
                    return Err(SignInError::Expired);
                }
                Err(SignInError::InvalidCode)
            }
        }
    }

    /// Passkey sign-in without a user name: the challenge.
    pub async fn passkey_begin(&self) -> Result<(Value, String), SignInError> {
        let (challenge, state) = self
            .relying
            .start_discoverable_authentication()
            .map_err(|e| SignInError::BadRequest(e.to_string()))?;
        let (handle, handle_hash) = new_handle();
        self.store
            .put_pending(&handle_hash, "passkeySignIn", None, &state, PENDING_TTL_MS)
            .await?;
        Ok((challenge, handle))
    }

    /// Passkey sign-in: the authenticator's answer. Counts as both factors.
    pub async fn passkey_finish(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        handle: &str,
        response: &Value,
    ) -> Result<Issued, SignInError> {
        self.limit_ip(ctx)?;
        let (_, state) = self
            .store
            .take_pending(&authn::hash_session_token(handle), "passkeySignIn")
            .await?
            .ok_or(SignInError::Expired)?;
        let credential_id = response
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(method) = self.store.find_passkey(credential_id).await? else {
            self.log(
                ctx,
                client,
                None,
                "(passkey)",
                &["passkey"],
                Some("unknown passkey"),
                None,
            )
            .await?;
            return Err(SignInError::InvalidCode);
        };
        let user = self.store.get_user(&method.user_id).await?;
        let passkey = self.open_passkey(&method)?;
        match self.relying.finish_authentication(
            &state,
            &response.to_string(),
            std::slice::from_ref(&passkey),
        ) {
            Ok(done) if done.user_handle.is_some_and(|h| h != uuid_of(&user.id)) => {
                self.log(
                    ctx,
                    client,
                    Some(&user),
                    &user.user_principal_name,
                    &["passkey"],
                    Some("user handle does not match the credential"),
                    None,
                )
                .await?;
                Err(SignInError::InvalidCode)
            }
            Ok(done) if user.account_enabled => {
                let sealed = match &done.updated_passkey_json {
                    Some(json) => Some(self.seal_passkey(&user.id, json)?),
                    None => None,
                };
                self.store
                    .update_passkey(&method.id, sealed.as_deref())
                    .await?;
                let decision = self.decide_sign_in(&user, client, ctx, &["mfa"]).await?;
                self.refund_ip(ctx);
                if decision.outcome == CaOutcome::Block || !decision.required.is_empty() {
                    return Err(self
                        .refuse(ctx, client, &user, &["passkey"], &decision)
                        .await?);
                }
                let issued = self
                    .issue(
                        &user,
                        ctx,
                        client,
                        vec!["hwk".into(), "user".into(), "mfa".into()],
                        true,
                        &["passkey"],
                        None,
                        Some(&decision.log),
                    )
                    .await?;
                Ok(issued)
            }
            Ok(_) => {
                self.log(
                    ctx,
                    client,
                    Some(&user),
                    &user.user_principal_name,
                    &["passkey"],
                    Some("account disabled"),
                    None,
                )
                .await?;
                Err(SignInError::InvalidCode)
            }
            Err(e) => {
                let reason = format!("passkey verification failed: {e}");
                self.log(
                    ctx,
                    client,
                    Some(&user),
                    &user.user_principal_name,
                    &["passkey"],
                    Some(&reason),
                    None,
                )
                .await?;
                Err(SignInError::InvalidCode)
            }
        }
    }

    fn open_passkey(&self, m: &StoredMethod) -> Result<String, SignInError> {
        let bytes = self
            .sealer
            .open(&passkey_context(&m.user_id), &m.secret)
            .map_err(|_| SignInError::InvalidCode)?;
        String::from_utf8(bytes).map_err(|_| SignInError::InvalidCode)
    }

    fn seal_passkey(&self, user_id: &str, json: &str) -> Result<String, SignInError> {
        self.sealer
            .seal(&passkey_context(user_id), json.as_bytes())
            .map_err(|e| SignInError::BadRequest(e.to_string()))
    }

    /// The session behind a token, if it is valid now; records its use.
    pub async fn session(&self, token: &str) -> Result<Option<(Session, User)>, StoreError> {
        let Some(session) = self
            .store
            .find_session(&authn::hash_session_token(token))
            .await?
        else {
            return Ok(None);
        };
        if self
            .sessions
            .check(session.created_at, session.last_seen_at, self.now())
            .is_err()
        {
            self.store
                .end_expired_session(&authn::hash_session_token(token))
                .await?;
            return Ok(None);
        }
        let user = match self.store.get_user(&session.info.user_id).await {
            Ok(u) if u.account_enabled => u,
            Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.store.touch_session(&session.info.id).await?;
        Ok(Some((session, user)))
    }

    /// Ends the session of a token, and the OIDC grants issued from it.
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        self.store.sign_out(&authn::hash_session_token(token)).await
    }

    /// Whether a session may add or remove methods now: a second factor proven within the
    /// step-up window, or — for a user with no second factor yet — a fresh password sign-in.
    pub async fn may_change_methods(&self, session: &Session) -> Result<bool, StoreError> {
        let now = self.now();
        if session.mfa_at.is_some_and(|t| now - t <= STEP_UP_WINDOW_MS) {
            return Ok(true);
        }
        let has_factor = !self.second_factors(&session.info.user_id).await?.is_empty();
        Ok(!has_factor && now - session.created_at <= STEP_UP_WINDOW_MS)
    }

    /// Whether the session's second factor was proven within the step-up window (a fresh
    /// password alone does not count).
    pub fn second_factor_is_recent(&self, session: &Session) -> bool {
        session
            .mfa_at
            .is_some_and(|t| self.now() - t <= STEP_UP_WINDOW_MS)
    }

    /// Checks a second-factor code sent with an API request that needs one (a privileged
    /// role's activation), under the same limits as sign-in: while the address or the
    /// account is throttled, or the account locked, even the right code is refused. A wrong
    /// code counts as a failure of the account like any other.
    pub async fn prove_second_factor(
        &self,
        ctx: &RequestContext,
        user: &User,
        factor: SecondFactor,
    ) -> Result<(), SignInError> {
        let failures = self.may_try(ctx, &user.id).await?;
        match self.check_code(user, &factor).await? {
            Some(_) => {
                self.second_factor_proven(ctx, &user.id, failures).await?;
                Ok(())
            }
            None => {
                self.store.record_account_failure(&user.id).await?;
                Err(SignInError::InvalidCode)
            }
        }
    }

    /// Step-up inside a session with a code, under the same limits as
    /// [`prove_second_factor`](Self::prove_second_factor).
    pub async fn step_up(
        &self,
        ctx: &RequestContext,
        session: &Session,
        user: &User,
        factor: SecondFactor,
    ) -> Result<(), SignInError> {
        let failures = self.may_try(ctx, &user.id).await?;
        match self.check_code(user, &factor).await? {
            Some(amr) => {
                self.mark_second_factor(session, amr).await?;
                self.second_factor_proven(ctx, &user.id, failures).await?;
                Ok(())
            }
            None => {
                self.store.record_account_failure(&user.id).await?;
                Err(SignInError::InvalidCode)
            }
        }
    }

    // ---- enrolment ----

    /// Starts TOTP enrolment: a new secret kept pending until a code confirms it.
    pub async fn totp_begin(&self, user: &User) -> Result<(String, String, String), SignInError> {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri(&self.issuer, &user.user_principal_name);
        let svg = authn::totp::qr_svg(&uri).map_err(|e| SignInError::BadRequest(e.to_string()))?;
        let sealed = self
            .sealer
            .seal(&totp_context(&user.id), secret.as_bytes())
            .map_err(|e| SignInError::BadRequest(e.to_string()))?;
        let (handle, handle_hash) = new_handle();
        self.store
            .put_pending(
                &handle_hash,
                "totpEnrol",
                Some(&user.id),
                &sealed,
                PENDING_TTL_MS * 2,
            )
            .await?;
        Ok((handle, uri, svg))
    }

    /// Confirms TOTP enrolment with a first code.
    pub async fn totp_confirm(
        &self,
        actor: &Actor,
        user: &User,
        handle: &str,
        code: &str,
        label: &str,
    ) -> Result<String, SignInError> {
        let handle_hash = authn::hash_session_token(handle);
        let (owner, sealed) = self
            .store
            .peek_pending(&handle_hash, "totpEnrol")
            .await?
            .ok_or(SignInError::Expired)?;
        if owner.as_deref() != Some(user.id.as_str()) {
            return Err(SignInError::Expired);
        }
        let seed = self
            .sealer
            .open(&totp_context(&user.id), &sealed)
            .map_err(|_| SignInError::Expired)?;
        let secret = TotpSecret::from_bytes(seed).map_err(|_| SignInError::Expired)?;
        let now_secs = u64::try_from(self.now() / 1000).unwrap_or(0);
        let step = authn::totp::verify(&secret, code, now_secs, None)
            .map_err(|_| SignInError::InvalidCode)?;
        self.store
            .take_pending(&handle_hash, "totpEnrol")
            .await?
            .ok_or(SignInError::Expired)?;
        let id = self
            .store
            .add_auth_method(actor, &user.id, "totp", label, &sealed, None)
            .await?;
        // The confirming code is spent too.
        self.store
            .accept_totp_step(&id, i64::try_from(step).unwrap_or(i64::MAX))
            .await?;
        Ok(id)
    }

    /// Starts passkey registration for a signed-in user.
    pub async fn passkey_register_begin(
        &self,
        user: &User,
    ) -> Result<(Value, String), SignInError> {
        let existing: Vec<String> = self
            .store
            .list_auth_methods(&user.id, Some("passkey"))
            .await?
            .into_iter()
            .filter_map(|m| m.lookup_key)
            .collect();
        let user_uuid = uuid_of(&user.id);
        let (challenge, state) = self
            .relying
            .start_registration(
                user_uuid,
                &user.user_principal_name,
                &user.display_name,
                &existing,
            )
            .map_err(|e| SignInError::BadRequest(e.to_string()))?;
        let (handle, handle_hash) = new_handle();
        self.store
            .put_pending(
                &handle_hash,
                "passkeyEnrol",
                Some(&user.id),
                &state,
                PENDING_TTL_MS,
            )
            .await?;
        Ok((challenge, handle))
    }

    /// Finishes passkey registration.
    pub async fn passkey_register_finish(
        &self,
        actor: &Actor,
        user: &User,
        handle: &str,
        response: &Value,
        label: &str,
    ) -> Result<String, SignInError> {
        let (owner, state) = self
            .store
            .take_pending(&authn::hash_session_token(handle), "passkeyEnrol")
            .await?
            .ok_or(SignInError::Expired)?;
        if owner.as_deref() != Some(user.id.as_str()) {
            return Err(SignInError::Expired);
        }
        let stored = self
            .relying
            .finish_registration(&state, &response.to_string())
            .map_err(|e| SignInError::BadRequest(format!("the passkey was not accepted: {e}")))?;
        let sealed = self.seal_passkey(&user.id, &stored.passkey_json)?;
        let id = self
            .store
            .add_auth_method(
                actor,
                &user.id,
                "passkey",
                label,
                &sealed,
                Some(&stored.credential_id),
            )
            .await?;
        Ok(id)
    }

    /// New recovery codes (the old ones stop working); the codes are shown once.
    pub async fn regenerate_recovery_codes(
        &self,
        actor: &Actor,
        user: &User,
    ) -> Result<Vec<String>, SignInError> {
        let codes = authn::generate_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| authn::hash_recovery_code(c)).collect();
        self.store
            .replace_recovery_codes(actor, &user.id, &hashes)
            .await?;
        Ok(codes)
    }
}

/// The first factor of a sign-in: its `amr` value and its name in the sign-in log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FirstFactor {
    pub(crate) amr: &'static str,
    pub(crate) method: &'static str,
}

impl FirstFactor {
    /// A password (local or checked by the directory).
    pub(crate) const PASSWORD: FirstFactor = FirstFactor {
        amr: "pwd",
        method: "password",
    };
    /// An upstream identity provider (`fed`, as Entra ID writes it).
    pub(crate) const FEDERATED: FirstFactor = FirstFactor {
        amr: "fed",
        method: "federated",
    };

    fn named(method: Option<&str>) -> FirstFactor {
        match method {
            Some("federated") => FirstFactor::FEDERATED,
            _ => FirstFactor::PASSWORD,
        }
    }
}

/// The `amr` value of a sign-in with a temporary access pass.
pub const TAP_AMR: &str = "tap";
/// Bounds of a temporary access pass's lifetime, in minutes (Entra ID's).
const TAP_MIN_MINUTES: i64 = 10;
const TAP_MAX_MINUTES: i64 = 30 * 24 * 60;

/// A session restriction: only registering a second factor is allowed.
pub const RESTRICTED_TO_MFA_REGISTRATION: &str = "mfaRegistration";

impl SignIn {
    /// Logs a conditional-access refusal and returns the error to answer with.
    pub(crate) async fn refuse(
        &self,
        ctx: &RequestContext,
        client: ClientApp,
        user: &User,
        methods: &[&str],
        decision: &CaDecision,
    ) -> Result<SignInError, StoreError> {
        let why = if decision.blocking.is_empty() {
            format!(
                "requires {}, which Trustplane cannot verify",
                decision
                    .required
                    .iter()
                    .map(|r| r.join(" or "))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        } else {
            decision.blocking.join(", ")
        };
        let reason = format!("blocked by conditional access: {why}");
        self.log_with(
            ctx,
            client,
            Some(user),
            &user.user_principal_name,
            methods,
            Some(&reason),
            None,
            Some(&decision.log),
        )
        .await?;
        Ok(SignInError::Blocked(why))
    }

    /// A live session of a user by its id (not its token), as [`session`](Self::session)
    /// judges it: expired sessions and disabled users give `None`. Nothing is recorded.
    pub async fn session_by_id(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let Some(session) = self
            .store
            .list_sessions(user_id)
            .await?
            .into_iter()
            .find(|s| s.info.id == session_id)
        else {
            return Ok(None);
        };
        if self
            .sessions
            .check(session.created_at, session.last_seen_at, self.now())
            .is_err()
        {
            return Ok(None);
        }
        match self.store.get_user(user_id).await {
            Ok(u) if u.account_enabled => Ok(Some((session, u))),
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Conditional access for a signed-in session reaching an application: allowed, a
    /// step-up needed (the controls), or blocked. Each decision is recorded.
    pub async fn authorize_app(
        &self,
        session: &Session,
        user: &User,
        app_id: &str,
        ctx: &RequestContext,
    ) -> Result<CaDecision, StoreError> {
        let decision = self.app_decision(session, user, app_id, ctx).await?;
        self.record_app_access(session, user, app_id, ctx, &decision)
            .await?;
        Ok(decision)
    }

    /// [`authorize_app`](Self::authorize_app) without the record: for re-evaluating a
    /// session already admitted (the identity-aware proxy's periodic checks), which records
    /// only what changed.
    pub async fn app_decision(
        &self,
        session: &Session,
        user: &User,
        app_id: &str,
        ctx: &RequestContext,
    ) -> Result<CaDecision, StoreError> {
        let satisfied: &[&str] = if session.mfa_at.is_some() {
            &["mfa"]
        } else {
            &[]
        };
        let client = session_client(session);
        // The user's risk now (an alert may have raised it since the sign-in); the sign-in's
        // own risk was judged at sign-in and is not judged again here.
        let user_risk = self.risk.user_risk(&user.id).await?;
        let no_sign_in_risk = trustplane_risk::Assessment {
            level: trustplane_risk::RiskLevel::None,
            detections: Vec::new(),
            country: None,
        };
        let decision = self
            .ca
            .decide_with_risk(
                user,
                client,
                ctx,
                app_id,
                satisfied,
                &no_sign_in_risk,
                &user_risk,
            )
            .await?;
        Ok(decision)
    }

    /// Records a session's access to an application in the sign-in log (`appAccess`).
    pub async fn record_app_access(
        &self,
        session: &Session,
        user: &User,
        app_id: &str,
        ctx: &RequestContext,
        decision: &CaDecision,
    ) -> Result<(), StoreError> {
        let client = session_client(session);
        let outcome = match decision.outcome {
            CaOutcome::Block => "block",
            CaOutcome::Grant => "stepUp",
            CaOutcome::Allow => "allow",
        };
        let mut event = sign_in_event(
            ctx,
            client,
            Some(user),
            &user.user_principal_name,
            &[],
            (decision.outcome != CaOutcome::Allow).then_some(outcome),
            Some(&session.info.id),
            Some(&decision.log),
        );
        event.activity = "appAccess".into();
        event.target = Some(Target {
            kind: "application".into(),
            id: app_id.into(),
            display_name: None,
        });
        if let Some(after) = event.after.as_mut() {
            after["appId"] = Value::String(app_id.into());
        }
        self.store.record_sign_in(event).await?;
        Ok(())
    }
}

impl SignIn {
    /// Checks a new password against the policy (length, common passwords, the user's own
    /// names) and hashes it through the node's hashing gate.
    pub async fn new_password_hash(
        &self,
        password: &str,
        context: &[&str],
    ) -> Result<String, SignInError> {
        authn::check_password_policy(password, context)
            .map_err(|e| SignInError::BadRequest(format!("password: {e}")))?;
        match self.hashes.hash(password).await {
            Ok(hashed) => hashed.map_err(|e| SignInError::BadRequest(e.to_string())),
            Err(GateError::Busy { retry_after_secs }) => {
                Err(SignInError::Busy { retry_after_secs })
            }
            Err(e) => Err(SignInError::BadRequest(e.to_string())),
        }
    }

    /// Changes a user's own password after checking the current one; ends their other sessions
    /// and their OIDC grants. The current password is a guess like a sign-in's: the same
    /// limits apply to it.
    pub async fn change_password(
        &self,
        ctx: &RequestContext,
        actor: &Actor,
        session: &Session,
        user: &User,
        current: &str,
        new: &str,
    ) -> Result<(), SignInError> {
        if self.uses_pass_through(&user.id).await? {
            return Err(SignInError::BadRequest(
                "this password belongs to your organisation's directory: change it there".into(),
            ));
        }
        self.may_try(ctx, &user.id).await?;
        let (hash, _) = self.store.user_password(&user.id).await?;
        let valid = match self.hashes.verify(current, hash).await {
            Ok(check) => check.is_some_and(|c| c.valid),
            Err(GateError::Busy { retry_after_secs }) => {
                self.refund_ip(ctx);
                return Err(SignInError::Busy { retry_after_secs });
            }
            Err(_) => false,
        };
        if !valid {
            self.store.record_account_failure(&user.id).await?;
            return Err(SignInError::InvalidCredentials);
        }
        self.refund_ip(ctx);
        let hash = self
            .new_password_hash(new, &[&user.user_principal_name, &user.display_name])
            .await?;
        // Every other session and every OIDC grant end with the old password, in the same
        // transaction as the change.
        let patch = trustplane_store::UserPatch {
            password_hash: Some(hash),
            password_must_change: false,
            password_sign_ins: trustplane_store::PasswordSignIns::KeepSession(
                session.info.id.clone(),
            ),
            ..Default::default()
        };
        self.store.update_user(actor, &user.id, patch).await?;
        // A person at risk who proved a second factor and changed their password has
        // remediated their user risk (Entra's secure password change).
        self.risk
            .remediate_after_password_change(actor, user, self.second_factor_is_recent(session))
            .await?;
        Ok(())
    }

    /// Whether the person's password is checked by the directory they were imported from.
    pub async fn uses_pass_through(&self, user_id: &str) -> Result<bool, StoreError> {
        let Some(source) = self.store.object_source(user_id).await? else {
            return Ok(false);
        };
        let conn = self
            .store
            .get_directory_connection(&source.connection_id)
            .await?;
        Ok(trustplane_directory_sync::pass_through_enabled(&conn))
    }

    /// Whether the user must choose a new password before doing anything else.
    pub async fn must_change_password(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.store.user_password(user_id).await?.1)
    }

    /// Whether the person behind `session` must change their password before anything else.
    /// Signed in with a temporary access pass, they never typed the password and cannot
    /// change it by its current value: they register methods instead.
    pub async fn must_change_password_first(&self, session: &Session) -> Result<bool, StoreError> {
        if session.info.amr.iter().any(|a| a == TAP_AMR) {
            return Ok(false);
        }
        self.must_change_password(&session.info.user_id).await
    }

    /// Records in `session` that a second factor (`amr`, as RFC 8176 names it) was proven
    /// now. Registering a factor counts as proving it: it also lifts a session's
    /// registration-only restriction.
    pub async fn mark_second_factor(&self, session: &Session, amr: &str) -> Result<(), StoreError> {
        let mut refs = session.info.amr.clone();
        for r in [amr, "mfa"] {
            if !refs.iter().any(|x| x == r) {
                refs.push(r.into());
            }
        }
        self.store.mark_session_mfa(&session.info.id, &refs).await
    }
}

/// WebAuthn user handles are UUIDs; directory ids are UUIDs too, so they map directly.
fn uuid_of(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id)
        .unwrap_or_else(|_| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, id.as_bytes()))
}
