//! The one layout, escaping for every interpolated value, and the small pieces pages share.

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where the style sheet is served: pages carry no inline style, so the policy needs no
/// `unsafe-inline`.
pub const STYLESHEET_PATH: &str = "/static/trustplane.css";

/// The one style sheet.
pub const STYLESHEET: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}\
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password],input[type=email]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00;border:1px solid #a00;padding:.5rem}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;text-align:left;padding:.3rem}\
nav a{margin-right:1rem}code{font-size:1.1rem}\
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:1rem;padding:0;list-style:none}\
.tiles a{display:block;border:1px solid #888;border-radius:.4rem;padding:1rem;color:#1b1b1b;text-decoration:none}\
.tiles a:focus,.tiles a:hover{border-color:#1b1b1b;outline:2px solid #1b1b1b}.tiles small{display:block;color:#444}\
.pager a{margin-right:1rem}.ok{color:#05610f}.bad{color:#a00}";

/// The headers every page is served with: never cached, never framed, scripts, styles and
/// forms only from this origin, nothing inline.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

/// A whole document around `body` (which the caller built from escaped parts).
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Trustplane</title><link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\"></head><body><main>{body}</main></body></html>",
        esc(title)
    )
}

/// An error notice, if any.
pub fn error_box(message: Option<&str>) -> String {
    match message {
        Some(m) => format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)),
        None => String::new(),
    }
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// A one-button form posting to `action`, with an optional comment field.
pub fn button_form(action: &str, csrf: &str, label: &str, comment: bool) -> String {
    let comment = if comment {
        "<input type=\"text\" name=\"comment\" aria-label=\"Comment\" placeholder=\"Comment\">"
    } else {
        ""
    };
    format!(
        "<form method=\"post\" action=\"{}\">{}{comment}<button type=\"submit\">{}</button></form>",
        esc(action),
        csrf_field(csrf),
        esc(label)
    )
}

/// A length of time for people: `1 h 29 min`, `45 min`, `30 s`.
pub fn human_duration(seconds: i64) -> String {
    let (h, m) = (seconds / 3600, (seconds % 3600) / 60);
    match (h, m) {
        (0, 0) => format!("{} s", seconds.max(0)),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A page that only says something went wrong, with the message.
pub fn message(text: &str) -> String {
    format!("<p>{}</p>", esc(text))
}

/// The refusal of a form that this site did not send.
pub fn csrf_refused() -> &'static str {
    "<h1>Request refused</h1><p>The form was not sent by this site (missing or wrong CSRF token). <a href=\"/login\">Start again</a>.</p>"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        let doc = document("<script>", "<p>ok</p>");
        assert!(doc.contains("<title>&lt;script&gt; · Trustplane</title>"));
        assert!(error_box(Some("<b>")).contains("&lt;b&gt;"));
        assert!(csrf_field("\"><x").contains("value=\"&quot;&gt;&lt;x\""));
        assert!(
            button_form("/a?b=\"c\"", "t", "<Go>", true).contains("action=\"/a?b=&quot;c&quot;\"")
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(30), "30 s");
        assert_eq!(human_duration(-5), "0 s");
        assert_eq!(human_duration(45 * 60), "45 min");
        assert_eq!(human_duration(2 * 3600), "2 h");
        assert_eq!(human_duration(3600 + 29 * 60 + 10), "1 h 29 min");
    }
}
