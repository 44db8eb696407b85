//! `trustplane pim ...`: privileged identity management through the API — eligible roles,
//! activation requests and their decisions, settings, alerts and access reviews.

use anyhow::Result;
use serde_json::{json, Value};

use crate::args::{Output, PimArgs, PimCommand, PimRequestArgs, PimReviewCommand};
use crate::client::{enc, Client};
use crate::output;

const ELIGIBLE_COLUMNS: &[(&str, &str)] = &[
    ("role", "roleDefinition.displayName"),
    ("roleId", "roleDefinition.id"),
    ("scope", "assignment.directoryScopeId"),
    ("maxSeconds", "settings.maxActivationSeconds"),
    ("mfa", "settings.requireMfa"),
    ("justification", "settings.requireJustification"),
    ("ticket", "settings.requireTicket"),
    ("approval", "settings.requireApproval"),
    ("until", "assignment.endDateTime"),
];
const REQUEST_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("principal", "principalId"),
    ("role", "roleDefinitionId"),
    ("scope", "directoryScopeId"),
    ("state", "state"),
    ("seconds", "durationSeconds"),
    ("requested", "requestedDateTime"),
    ("end", "endDateTime"),
    ("justification", "justification"),
];
const ACTIVE_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("role", "roleDefinitionId"),
    ("scope", "directoryScopeId"),
    ("activated", "activatedDateTime"),
    ("end", "endDateTime"),
    ("remainingSeconds", "remainingSeconds"),
];
const ALERT_COLUMNS: &[(&str, &str)] = &[
    ("alert", "alertId"),
    ("severity", "severity"),
    ("description", "description"),
];
const REVIEW_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("role", "roleDefinitionId"),
    ("scope", "directoryScopeId"),
    ("status", "status"),
    ("default", "defaultDecision"),
    ("reviewers", "reviewers"),
];
const ITEM_COLUMNS: &[(&str, &str)] = &[
    ("assignment", "assignmentId"),
    ("principal", "principalId"),
    ("decision", "decision"),
    ("reviewer", "reviewerId"),
    ("comment", "comment"),
    ("outcome", "outcome"),
];

/// Reads a duration: whole seconds (`3600`), or numbers with units `d`, `h`, `m`, `s` in any
/// combination (`90m`, `1h`, `1h30m`). The result is positive.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a duration is needed, such as 3600, 90m, 1h or 1h30m".into());
    }
    let total = if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().map_err(|_| "the number is too large")?
    } else {
        let mut total: i64 = 0;
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                'd' => 86_400,
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return Err(format!("`{c}` is not a unit (use d, h, m or s)")),
            };
            if number.is_empty() {
                return Err(format!("a number must come before `{c}`"));
            }
            let n: i64 = number.parse().map_err(|_| "the number is too large")?;
            total = n
                .checked_mul(unit)
                .and_then(|s| total.checked_add(s))
                .ok_or("the duration is too long")?;
            number.clear();
        }
        if !number.is_empty() {
            return Err(format!("`{number}` needs a unit (d, h, m or s)"));
        }
        total
    };
    if total <= 0 {
        return Err("the duration must be longer than zero".into());
    }
    Ok(total)
}

/// Checks what can be checked before the server is asked; `Err` is the one-line message.
fn request_body(a: &PimRequestArgs) -> Result<Value, String> {
    let duration = a
        .duration
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("--duration {}: {e}", a.duration.as_deref().unwrap_or("")))?;
    if let Some(start) = &a.start {
        time::OffsetDateTime::parse(start, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                format!("--start {start}: not an RFC 3339 time such as 2030-01-31T09:00:00Z")
            })?;
    }
    let mut body = json!({
        "roleDefinitionId": a.role,
        "directoryScopeId": a.scope,
    });
    let fields = [
        ("durationSeconds", duration.map(Value::from)),
        ("justification", a.justification.clone().map(Value::from)),
        ("ticketNumber", a.ticket.clone().map(Value::from)),
        ("startDateTime", a.start.clone().map(Value::from)),
        ("mfaCode", a.mfa_code.clone().map(Value::from)),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            body[name] = v;
        }
    }
    Ok(body)
}

/// `?userId=` for another user's view, or nothing.
fn for_user(user: Option<&str>) -> String {
    user.map(|u| format!("?userId={}", enc(u)))
        .unwrap_or_default()
}

/// A decision's body: the comment, when there is one.
fn comment_body(comment: Option<String>) -> Value {
    match comment {
        Some(c) => json!({ "comment": c }),
        None => json!({}),
    }
}

/// Runs a `pim` command; returns the exit code (2 for input refused before any call).
pub async fn run(args: PimArgs, out: Output) -> Result<i32> {
    // Input that cannot be right is refused before the server is reached.
    let request = match &args.command {
        PimCommand::Request(r) => match request_body(r) {
            Ok(body) => Some(body),
            Err(message) => {
                eprintln!("error: {message}");
                return Ok(2);
            }
        },
        PimCommand::Extend { duration, .. } => match parse_duration(duration) {
            Ok(seconds) => Some(json!({ "durationSeconds": seconds })),
            Err(message) => {
                eprintln!("error: --duration {duration}: {message}");
                return Ok(2);
            }
        },
        _ => None,
    };
    let client = Client::new(&args.api)?;
    let act = |id: &str, action: &str| format!("/api/v1/pim/requests/{}/{action}", enc(id));
    match args.command {
        PimCommand::Eligible { user } => {
            let items = client
                .list(
                    &format!("/api/v1/pim/eligible{}", for_user(user.as_deref())),
                    false,
                )
                .await?;
            output::list(out, &items, ELIGIBLE_COLUMNS);
        }
        PimCommand::Request(_) => {
            let body = request.unwrap_or(Value::Null);
            let r = client.post("/api/v1/pim/requests", &body).await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Approve { id, comment } => {
            let r = client
                .post(&act(&id, "approve"), &comment_body(comment))
                .await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Deny { id, comment } => {
            let r = client
                .post(&act(&id, "deny"), &comment_body(comment))
                .await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Revoke { id, comment } => {
            let r = client
                .post(&act(&id, "revoke"), &comment_body(comment))
                .await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Cancel { id } => {
            let r = client.post(&act(&id, "cancel"), &json!({})).await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Deactivate { id } => {
            let r = client.post(&act(&id, "deactivate"), &json!({})).await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Extend { id, .. } => {
            let body = request.unwrap_or(Value::Null);
            let r = client.post(&act(&id, "extend"), &body).await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Active { user } => {
            let items = client
                .list(
                    &format!("/api/v1/pim/active{}", for_user(user.as_deref())),
                    false,
                )
                .await?;
            output::list(out, &items, ACTIVE_COLUMNS);
        }
        PimCommand::Approvals => {
            let items = client.list("/api/v1/pim/approvals", false).await?;
            output::list(out, &items, REQUEST_COLUMNS);
        }
        PimCommand::Requests { user, state } => {
            let mut query = Vec::new();
            if let Some(u) = user {
                query.push(format!("userId={}", enc(&u)));
            }
            if let Some(s) = state {
                query.push(format!("state={}", enc(&s)));
            }
            let path = if query.is_empty() {
                "/api/v1/pim/requests".to_string()
            } else {
                format!("/api/v1/pim/requests?{}", query.join("&"))
            };
            output::list(out, &client.list(&path, false).await?, REQUEST_COLUMNS);
        }
        PimCommand::Settings { role, scope } => {
            let path = format!("/api/v1/pim/settings/{}?scope={}", enc(&role), enc(&scope));
            output::one(out, &client.get(&path).await?);
        }
        PimCommand::SetSettings(a) => {
            let path = format!(
                "/api/v1/pim/settings/{}?scope={}",
                enc(&a.role),
                enc(&a.scope)
            );
            let mut settings = client.get(&path).await?;
            if let Some(d) = &a.max_duration {
                settings["maxActivationSeconds"] =
                    json!(parse_duration(d).map_err(anyhow::Error::msg)?);
            }
            for (field, value) in [
                ("requireMfa", a.require_mfa),
                ("requireJustification", a.require_justification),
                ("requireTicket", a.require_ticket),
                ("requireApproval", a.require_approval),
                ("allowExtension", a.allow_extension),
            ] {
                if let Some(v) = value {
                    settings[field] = Value::Bool(v);
                }
            }
            if !a.approvers.is_empty() {
                settings["approvers"] = json!(a.approvers);
            }
            if !a.notification_recipients.is_empty() {
                settings["notificationRecipients"] = json!(a.notification_recipients);
            }
            let saved = client.put(&path, &settings).await?;
            output::one(out, &saved.unwrap_or(Value::Null));
        }
        PimCommand::Alerts => {
            let items = client.list("/api/v1/pim/alerts", false).await?;
            output::list(out, &items, ALERT_COLUMNS);
        }
        PimCommand::Reconcile => {
            let r = client.post("/api/v1/pim/reconcile", &json!({})).await?;
            output::one(out, &r.unwrap_or(Value::Null));
        }
        PimCommand::Review(c) => review(&client, c, out).await?,
    }
    Ok(0)
}

/// Prints a review: its fields, then one row per assignment (or all of it as JSON).
fn print_review(out: Output, review: &Value) {
    match out {
        Output::Json => output::one(out, review),
        Output::Table => {
            let mut head = review.clone();
            let items = head
                .as_object_mut()
                .and_then(|o| o.remove("items"))
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            output::one(out, &head);
            output::list(out, &items, ITEM_COLUMNS);
        }
    }
}

async fn review(client: &Client, c: PimReviewCommand, out: Output) -> Result<()> {
    match c {
        PimReviewCommand::Start {
            role,
            reviewers,
            days,
            default_decision,
        } => {
            let body = json!({
                "roleDefinitionId": role,
                "reviewers": reviewers,
                "durationDays": days,
                "defaultDecision": default_decision,
            });
            let r = client.post("/api/v1/pim/reviews", &body).await?;
            print_review(out, &r.unwrap_or(Value::Null));
        }
        PimReviewCommand::List => {
            let items = client.list("/api/v1/pim/reviews", false).await?;
            output::list(out, &items, REVIEW_COLUMNS);
        }
        PimReviewCommand::Show { id } => {
            let r = client
                .get(&format!("/api/v1/pim/reviews/{}", enc(&id)))
                .await?;
            print_review(out, &r);
        }
        PimReviewCommand::Decide {
            id,
            assignment,
            decision,
            comment,
        } => {
            let mut body = json!({ "assignmentId": assignment, "decision": decision });
            if let Some(c) = comment {
                body["comment"] = json!(c);
            }
            let r = client
                .post(
                    &format!("/api/v1/pim/reviews/{}/decisions", enc(&id)),
                    &body,
                )
                .await?;
            print_review(out, &r.unwrap_or(Value::Null));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_in_seconds_or_units() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("1d2h3m4s"), Ok(93_784));
        for bad in [
            "",
            "0",
            "h",
            "1x",
            "1h30",
            "-5",
            "1.5h",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }

    /// Every string of up to five characters over digits, units and junk: no panic, and
    /// whatever is accepted is a positive number of seconds that units add up to.
    #[test]
    fn no_short_input_panics_and_accepted_ones_add_up() {
        let alphabet: Vec<char> = "019dhmsx -".chars().collect();
        let mut text = String::new();
        fn walk(alphabet: &[char], text: &mut String, depth: usize) {
            if let Ok(secs) = parse_duration(text) {
                assert!(secs > 0, "{text:?} gave {secs}");
                let mut total = 0i64;
                let mut number = 0i64;
                for c in text.trim().chars() {
                    match c {
                        '0'..='9' => number = number * 10 + i64::from(c as u8 - b'0'),
                        'd' => (total, number) = (total + number * 86_400, 0),
                        'h' => (total, number) = (total + number * 3_600, 0),
                        'm' => (total, number) = (total + number * 60, 0),
                        's' => (total, number) = (total + number, 0),
                        other => panic!("{text:?} accepted with {other:?}"),
                    }
                }
                assert_eq!(secs, total + number, "{text:?}");
            }
            if depth == 0 {
                return;
            }
            for c in alphabet {
                text.push(*c);
                walk(alphabet, text, depth - 1);
                text.pop();
            }
        }
        walk(&alphabet, &mut text, 5);
    }
}
