//! Business counters derived from the audit trail: every sign-in, token, SAML response, alert,
//! PIM activation and scan is audited, so counting committed audit entries in one place
//! keeps the counters in step with the log and out of the engines. The same entries are
//! logged at info level once committed, so an operator's log shows every sign-in outcome,
//! lockout, alert, approval and scan without reading the audit trail.

use serde_json::Value;
use trustplane_model::{Event, Outcome};

/// What one committed audit entry adds to the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    name: &'static str,
    labels: Vec<(&'static str, String)>,
}

/// The counters an audit entry feeds, or none.
pub(crate) fn tallies(event: &Event) -> Vec<Tally> {
    let after = event.after.as_ref();
    let text = |key: &str| {
        after
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string()
    };
    let result = match event.result {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
    };
    let tally = |name, labels: Vec<(&'static str, String)>| Tally { name, labels };
    match (event.category.as_str(), event.activity.as_str()) {
        ("signIn", "signIn") => {
            let mut out = vec![tally(
                "trustplane_sign_ins_total",
                vec![
                    ("result", result.to_string()),
                    ("client", text("clientAppUsed")),
                ],
            )];
            // A failure after a method other than the password was tried: a second factor
            // (or a passkey) that did not check out.
            let second = after
                .and_then(|a| a.get("authenticationMethodsUsed"))
                .and_then(Value::as_array)
                .and_then(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .find(|m| *m != "password")
                        .map(str::to_string)
                });
            if let (Outcome::Failure, Some(method)) = (&event.result, second) {
                out.push(tally(
                    "trustplane_mfa_failures_total",
                    vec![("method", method)],
                ));
            }
            out
        }
        (_, "oidc.token.issue") => vec![tally(
            "trustplane_oidc_tokens_issued_total",
            vec![("grant_type", text("grantType"))],
        )],
        (_, "saml.response") => vec![tally(
            "trustplane_saml_responses_total",
            vec![("result", result.to_string())],
        )],
        (_, "alert.create") => vec![tally(
            "trustplane_alerts_total",
            vec![("level", text("level"))],
        )],
        (_, "pim.activation.start") => vec![tally(
            "trustplane_pim_activations_total",
            vec![("result", "active".into())],
        )],
        (_, "pim.activation.fail") => vec![tally(
            "trustplane_pim_activations_total",
            vec![("result", "failed".into())],
        )],
        (_, "cloudAccount.scan") => vec![tally(
            "trustplane_scans_total",
            vec![("status", text("status"))],
        )],
        (_, "scan.complete") => vec![tally(
            "trustplane_scans_total",
            vec![("status", "RECORDED".into())],
        )],
        _ => Vec::new(),
    }
}

/// An audited entry worth a line in the operator's log.
#[derive(Debug, Clone)]
pub(crate) struct Notable {
    activity: String,
    result: &'static str,
    reason: Option<String>,
    actor: String,
    ip: Option<String>,
    target: Option<String>,
    tallies: Vec<Tally>,
}

/// Activities logged at info level besides those that feed a counter.
const LOGGED: &[&str] = &[
    "pim.request.create",
    "pim.request.approve",
    "pim.request.deny",
    "pim.activation.expire",
    "pim.activation.deactivate",
    "pim.activation.revoke",
    "breakGlass.recover",
];

/// What of `event` is logged and counted once its change is committed, if anything.
pub(crate) fn notable(event: &Event) -> Option<Notable> {
    let tallies = tallies(event);
    if tallies.is_empty() && !LOGGED.contains(&event.activity.as_str()) {
        return None;
    }
    let name = |id: &str, display: &Option<String>| display.clone().unwrap_or_else(|| id.into());
    Some(Notable {
        activity: event.activity.clone(),
        result: match event.result {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        },
        // Reasons are short fixed texts or an engine's message; bound them for the log.
        reason: event
            .result_reason
            .as_ref()
            .map(|r| r.chars().take(300).collect()),
        actor: name(&event.initiated_by.id, &event.initiated_by.display_name),
        ip: event.initiated_by.ip_address.clone(),
        target: event.target.as_ref().map(|t| name(&t.id, &t.display_name)),
        tallies,
    })
}

/// Logs committed entries and adds their tallies to the process's metrics recorder.
pub(crate) fn report(committed: &[Notable]) {
    for n in committed {
        let reason = n.reason.as_deref().unwrap_or("");
        let ip = n.ip.as_deref().unwrap_or("");
        let target = n.target.as_deref().unwrap_or("");
        if n.activity == "signIn" && reason.contains("locked") {
            tracing::warn!(actor = %n.actor, ip, reason, "sign-in refused: account locked");
        } else {
            tracing::info!(activity = %n.activity, result = n.result, actor = %n.actor, target, ip, reason, "audited");
        }
        record(&n.tallies);
    }
}

fn record(tallies: &[Tally]) {
    for t in tallies {
        let labels: Vec<metrics::Label> = t
            .labels
            .iter()
            .map(|(k, v)| metrics::Label::new(*k, v.clone()))
            .collect();
        metrics::counter!(t.name, labels).increment(1);
    }
}

/// Registers the counters' help texts with the installed recorder (`# HELP` lines).
pub fn describe_business_metrics() {
    for (name, help) in [
        (
            "trustplane_sign_ins_total",
            "Sign-in attempts recorded in the sign-in log, by result and client app.",
        ),
        (
            "trustplane_mfa_failures_total",
            "Failed sign-ins in which a second factor or passkey was tried, by method.",
        ),
        (
            "trustplane_oidc_tokens_issued_total",
            "OpenID Connect token responses issued, by grant type.",
        ),
        (
            "trustplane_saml_responses_total",
            "SAML responses decided, by result (failure: refused by conditional access or assignment).",
        ),
        (
            "trustplane_alerts_total",
            "Detection alerts raised, by level.",
        ),
        (
            "trustplane_pim_activations_total",
            "PIM role activations, by result (active, failed).",
        ),
        (
            "trustplane_scans_total",
            "Posture scans recorded, by status (SUCCEEDED, PARTIAL, ERROR; RECORDED for pushed scans).",
        ),
    ] {
        metrics::describe_counter!(name, help);
    }
    metrics::describe_histogram!(
        "trustplane_store_seconds",
        metrics::Unit::Seconds,
        "Store operation latency, by operation."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use trustplane_model::Actor;

    fn event(category: &str, activity: &str, result: Outcome, after: Value) -> Event {
        Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: category.into(),
            activity: activity.into(),
            initiated_by: Actor::system(),
            target: None,
            result,
            result_reason: None,
            before: None,
            after: Some(after),
        }
    }

    #[test]
    fn a_failed_code_counts_as_a_failed_sign_in_and_an_mfa_failure() {
        let e = event(
            "signIn",
            "signIn",
            Outcome::Failure,
            json!({"clientAppUsed": "browser", "authenticationMethodsUsed": ["password", "totp"]}),
        );
        let t = tallies(&e);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "trustplane_sign_ins_total");
        assert_eq!(t[0].labels[0], ("result", "failure".to_string()));
        assert_eq!(t[1].name, "trustplane_mfa_failures_total");
        assert_eq!(t[1].labels[0], ("method", "totp".to_string()));
    }

    #[test]
    fn a_wrong_password_is_no_mfa_failure_and_other_entries_count_nothing() {
        let e = event(
            "signIn",
            "signIn",
            Outcome::Failure,
            json!({"authenticationMethodsUsed": ["password"]}),
        );
        assert_eq!(tallies(&e).len(), 1);
        let e = event("directory", "user.create", Outcome::Success, json!({}));
        assert!(tallies(&e).is_empty());
        let e = event(
            "detection",
            "alert.create",
            Outcome::Success,
            json!({"level": "high"}),
        );
        assert_eq!(tallies(&e)[0].labels[0], ("level", "high".to_string()));
    }
}
