//! The admin console's views: users (search, detail, enable or disable, end sessions) and
//! the audit trail (filters, chain verification). What a view offers is what the caller's
//! roles allow; the engine checks again on every action.

use trustplane_model::{Event, Group, Outcome, RoleDefinition, User};

use crate::html::{button_form, error_box, esc};

pub const USERS_PATH: &str = "/admin/users";

/// The console's links, on every console page.
pub fn nav() -> &'static str {
    "<nav aria-label=\"Admin console\"><a href=\"/admin\">Overview</a><a href=\"/admin/users\">Users</a><a href=\"/admin/incidents\">Incidents</a><a href=\"/admin/audit\">Audit</a><a href=\"/\">My Apps</a></nav>"
}

/// The overview: who is signed in and with which roles.
pub fn overview(upn: &str, roles: &[String]) -> String {
    let roles: String = roles
        .iter()
        .map(|r| format!("<li>{}</li>", esc(r)))
        .collect();
    format!(
        "{}<h1>Admin console</h1><p>Signed in as <strong>{}</strong>, holding:</p><ul id=\"roles\">{roles}</ul>\
         <p>What you may change follows from these roles; everything else is shown read-only or refused.</p>",
        nav(),
        esc(upn)
    )
}

/// A page refused for the caller's roles.
pub fn refused(reason: &str) -> String {
    format!(
        "{}<h1>Not allowed</h1><p class=\"error\" role=\"alert\" id=\"refused\">{}</p>",
        nav(),
        esc(reason)
    )
}

fn enabled_text(enabled: bool) -> &'static str {
    if enabled {
        "<span class=\"ok\">enabled</span>"
    } else {
        "<span class=\"bad\">disabled</span>"
    }
}

/// Users, found by the start of their sign-in or display name.
pub fn users(search: &str, found: &[User], more: bool) -> String {
    let rows: String = found
        .iter()
        .map(|u| {
            format!(
                "<tr><td><a href=\"/admin/users/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                esc(&u.id),
                esc(&u.user_principal_name),
                esc(&u.display_name),
                enabled_text(u.account_enabled)
            )
        })
        .collect();
    let more = if more {
        "<p>More users match: narrow the search.</p>"
    } else {
        ""
    };
    format!(
        "{}<h1>Users</h1><form method=\"get\" action=\"/admin/users\" role=\"search\">\
         <label for=\"search\">Sign-in or display name starts with</label>\
         <input type=\"text\" id=\"search\" name=\"search\" value=\"{}\"><button type=\"submit\">Search</button></form>\
         <table id=\"users\"><tr><th>Sign-in name</th><th>Name</th><th>State</th></tr>{rows}</table>{more}",
        nav(),
        esc(search)
    )
}

/// A user's page, with the actions; `error` is the last action's refusal, shown in place.
pub fn user_detail(
    csrf: &str,
    u: &User,
    groups: &[Group],
    roles: &[RoleDefinition],
    sessions: usize,
    error: Option<&str>,
) -> String {
    let list = |items: Vec<&str>, none: &str| {
        if items.is_empty() {
            format!("<p>{none}</p>")
        } else {
            let li: String = items
                .iter()
                .map(|i| format!("<li>{}</li>", esc(i)))
                .collect();
            format!("<ul>{li}</ul>")
        }
    };
    let base = format!("{USERS_PATH}/{}", u.id);
    let toggle = if u.account_enabled {
        button_form(&format!("{base}/disable"), csrf, "Disable sign-in", false)
    } else {
        button_form(&format!("{base}/enable"), csrf, "Enable sign-in", false)
    };
    format!(
        "{}<h1>{}</h1>{}<dl><dt>Sign-in name</dt><dd id=\"upn\">{}</dd><dt>Mail</dt><dd>{}</dd>\
         <dt>State</dt><dd id=\"state\">{}</dd><dt>Sessions</dt><dd id=\"sessions\">{}</dd></dl>\
         <p><a href=\"{base}/timeline\" id=\"timeline-link\">Timeline across Trustplane, AWS and Azure</a></p>\
         <h2>Groups</h2>{}<h2>Roles held now</h2>{}<h2>Actions</h2>{toggle}{}",
        nav(),
        esc(&u.display_name),
        error_box(error),
        esc(&u.user_principal_name),
        esc(u.mail.as_deref().unwrap_or("")),
        enabled_text(u.account_enabled),
        sessions,
        list(
            groups.iter().map(|g| g.display_name.as_str()).collect(),
            "No group."
        ),
        list(
            roles.iter().map(|r| r.display_name.as_str()).collect(),
            "No role."
        ),
        button_form(&format!("{base}/revoke"), csrf, "End all sessions", false),
    )
}

/// What the audit page was asked for.
pub struct AuditFilter<'a> {
    pub activity: &'a str,
    pub category: &'a str,
}

/// The outcome of checking the chain, as the page shows it.
pub struct ChainCheck {
    pub entries: i64,
    /// The first entry found altered or missing, and why.
    pub problem: Option<(i64, String)>,
}

/// The audit trail, newest last, with filters and the chain check's outcome if asked.
pub fn audit(
    csrf: &str,
    filter: &AuditFilter<'_>,
    entries: &[Event],
    next: Option<&str>,
    check: Option<&ChainCheck>,
) -> String {
    let rows: String = entries
        .iter()
        .map(|e| {
            let by = &e.initiated_by;
            let target = e.target.as_ref().map_or("", |t| {
                t.display_name.as_deref().unwrap_or(t.id.as_str())
            });
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.sequence,
                esc(&e.activity_date_time.to_string()),
                esc(&e.activity),
                esc(by.display_name.as_deref().unwrap_or(&by.id)),
                esc(target),
                if e.result == Outcome::Success { "success" } else { "failure" },
                esc(e.result_reason.as_deref().unwrap_or(""))
            )
        })
        .collect();
    let check = match check {
        None => String::new(),
        Some(ChainCheck {
            entries,
            problem: None,
        }) => format!("<p class=\"ok\" id=\"chain\" role=\"status\">The chain is intact: {entries} entries checked.</p>"),
        Some(ChainCheck {
            entries,
            problem: Some((seq, why)),
        }) => format!(
            "<p class=\"bad\" id=\"chain\" role=\"alert\">The chain is broken at entry {seq}: {} ({entries} entries checked).</p>",
            esc(why)
        ),
    };
    let next = next
        .map(|n| {
            format!(
                "<p class=\"pager\"><a href=\"{}\">Next page</a></p>",
                esc(n)
            )
        })
        .unwrap_or_default();
    format!(
        "{}<h1>Audit</h1>{check}<form method=\"get\" action=\"/admin/audit\">\
         <label for=\"activity\">Activity</label><input type=\"text\" id=\"activity\" name=\"activity\" value=\"{}\">\
         <label for=\"category\">Category</label><input type=\"text\" id=\"category\" name=\"category\" value=\"{}\">\
         <button type=\"submit\">Filter</button></form>{}\
         <table id=\"audit\"><tr><th>#</th><th>When</th><th>Activity</th><th>By</th><th>Target</th><th>Result</th><th>Reason</th></tr>{rows}</table>{next}",
        nav(),
        esc(filter.activity),
        esc(filter.category),
        button_form("/admin/audit/verify", csrf, "Verify the chain", false),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_user_offers_enabling_and_values_are_escaped() {
        let u: User = serde_json::from_value(serde_json::json!({
            "id": "u1", "userPrincipalName": "<a>@example.com", "displayName": "Ada",
            "accountEnabled": false, "attributes": {}, "createdDateTime": "2026-12-07T00:00:00Z"
        }))
        .unwrap();
        let g: Group = serde_json::from_value(serde_json::json!({
            "id": "g1", "displayName": "Wiki <editors>", "isAssignableToRole": false,
            "createdDateTime": "2026-12-07T00:00:00Z"
        }))
        .unwrap();
        let page = user_detail("t", &u, &[g], &[], 2, Some("no"));
        assert!(page.contains("action=\"/admin/users/u1/enable\""));
        assert!(!page.contains("/disable"));
        assert!(page.contains("&lt;a&gt;@example.com") && page.contains("Wiki &lt;editors&gt;"));
        assert!(page.contains("No role.") && page.contains("role=\"alert\""));
    }

    #[test]
    fn the_chain_check_says_where_it_broke() {
        let f = AuditFilter {
            activity: "",
            category: "",
        };
        let broken = ChainCheck {
            entries: 10,
            problem: Some((7, "hash mismatch".into())),
        };
        assert!(audit("t", &f, &[], None, Some(&broken)).contains("broken at entry 7"));
        let fine = ChainCheck {
            entries: 10,
            problem: None,
        };
        assert!(audit("t", &f, &[], None, Some(&fine)).contains("intact: 10 entries"));
    }
}
