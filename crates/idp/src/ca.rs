//! Conditional access at sign-in and at application access: the stored Graph policies,
//! compiled once per version (every node recompiles when another changes them), evaluated
//! against what we know of the user and the request.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::RwLock;
use trustplane_access::{
    resolve_country, ClientAppType, ConditionalAccessPolicy, DevicePlatform, MaxMindCountryLookup,
    NamedLocation, Outcome, PolicySet, SessionOutcome, SignInContext,
};
use trustplane_model::{Actor, User};
use trustplane_store::{CaKind, Store, StoreError, Topic};

use crate::{ClientApp, RequestContext};

/// The application id of Trustplane's own sign-in and portal.
pub const PORTAL_APP_ID: &str = "trustplane";

/// What conditional access decided, ready for the sign-in flow and its log.
#[derive(Debug, Clone)]
pub struct CaDecision {
    /// block, grant (controls still needed) or allow.
    pub outcome: Outcome,
    /// Names of the enforced policies that block.
    pub blocking: Vec<String>,
    /// Controls still needed: every inner list is an any-of set.
    pub required: Vec<Vec<String>>,
    /// The sign-in log's conditional-access part.
    pub log: Value,
    /// The session controls of the enforced policies, strictest wins.
    pub session: SessionOutcome,
}

impl CaDecision {
    /// Whether a second factor satisfies every required set.
    pub fn mfa_satisfies(&self) -> bool {
        self.required.iter().all(|any_of| {
            any_of
                .iter()
                .any(|c| c == "mfa" || c.starts_with("authenticationStrength:"))
        })
    }

    /// Whether MFA is among what is required.
    pub fn requires_mfa(&self) -> bool {
        self.outcome == Outcome::Grant && !self.required.is_empty()
    }
}

/// The policy engine of a node.
pub struct ConditionalAccess {
    store: Store,
    cache: RwLock<Option<CachedSet>>,
    geoip: Option<MaxMindCountryLookup>,
}

/// How long a cached read may be used without asking the store whether it changed: the
/// longest a change made by another process can go unseen when its notification is lost.
pub const CACHE_FRESH_MS: i64 = 1000;

/// The compiled policy set and when it was last known current.
struct CachedSet {
    version: String,
    generation: u64,
    checked_at: i64,
    set: Arc<PolicySet>,
}

impl CachedSet {
    fn fresh(&self, generation: u64, now: i64) -> bool {
        self.generation == generation
            && now >= self.checked_at
            && now - self.checked_at < CACHE_FRESH_MS
    }
}

impl ConditionalAccess {
    /// An engine over the store; `geoip` is a MaxMind database for country locations.
    pub fn new(store: Store, geoip: Option<&Path>) -> Result<Self, StoreError> {
        let geoip = match geoip {
            Some(p) => Some(
                MaxMindCountryLookup::open(p).map_err(|e| StoreError::Invalid {
                    field: "geoip_database",
                    message: e.to_string(),
                })?,
            ),
            None => None,
        };
        Ok(ConditionalAccess {
            store,
            cache: RwLock::new(None),
            geoip,
        })
    }

    /// The country database, if configured.
    pub fn geoip(&self) -> Option<&MaxMindCountryLookup> {
        self.geoip.as_ref()
    }

    /// Evaluates the policies for a user's request with the sign-in's and the user's risk
    /// (`signInRiskLevels`, `userRiskLevels`); the log says what the levels were and why.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_with_risk(
        &self,
        user: &User,
        client: ClientApp,
        req: &RequestContext,
        app_id: &str,
        satisfied: &[&str],
        sign_in: &trustplane_risk::Assessment,
        user_risk: &trustplane_risk::UserRisk,
    ) -> Result<CaDecision, StoreError> {
        let mut ctx = self.context(user, client, req, app_id, satisfied).await?;
        ctx.sign_in_risk = Some(sign_in.level.to_access());
        ctx.user_risk = Some(user_risk.level.to_access());
        let mut decision = self.decide_context(&ctx).await?;
        decision.log["riskLevelDuringSignIn"] = json!(sign_in.level);
        decision.log["riskEventTypes_v2"] = json!(sign_in
            .detections
            .iter()
            .map(|d| d.kind.as_str())
            .collect::<Vec<_>>());
        decision.log["riskLevelAggregated"] = json!(user_risk.level);
        decision.log["riskState"] = json!(user_risk.state);
        Ok(decision)
    }

    /// The compiled set for the stored version, compiled again only when it changed.
    ///
    /// The stored version is read at most once a second ([`CACHE_FRESH_MS`]) and whenever a
    /// policy change was committed here or announced by another node, so evaluations in
    /// between cost no database round trip.
    pub async fn policy_set(&self) -> Result<Arc<PolicySet>, StoreError> {
        // Taken before reading, so a change committed meanwhile is read next time.
        let generation = self.store.changes().generation(Topic::Policies);
        let now = self.store.clock().now_ms();
        if let Some(c) = self.cache.read().await.as_ref() {
            if c.fresh(generation, now) {
                return Ok(c.set.clone());
            }
        }
        let version = self.store.ca_version().await?;
        if let Some(c) = self.cache.write().await.as_mut() {
            if c.version == version {
                c.generation = generation;
                c.checked_at = now;
                return Ok(c.set.clone());
            }
        }
        let policies: Vec<ConditionalAccessPolicy> = self
            .store
            .list_ca(CaKind::Policy)
            .await?
            .into_iter()
            .filter_map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| tracing::error!(error = %e, "a stored policy does not parse"))
                    .ok()
            })
            .collect();
        let locations: Vec<NamedLocation> = self
            .store
            .list_ca(CaKind::NamedLocation)
            .await?
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        let set = match PolicySet::compile(&policies, &locations) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                // Every policy was validated on the way in, so this means stored data changed
                // behind our back. Keep the last good set rather than fail open or closed.
                tracing::error!(error = %e, "stored policies do not compile; keeping the previous set");
                if let Some(c) = self.cache.read().await.as_ref() {
                    return Ok(c.set.clone());
                }
                return Err(StoreError::Corrupt(format!(
                    "stored policies do not compile: {e}"
                )));
            }
        };
        *self.cache.write().await = Some(CachedSet {
            version,
            generation,
            checked_at: now,
            set: set.clone(),
        });
        Ok(set)
    }

    /// The evaluation context of a user's request for an application.
    pub async fn context(
        &self,
        user: &User,
        client: ClientApp,
        req: &RequestContext,
        app_id: &str,
        satisfied: &[&str],
    ) -> Result<SignInContext, StoreError> {
        let group_ids = self.store.group_ids_of(&user.id, true).await?;
        let role_ids = self
            .store
            .effective_roles(&user.id)
            .await?
            .into_iter()
            .map(|r| r.template_id)
            .collect();
        let mut ctx = SignInContext {
            user_id: Some(user.id.clone()),
            group_ids,
            role_ids,
            application_id: Some(app_id.to_string()),
            client_app: Some(ClientAppType::parse(client.as_str())),
            device_platform: Some(DevicePlatform::parse(req.device_platform)),
            ip: req.ip,
            satisfied_controls: satisfied.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        if let Some(lookup) = &self.geoip {
            resolve_country(&mut ctx, lookup);
        }
        Ok(ctx)
    }

    /// Evaluates the policies for a user's request.
    pub async fn decide(
        &self,
        user: &User,
        client: ClientApp,
        req: &RequestContext,
        app_id: &str,
        satisfied: &[&str],
    ) -> Result<CaDecision, StoreError> {
        let ctx = self.context(user, client, req, app_id, satisfied).await?;
        self.decide_context(&ctx).await
    }

    /// Evaluates the policies for a workload identity (an application acting as itself, as
    /// with OAuth client credentials): only policies that target service principals apply.
    pub async fn decide_workload(
        &self,
        service_principal_id: &str,
        app_id: &str,
        req: &RequestContext,
    ) -> Result<CaDecision, StoreError> {
        let mut ctx = SignInContext {
            service_principal_id: Some(service_principal_id.to_string()),
            application_id: Some(app_id.to_string()),
            client_app: Some(ClientAppType::parse(
                ClientApp::MobileAppsAndDesktopClients.as_str(),
            )),
            ip: req.ip,
            ..Default::default()
        };
        if let Some(lookup) = &self.geoip {
            resolve_country(&mut ctx, lookup);
        }
        self.decide_context(&ctx).await
    }

    /// Decides for a sign-in context already resolved (locations, country, risk).
    pub async fn decide_context(&self, ctx: &SignInContext) -> Result<CaDecision, StoreError> {
        let set = self.policy_set().await?;
        let decision = set.evaluate(ctx);
        let report = serde_json::to_value(set.report(&decision)).unwrap_or_default();
        let name_of = |id: &str| -> String {
            report["enforcedPolicies"]
                .as_array()
                .and_then(|a| a.iter().find(|p| p["id"] == id))
                .and_then(|p| p["displayName"].as_str())
                .unwrap_or(id)
                .to_string()
        };
        let blocking = set
            .blocking_policies(&decision)
            .into_iter()
            .map(name_of)
            .collect();
        let required = set
            .required_controls(&decision)
            .into_iter()
            .map(|r| r.any_of)
            .collect();
        let status = match decision.result() {
            Outcome::Block => "failure",
            _ if report["enforcedPolicies"]
                .as_array()
                .is_some_and(|a| !a.is_empty()) =>
            {
                "success"
            }
            _ => "notApplied",
        };
        let log = json!({
            "conditionalAccessStatus": status,
            "appliedConditionalAccessPolicies": report["enforcedPolicies"],
            "reportOnlyConditionalAccessPolicies": report["reportOnlyPolicies"],
            "country": ctx.country,
        });
        Ok(CaDecision {
            outcome: decision.result(),
            blocking,
            required,
            log,
            session: decision.session_controls().clone(),
        })
    }

    /// Installs the default policies (block legacy authentication, MFA for administrators)
    /// on a store that never had them, once.
    pub async fn seed_defaults(&self) -> Result<(), StoreError> {
        if self.store.setting("ca_defaults_seeded").await?.is_some() {
            return Ok(());
        }
        if self
            .store
            .setting_or_insert("ca_defaults_seeded", "1")
            .await?
            != "1"
        {
            return Ok(());
        }
        for policy in trustplane_access::security_defaults_json() {
            let name = policy["displayName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let state = policy["state"].as_str().map(str::to_string);
            match self
                .store
                .create_ca(
                    &Actor::system(),
                    CaKind::Policy,
                    policy,
                    &name,
                    state.as_deref(),
                )
                .await
            {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
