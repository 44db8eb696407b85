//! The what-if report: a [`Decision`] explained with ids, names, required controls and Graph
//! `analysisReasons` for every policy that did not apply.

use serde::Serialize;

use crate::compile::*;
use crate::context::SignInContext;
use crate::evaluate::{AppliedPolicy, Decision, Outcome};
use crate::session::SessionOutcome;

/// A set of controls of which any one satisfies the requirement; the sign-in must satisfy
/// every such set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredControl {
    /// Control names: built-in controls (`mfa`), or `kind:id` for authentication strengths,
    /// terms of use and custom controls.
    pub any_of: Vec<String>,
    /// The policies that require it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
}

/// A policy's grant controls in full, as written, whatever this sign-in already satisfies
/// (Graph's `whatIfAnalysisResult` carries the whole policy the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantControlsSummary {
    /// `AND` (every control) or `OR` (any one).
    pub operator: &'static str,
    /// Every control: `block`, built-in controls (`mfa`, `compliantDevice`), or `kind:id`.
    pub controls: Vec<String>,
}

/// One applied policy in a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResult {
    /// The policy id (or display name when it has none).
    pub id: String,
    /// The display name.
    pub display_name: String,
    /// What the policy does (or, report-only, would do) to this sign-in.
    pub result: Outcome,
    /// Its grant controls in full; absent for a policy with session controls only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_controls: Option<GrantControlsSummary>,
    /// The controls it still requires of this sign-in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_controls: Vec<RequiredControl>,
    /// Its session controls.
    #[serde(skip_serializing_if = "SessionOutcome::is_empty")]
    pub session_controls: SessionOutcome,
}

/// A policy that did not apply, with Graph what-if `analysisReasons`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotAppliedPolicy {
    /// The policy id (or display name when it has none).
    pub id: String,
    /// The display name.
    pub display_name: String,
    /// The policy state.
    pub state: String,
    /// Every condition that did not match: `users`, `application`, `userActions`,
    /// `authenticationContext`, `clientApps`, `devicePlatform`, `location`, `signInRisk`,
    /// `userRisk`, `insiderRisk`, `authenticationFlow`, `devices`, `workloadIdentities`,
    /// `policyNotEnabled`.
    pub reasons: Vec<&'static str>,
}

/// The full explanation of a decision, serialised as the what-if output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `block`, `grant` or `allow`.
    pub result: Outcome,
    /// Applied enabled policies.
    pub enforced_policies: Vec<PolicyResult>,
    /// Applied report-only policies, with what they would have done.
    pub report_only_policies: Vec<PolicyResult>,
    /// Controls the sign-in must still satisfy (empty when blocked).
    pub required_controls: Vec<RequiredControl>,
    /// Session controls of the enforced policies, strictest wins.
    pub session_controls: SessionOutcome,
    /// Policies that did not apply, with reasons.
    pub not_applied_policies: Vec<NotAppliedPolicy>,
    /// Compile warnings (e.g. unknown named locations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl PolicySet {
    /// Evaluates and explains: the what-if report for one sign-in.
    pub fn explain(&self, ctx: &SignInContext) -> Report {
        self.report(&self.run(ctx, true))
    }

    /// Turns a decision into the what-if report (ids, names, controls, reasons). Reasons for
    /// policies that did not apply are only known for decisions made by
    /// [`PolicySet::explain`] or [`PolicySet::evaluate_with_reasons`]; for others each
    /// not-applied policy lists `notEnoughInformation`.
    pub fn report(&self, d: &Decision) -> Report {
        let result_of = |a: &AppliedPolicy| -> Option<PolicyResult> {
            let p = self.policies.get(a.index())?;
            Some(PolicyResult {
                id: p.id.clone(),
                display_name: p.display_name.clone(),
                result: a.outcome,
                grant_controls: grant_summary(p),
                required_controls: groups(p, a)
                    .into_iter()
                    .map(|any_of| RequiredControl {
                        any_of,
                        policies: Vec::new(),
                    })
                    .collect(),
                session_controls: p.session.clone(),
            })
        };
        let required = self.required_controls(d);
        let applied: std::collections::HashSet<usize> = d
            .enforced
            .iter()
            .chain(&d.report_only)
            .map(AppliedPolicy::index)
            .collect();
        let not_applied = self
            .policies
            .iter()
            .enumerate()
            .filter(|(i, _)| !applied.contains(i))
            .map(|(i, p)| NotAppliedPolicy {
                id: p.id.clone(),
                display_name: p.display_name.clone(),
                state: p.state.to_string(),
                reasons: if d.masks.is_empty() {
                    vec!["notEnoughInformation"]
                } else {
                    ALL_CONDS
                        .iter()
                        .filter(|c| !d.cond(**c, i))
                        .map(|c| reason_name(*c, p))
                        .collect()
                },
            })
            .collect();
        Report {
            result: d.result,
            enforced_policies: d.enforced.iter().filter_map(result_of).collect(),
            report_only_policies: d.report_only.iter().filter_map(result_of).collect(),
            required_controls: required,
            session_controls: d.session.clone(),
            not_applied_policies: not_applied,
            warnings: self.warnings.clone(),
        }
    }

    /// The id (or display name) of an applied policy.
    pub fn policy_id(&self, a: &AppliedPolicy) -> Option<&str> {
        self.policies.get(a.index()).map(|p| p.id.as_str())
    }

    /// The controls the sign-in must still satisfy, as any-of sets that must all be met,
    /// each naming the policies that require it; empty unless the result is `grant`. This is
    /// what a sign-in flow needs for step-up, without building the full report.
    pub fn required_controls(&self, d: &Decision) -> Vec<RequiredControl> {
        let mut required: Vec<RequiredControl> = Vec::new();
        if d.result != Outcome::Grant {
            return required;
        }
        for a in &d.enforced {
            let Some(p) = self.policies.get(a.index()) else {
                continue;
            };
            for any_of in groups(p, a) {
                match required.iter_mut().find(|r| r.any_of == any_of) {
                    Some(r) => r.policies.push(p.id.clone()),
                    None => required.push(RequiredControl {
                        any_of,
                        policies: vec![p.id.clone()],
                    }),
                }
            }
        }
        required
    }

    /// Ids of the enforced policies that block the sign-in (for the error page and the
    /// sign-in log).
    pub fn blocking_policies(&self, d: &Decision) -> Vec<&str> {
        d.enforced
            .iter()
            .filter(|a| a.outcome == Outcome::Block)
            .filter_map(|a| self.policy_id(a))
            .collect()
    }
}

fn requirement_name(r: &Requirement) -> String {
    match r {
        Requirement::BuiltIn(c) => c.as_str().to_owned(),
        Requirement::BuiltInStrength(_, id) => format!("authenticationStrength:{id}"),
        Requirement::ById(kind, id) => format!("{kind}:{id}"),
        Requirement::CustomStrength { id, .. } => format!("authenticationStrength:{id}"),
    }
}

fn reason_name(c: Cond, p: &CompiledPolicy) -> &'static str {
    match c {
        Cond::Users => "users",
        Cond::Application => p.app_reason,
        Cond::ClientApps => "clientApps",
        Cond::DevicePlatform => "devicePlatform",
        Cond::Location => "location",
        Cond::SignInRisk => "signInRisk",
        Cond::UserRisk => "userRisk",
        Cond::InsiderRisk => "insiderRisk",
        Cond::AuthenticationFlow => "authenticationFlow",
        Cond::Devices => "devices",
        Cond::WorkloadIdentities => "workloadIdentities",
        Cond::State => "policyNotEnabled",
    }
}

/// A policy's grant controls as written.
fn grant_summary(p: &CompiledPolicy) -> Option<GrantControlsSummary> {
    let mut controls: Vec<String> = Vec::new();
    if p.block {
        controls.push("block".to_owned());
    }
    controls.extend(p.requirements.iter().map(requirement_name));
    (!controls.is_empty()).then_some(GrantControlsSummary {
        operator: if p.operator_and { "AND" } else { "OR" },
        controls,
    })
}

/// The requirement groups (any-of sets) a policy still needs.
fn groups(p: &CompiledPolicy, a: &AppliedPolicy) -> Vec<Vec<String>> {
    if a.outcome != Outcome::Grant {
        return Vec::new();
    }
    let unsatisfied = p
        .requirements
        .iter()
        .enumerate()
        .filter(|(i, _)| a.unsatisfied & (1u64 << i) != 0)
        .map(|(_, r)| requirement_name(r));
    if p.operator_and {
        unsatisfied.map(|n| vec![n]).collect()
    } else {
        vec![unsatisfied.collect()]
    }
}

impl Report {
    /// The report in the shape of Graph's `POST /identity/conditionalAccess/evaluate`
    /// response: one `whatIfAnalysisResult` per policy with `id`, `displayName`, `state`,
    /// `policyApplies` and `analysisReasons` (a flags enum: `notSet` when the policy applies,
    /// else the reasons joined by commas).
    pub fn to_graph_results(&self) -> serde_json::Value {
        let applied = |p: &PolicyResult, state: &str| {
            let mut result = serde_json::json!({
                "@odata.type": "#microsoft.graph.whatIfAnalysisResult",
                "id": p.id,
                "displayName": p.display_name,
                "state": state,
                "policyApplies": true,
                "analysisReasons": "notSet",
            });
            if let Some(g) = &p.grant_controls {
                result["grantControls"] = graph_grant_controls(g);
            }
            result
        };
        let mut value: Vec<serde_json::Value> = self
            .enforced_policies
            .iter()
            .map(|p| applied(p, "enabled"))
            .chain(
                self.report_only_policies
                    .iter()
                    .map(|p| applied(p, "enabledForReportingButNotEnforced")),
            )
            .collect();
        value.extend(self.not_applied_policies.iter().map(|p| {
            serde_json::json!({
                "@odata.type": "#microsoft.graph.whatIfAnalysisResult",
                "id": p.id,
                "displayName": p.display_name,
                "state": p.state,
                "policyApplies": false,
                "analysisReasons": p.reasons.join(","),
            })
        }));
        serde_json::json!({ "value": value })
    }
}

/// Grant controls in Graph's `conditionalAccessGrantControls` shape.
fn graph_grant_controls(g: &GrantControlsSummary) -> serde_json::Value {
    let mut built_in = Vec::new();
    let mut terms = Vec::new();
    let mut custom = Vec::new();
    let mut strength = serde_json::Value::Null;
    for c in &g.controls {
        match c.split_once(':') {
            Some(("authenticationStrength", id)) => strength = serde_json::json!({ "id": id }),
            Some(("termsOfUse", id)) => terms.push(id.to_owned()),
            Some((_, id)) => custom.push(id.to_owned()),
            None => built_in.push(c.clone()),
        }
    }
    serde_json::json!({
        "operator": g.operator,
        "builtInControls": built_in,
        "termsOfUse": terms,
        "customAuthenticationFactors": custom,
        "authenticationStrength": strength,
    })
}
