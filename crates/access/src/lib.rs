//! Conditional access for Trustplane: Microsoft Graph `conditionalAccessPolicy` JSON in, a
//! decision with reasons out. A pure library: no network, no database.
//!
//! # Stages
//!
//! 1. **Parse** ([`ConditionalAccessPolicy::from_json`], [`NamedLocation::from_json`],
//!    [`load_policies`], [`load_named_locations`]): Graph JSON (v1.0 plus the beta fields real
//!    exports carry) into serde types. Enum values match without regard to case; unknown
//!    properties, including `@odata.*` annotations, are kept in each object's `extra` map
//!    and written back on serialisation. Errors name the JSON path ([`ParseError`]).
//! 2. **Validate** ([`ConditionalAccessPolicy::validate`]): Graph's write-time rules
//!    (`block` stands alone, `passwordChange` needs `mfa` under `AND`, someone and something
//!    must be included, ...) plus values this engine cannot evaluate. Every error names its
//!    field ([`ValidationError`]).
//! 3. **Compile** ([`PolicySet::compile`]): validation of everything at once, then an indexed
//!    form: per condition and per context value a bit set of the policies that match, and
//!    posting lists from ids (users, groups, roles, apps, named locations) to policies.
//! 4. **Evaluate** ([`PolicySet::evaluate`]): one sign-in ([`SignInContext`]) against all
//!    policies with bit-set operations, then grant and session controls of the policies
//!    that apply ([`Decision`]).
//! 5. **Explain** ([`PolicySet::report`], [`PolicySet::explain`], [`what_if`]): the
//!    serialisable [`Report`] with `result`, `enforcedPolicies`, `reportOnlyPolicies`,
//!    `requiredControls`, `sessionControls` and `notAppliedPolicies` with Graph what-if
//!    `analysisReasons`; [`Report::to_graph_results`] gives the same in the shape of Graph's
//!    evaluate response.
//!
//! # Semantics (as Microsoft documents them)
//!
//! A policy applies only if every configured condition matches; an exclusion beats an
//! inclusion; `disabled` never applies; `enabledForReportingButNotEnforced` is reported with
//! what it would have done but never changes the result. Every applied enabled policy must
//! be satisfied; `block` wins; a policy's grant controls combine by its operator (`AND`/`OR`);
//! session controls accumulate and the strictest value wins. The overall result is
//! `block`, else `grant` when controls are still required, else `allow`.
//!
//! Fail-closed choices where facts are missing: an unknown platform matches only `all`; an
//! unknown country matches only country locations with `includeUnknownCountriesAndRegions`;
//! when a device filter's result depends on a device attribute the sign-in does not carry,
//! the device stays in the policy's scope (neither excluded nor left out of an include
//! filter); an application filter treats a missing attribute as not set; a reference to a named
//! location that was not supplied matches nothing (and is listed in
//! [`PolicySet::warnings`]).
//!
//! Satisfied controls: `mfa` is satisfied by `mfa` or any built-in authentication strength
//! id in [`SignInContext::satisfied_controls`]; built-in strengths nest (phishing-resistant
//! `…0004` satisfies passwordless `…0003`, which satisfies MFA `…0002`, which `mfa`
//! satisfies; the display names `Multifactor authentication`, `Passwordless MFA` and
//! `Phishing-resistant MFA` work too); a custom strength is satisfied by its id or display
//! name; `compliantDevice` and `domainJoinedDevice` follow [`DeviceInfo`]; other controls are
//! satisfied by naming them (`passwordChange`, a terms of use id, or `termsOfUse:<id>`).
//!
//! # Using it at sign-in
//!
//! Compile once when policies change ([`PolicySet`] is `Send + Sync`), then per sign-in:
//! [`PolicySet::evaluate`] → [`Decision::result`]; on `grant`,
//! [`PolicySet::required_controls`] says what to step up to; on `block`,
//! [`PolicySet::blocking_policies`] names the policies for the error page and sign-in log;
//! [`Decision::session_controls`] gives sign-in frequency, persistent browser and the rest;
//! [`Decision::report_only`] gives what report-only policies would have done. The country
//! comes from the caller; [`CountryLookup`] (with `MaxMindCountryLookup` behind the default
//! `geoip` feature) and [`resolve_country`] fill it from the IP address.
//! [`security_defaults`] returns the two safe defaults for a new install (block legacy
//! authentication; MFA for Global, Privileged Role, User, Application and Security
//! Administrators and Security Readers) as ordinary, editable Graph policies.
//!
//! # Not supported (parsed and kept, not evaluated)
//!
//! - `conditions.times` (deprecated by Graph): ignored.
//! - Agent identities (`agents`, `agentIdRiskLevels`, `includeAgentIdServicePrincipals`,
//!   `AllAgentIdResources`): such policies never apply to user or service principal
//!   sign-ins here, because the context has no agent facts.
//! - Global Secure Access traffic profiles in `applications`: match no application (a compile
//!   warning says so); `servicePrincipalFilter`: not evaluated.
//! - `Office365` / `MicrosoftAdminPortals`: resolved from a small built-in table of well-known
//!   app ids plus the caller's `applicationGroups`; Microsoft's full membership is not
//!   published as data.
//! - Custom authentication strengths: satisfied by naming their id or display name in
//!   `satisfiedControls`; their `allowedCombinations` are not checked against methods.
//! - Device filter operators `-match`/`-notMatch` and custom security attribute semantics
//!   beyond string comparison: a rule using them fails validation (rejected at import), as
//!   does a rule nested deeper than 32 levels or with more than 256 comparisons.
//! - The legacy MFA trusted IPs location (`00000000-0000-0000-0000-000000000000`): not
//!   modelled; referenced as an unknown named location.
//! - Session controls other than those in [`SessionOutcome`] are listed by name in
//!   [`SessionOutcome::other`] but not merged.
//!
//! # What-if input
//!
//! [`parse_input`] accepts a flat object (every field optional):
//!
//! ```json
//! {
//!   "userId": "…", "groupIds": ["…"], "roleIds": ["62e90394-69f5-4237-9190-012177145e10"],
//!   "isGuest": false, "guestType": "b2bCollaborationGuest", "homeTenantId": "…",
//!   "applicationId": "…", "applicationGroups": ["Office365"],
//!   "userAction": "urn:user:registersecurityinfo", "authenticationContexts": ["c1"],
//!   "clientApp": "browser | mobileAppsAndDesktopClients | exchangeActiveSync | other",
//!   "devicePlatform": "windows", "ip": "192.0.2.10", "country": "NL",
//!   "compliantNetwork": false, "signInRisk": "high", "userRisk": "none",
//!   "servicePrincipalId": "…", "servicePrincipalRisk": "low",
//!   "insiderRisk": "elevated", "authenticationFlow": "deviceCodeFlow",
//!   "device": { "compliant": true, "trusted": false,
//!               "attributes": { "deviceOwnership": "Company" } },
//!   "satisfiedControls": ["mfa"]
//! }
//! ```
//!
//! Unset facts default to: client app `browser`, risks `none`, platform and country unknown,
//! device neither compliant nor trusted, nothing satisfied. Unknown enum values are errors
//! naming the field. (`user`, `groups`, `roles`, `app`, `platform`, `ipAddress` are accepted
//! as aliases.) It
//! also accepts Graph's `POST /identity/conditionalAccess/evaluate` body
//! (`signInIdentity`, `signInContext`, `signInConditions`), with the directory facts Graph
//! would look up itself (`groupIds`, `roleIds`, `isGuest`, `satisfiedControls`) at its top
//! level.
//!
//! # Example
//!
//! ```
//! use trustplane_access::{security_defaults, Outcome, PolicySet, SignInContext, ClientAppType};
//!
//! let set = PolicySet::compile(&security_defaults(), &[]).unwrap();
//! let ctx = SignInContext {
//!     user_id: Some("a1b2".into()),
//!     client_app: Some(ClientAppType::OtherClients),
//!     ..Default::default()
//! };
//! assert_eq!(set.evaluate(&ctx).result(), Outcome::Block);
//! ```
#![warn(missing_docs)]

mod bits;
mod compile;
mod context;
mod de;
mod defaults;
mod enums;
mod error;
mod evaluate;
mod filter;
#[cfg(feature = "geoip")]
mod geoip;
mod location;
mod policy;
mod report;
mod session;
mod validate;
mod whatif;

pub use compile::PolicySet;
pub use context::{DeviceInfo, SignInContext};
pub use de::{Extra, FlagSet};
pub use defaults::{
    security_defaults, security_defaults_json, ADMIN_MFA_ID, ADMIN_ROLES, BLOCK_LEGACY_AUTH_ID,
};
pub use enums::*;
pub use error::{Error, ParseError, ValidationError, ValidationErrors};
pub use evaluate::{AppliedPolicy, Decision, Outcome};
#[cfg(feature = "geoip")]
pub use geoip::{GeoPoint, MaxMindCountryLookup};
pub use location::{
    CountryLookup, CountryNamedLocation, IpNamedLocation, IpRange, NamedLocation,
    OtherNamedLocation, StaticCountryLookup,
};
pub use policy::*;
pub use report::{NotAppliedPolicy, PolicyResult, Report, RequiredControl};
pub use session::{Frequency, SessionOutcome};
pub use whatif::{load_named_locations, load_policies, parse_input, resolve_country, what_if};
