//! The console's detection views: a person's timeline across Trustplane, AWS and Azure, and
//! the incidents that group alerts. Rows come already read and filtered by the engines.

use crate::admin::nav;
use crate::html::esc;

/// One timeline entry as the page shows it.
pub struct TimelineRow<'a> {
    pub time: &'a str,
    pub source: &'a str,
    pub category: &'a str,
    pub activity: &'a str,
    pub result: &'a str,
    pub ip: &'a str,
    pub summary: &'a str,
}

/// A person's timeline, oldest first; `next` links the following page.
pub fn timeline(upn: &str, user_id: &str, rows: &[TimelineRow<'_>], next: Option<&str>) -> String {
    let body: String = rows
        .iter()
        .map(|r| {
            let result = if r.result == "failure" {
                "<span class=\"bad\">failure</span>".to_string()
            } else {
                esc(r.result)
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{result}</td><td>{}</td><td>{}</td></tr>",
                esc(r.time),
                esc(r.source),
                esc(r.category),
                esc(r.activity),
                esc(r.ip),
                esc(r.summary)
            )
        })
        .collect();
    let empty = if rows.is_empty() {
        "<p>Nothing recorded.</p>"
    } else {
        ""
    };
    let next = next
        .map(|n| {
            format!(
                "<p class=\"pager\"><a href=\"{}\">Later entries</a></p>",
                esc(n)
            )
        })
        .unwrap_or_default();
    format!(
        "{}<h1>Timeline of {}</h1><p><a href=\"/admin/users/{}\">Back to the user</a> · \
         <a href=\"/api/v1/users/{}/timeline?format=ocsf\">Export as OCSF</a></p>{empty}\
         <table id=\"timeline\"><tr><th>When</th><th>Source</th><th>Category</th><th>Activity</th><th>Result</th><th>Address</th><th>What</th></tr>{body}</table>{next}",
        nav(),
        esc(upn),
        esc(user_id),
        esc(user_id),
    )
}

/// One incident as the list shows it.
pub struct IncidentRow<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub severity: &'a str,
    pub status: &'a str,
    pub alerts: i64,
    pub owner: &'a str,
    pub last_activity: &'a str,
}

/// Incidents, the most recently active first.
pub fn incidents(rows: &[IncidentRow<'_>]) -> String {
    let body: String = rows
        .iter()
        .map(|r| {
            let severity = match r.severity {
                "high" | "critical" => format!("<span class=\"bad\">{}</span>", esc(r.severity)),
                s => esc(s),
            };
            format!(
                "<tr><td>{}</td><td>{severity}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(r.title),
                esc(r.status),
                r.alerts,
                esc(r.owner),
                esc(r.last_activity),
                esc(r.id)
            )
        })
        .collect();
    let empty = if rows.is_empty() {
        "<p>No incident.</p>"
    } else {
        ""
    };
    format!(
        "{}<h1>Incidents</h1><p>Alerts about the same person or from the same address within a day are one incident.</p>{empty}\
         <table id=\"incidents\"><tr><th>Incident</th><th>Severity</th><th>Status</th><th>Alerts</th><th>Owner</th><th>Last activity</th><th>Id</th></tr>{body}</table>",
        nav()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_and_incident_values_are_escaped() {
        let row = TimelineRow {
            time: "2026-12-07T10:00:00Z",
            source: "aws",
            category: "cloudActivity",
            activity: "<script>",
            result: "failure",
            ip: "198.51.100.7",
            summary: "s3 GetObject in 1111",
        };
        let page = timeline(
            "ada@example.com",
            "u\"1",
            &[row],
            Some("/admin/users/u1/timeline?cursor=1..&x=<"),
        );
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(page.contains("u&quot;1") && page.contains("x=&lt;"));
        assert!(page.contains("class=\"bad\">failure"));
        let incident = IncidentRow {
            id: "i1",
            title: "3 alerts involving <b>",
            severity: "high",
            status: "active",
            alerts: 3,
            owner: "",
            last_activity: "now",
        };
        let page = incidents(&[incident]);
        assert!(page.contains("involving &lt;b&gt;") && page.contains("class=\"bad\">high"));
        assert!(incidents(&[]).contains("No incident."));
    }
}
