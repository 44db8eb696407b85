//! Privileged roles in the user portal: "My roles" (activate an eligible role, end an
//! activation, withdraw a request) and "Approvals" (decide on others' requests).

use serde::Deserialize;
use serde_json::Value;

use crate::html::{button_form, csrf_field, error_box, esc, human_duration};
use crate::portal::nav;

pub const ROLES_PATH: &str = "/account/roles";
pub const APPROVALS_PATH: &str = "/account/approvals";

/// A role the person may activate, with what activating it needs.
pub struct Eligible {
    pub role_id: String,
    pub role_name: String,
    pub scope: String,
    pub max_minutes: i64,
    pub needs: Vec<&'static str>,
}

impl Eligible {
    /// From one entry of the PIM engine's eligibility list (`roleDefinition`, `assignment`,
    /// `settings`, as the API shows it).
    pub fn from_graph(e: &Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let settings = &e["settings"];
        let flag = |k: &str| settings[k].as_bool().unwrap_or(false);
        let needs = [
            ("requireMfa", "a second factor"),
            ("requireJustification", "a justification"),
            ("requireTicket", "a ticket number"),
            ("requireApproval", "approval"),
        ]
        .into_iter()
        .filter(|(k, _)| flag(k))
        .map(|(_, need)| need)
        .collect();
        Eligible {
            role_id: text(&e["roleDefinition"]["id"]),
            role_name: text(&e["roleDefinition"]["displayName"]),
            scope: text(&e["assignment"]["directoryScopeId"]),
            max_minutes: settings["maxActivationSeconds"].as_i64().unwrap_or(3600) / 60,
            needs,
        }
    }
}

/// An activation under way.
pub struct Active {
    pub id: String,
    pub role_name: String,
    pub scope: String,
    /// None: until ended by hand.
    pub seconds_left: Option<i64>,
}

/// A request not yet active.
pub struct Pending {
    pub id: String,
    pub role_name: String,
    pub duration_seconds: i64,
    pub awaiting_approval: bool,
}

/// What the person had typed into an activation form before a step-up, filled in again when
/// they come back (`/account/roles?role=...&minutes=...`).
#[derive(Deserialize, Default)]
pub struct Draft {
    pub role: Option<String>,
    pub minutes: Option<String>,
    pub justification: Option<String>,
    pub ticket: Option<String>,
}

fn eligible_section(csrf: &str, e: &Eligible, draft: &Draft) -> String {
    let drafted = Some(draft).filter(|d| d.role.as_deref() == Some(e.role_id.as_str()));
    let needs = if e.needs.is_empty() {
        String::from("nothing more")
    } else {
        e.needs.join(", ")
    };
    format!(
        "<section class=\"eligible\" data-role=\"{rid}\"><h3>{rname}</h3>\
         <p>Scope {scope}; at most {max}; needs {needs}.</p>\
         <form method=\"post\" action=\"/account/roles/activate\">{csrf}\
         <input type=\"hidden\" name=\"role\" value=\"{rid}\"><input type=\"hidden\" name=\"scope\" value=\"{scope}\">\
         <label>Minutes<input type=\"number\" name=\"minutes\" min=\"1\" max=\"{max_minutes}\" value=\"{minutes}\"></label>\
         <label>Justification<input type=\"text\" name=\"justification\" maxlength=\"500\" value=\"{justification}\"></label>\
         <label>Ticket number<input type=\"text\" name=\"ticket\" maxlength=\"100\" value=\"{ticket}\"></label>\
         <button type=\"submit\">Activate</button></form></section>",
        rid = esc(&e.role_id),
        rname = esc(&e.role_name),
        scope = esc(&e.scope),
        max = esc(&human_duration(e.max_minutes * 60)),
        max_minutes = e.max_minutes,
        minutes = drafted
            .and_then(|d| d.minutes.as_deref())
            .and_then(|m| m.trim().parse::<i64>().ok())
            .filter(|m| (1..=e.max_minutes).contains(m))
            .unwrap_or(e.max_minutes),
        justification = esc(drafted.and_then(|d| d.justification.as_deref()).unwrap_or("")),
        ticket = esc(drafted.and_then(|d| d.ticket.as_deref()).unwrap_or("")),
        csrf = csrf_field(csrf),
    )
}

/// "My roles": active roles, waiting requests and eligible roles, with `error` when the last
/// action was refused and `draft` filled into its role's form.
pub fn my_roles(
    csrf: &str,
    error: Option<&str>,
    eligible: &[Eligible],
    active: &[Active],
    pending: &[Pending],
    draft: &Draft,
) -> String {
    let mut eligible_rows: String = eligible
        .iter()
        .map(|e| eligible_section(csrf, e, draft))
        .collect();
    if eligible.is_empty() {
        eligible_rows.push_str("<p>You are not eligible for any role.</p>");
    }
    let active_rows: String = active
        .iter()
        .map(|r| {
            format!(
                "<tr class=\"active\" data-request=\"{id}\"><td>{}</td><td>{}</td><td class=\"remaining\" data-seconds=\"{}\">{}</td><td>{}</td></tr>",
                esc(&r.role_name),
                esc(&r.scope),
                r.seconds_left.map(|l| l.to_string()).unwrap_or_default(),
                esc(&r.seconds_left.map(human_duration).unwrap_or_else(|| "until ended".into())),
                button_form(&format!("{ROLES_PATH}/{}/deactivate", r.id), csrf, "Deactivate", false),
                id = esc(&r.id),
            )
        })
        .collect();
    let active_table = if active.is_empty() {
        "<p>No role is active.</p>".to_string()
    } else {
        format!("<table><tr><th>Role</th><th>Scope</th><th>Time left</th><th></th></tr>{active_rows}</table>")
    };
    let pending_rows: String = pending
        .iter()
        .map(|r| {
            let state_text = if r.awaiting_approval {
                "waiting for approval"
            } else {
                "approved, waiting to start"
            };
            format!(
                "<tr class=\"pending\" data-request=\"{id}\"><td>{}</td><td>{}</td><td>{state_text}</td><td>{}</td></tr>",
                esc(&r.role_name),
                esc(&human_duration(r.duration_seconds)),
                button_form(&format!("{ROLES_PATH}/{}/cancel", r.id), csrf, "Cancel", false),
                id = esc(&r.id),
            )
        })
        .collect();
    let pending_table = if pending.is_empty() {
        "<p>No request is waiting.</p>".to_string()
    } else {
        format!("<table><tr><th>Role</th><th>For</th><th>State</th><th></th></tr>{pending_rows}</table>")
    };
    format!(
        "{}<h1>My roles</h1>{}<h2>Active</h2>{active_table}<h2>Requests</h2>{pending_table}\
         <h2>Eligible</h2>{eligible_rows}",
        nav(),
        error_box(error),
    )
}

/// A request waiting for the person's decision.
pub struct Approval {
    pub id: String,
    pub who: String,
    pub role_name: String,
    pub duration_seconds: i64,
    pub justification: String,
    pub ticket: String,
}

/// "Approvals", with `error` when the last decision was refused.
pub fn approvals(csrf: &str, error: Option<&str>, waiting: &[Approval]) -> String {
    let rows: String = waiting
        .iter()
        .map(|r| {
            format!(
                "<tr class=\"approval\" data-request=\"{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(&r.who),
                esc(&r.role_name),
                esc(&human_duration(r.duration_seconds)),
                esc(&r.justification),
                esc(&r.ticket),
                button_form(&format!("{APPROVALS_PATH}/{}/approve", r.id), csrf, "Approve", true),
                button_form(&format!("{APPROVALS_PATH}/{}/deny", r.id), csrf, "Deny", true),
                id = esc(&r.id),
            )
        })
        .collect();
    let table = if waiting.is_empty() {
        "<p>Nothing is waiting for your approval.</p>".to_string()
    } else {
        format!(
            "<table><tr><th>Who</th><th>Role</th><th>For</th><th>Justification</th><th>Ticket</th><th></th></tr>{rows}</table>"
        )
    };
    format!("{}<h1>Approvals</h1>{}{table}", nav(), error_box(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eligible() -> Eligible {
        Eligible::from_graph(&json!({
            "roleDefinition": {"id": "r1", "displayName": "User <Administrator>"},
            "assignment": {"directoryScopeId": "/"},
            "settings": {"maxActivationSeconds": 7200, "requireMfa": true, "requireApproval": true}
        }))
    }

    #[test]
    fn eligibility_reads_what_activation_needs() {
        let e = eligible();
        assert_eq!(e.max_minutes, 120);
        assert_eq!(e.needs, vec!["a second factor", "approval"]);
        let page = my_roles("t", None, &[e], &[], &[], &Draft::default());
        assert!(page.contains("User &lt;Administrator&gt;"));
        assert!(page.contains("at most 2 h; needs a second factor, approval."));
        assert!(page.contains("value=\"120\""));
    }

    #[test]
    fn a_draft_fills_only_its_own_role_and_only_within_bounds() {
        let mut draft = Draft {
            role: Some("r1".into()),
            minutes: Some("30".into()),
            justification: Some("incident \"42\"".into()),
            ticket: None,
        };
        let page = my_roles("t", None, &[eligible()], &[], &[], &draft);
        assert!(page.contains("value=\"30\""));
        assert!(page.contains("value=\"incident &quot;42&quot;\""));
        draft.minutes = Some("9999".into());
        assert!(my_roles("t", None, &[eligible()], &[], &[], &draft).contains("value=\"120\""));
        draft.role = Some("other".into());
        assert!(!my_roles("t", None, &[eligible()], &[], &[], &draft).contains("incident"));
    }
}
