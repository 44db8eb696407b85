//! The user portal: home, security info (methods, with step-up), password and sessions.

use crate::html::{csrf_field, error_box, esc};

pub const HOME_PATH: &str = "/";
pub const PASSWORD_PATH: &str = "/account/password";
pub const SECURITY_PATH: &str = "/account/security";
pub const VERIFY_PATH: &str = "/account/verify";
pub const SESSIONS_PATH: &str = "/account/sessions";

/// What a session that must first register a second factor may open.
const REGISTERING_PATHS: [&str; 6] = [
    SECURITY_PATH,
    "/account/totp/begin",
    "/account/totp/confirm",
    "/account/passkeys/begin",
    "/account/passkeys/finish",
    "/account/recovery-codes",
];

/// Where a signed-in person must go before `path`, if anywhere. A first sign-in goes one
/// way: change the password that was set for the person, then register a second factor
/// where one is required (`restricted`), then go on. Each step's page stays reachable while
/// the other is pending, or the two would send the browser back and forth for ever; the
/// password page belongs to the sequence only while a change is pending.
pub fn detour(path: &str, must_change_password: bool, restricted: bool) -> Option<&'static str> {
    let changing_password = path == PASSWORD_PATH;
    if must_change_password && !changing_password {
        return Some(PASSWORD_PATH);
    }
    if restricted
        && !(changing_password && must_change_password)
        && !REGISTERING_PATHS.contains(&path)
    {
        return Some(SECURITY_PATH);
    }
    None
}

/// The portal's links, on every page.
pub fn nav() -> &'static str {
    "<nav><a href=\"/\">Home</a><a href=\"/account/security\">Security info</a><a href=\"/account/password\">Password</a><a href=\"/account/sessions\">Sessions</a><a href=\"/account/roles\">My roles</a><a href=\"/account/approvals\">Approvals</a></nav>"
}

fn sign_out_form(csrf: &str) -> String {
    format!("<form method=\"post\" action=\"/logout\">{}<button type=\"submit\">Sign out</button></form>", csrf_field(csrf))
}

/// An application the person can open from My Apps.
pub struct AppTile<'a> {
    pub name: &'a str,
    /// Which of the application's entries (an AWS role and account), if it has several.
    pub detail: Option<&'a str>,
    pub url: &'a str,
}

/// The home page of a signed-in person: who they are and My Apps.
pub fn home(
    csrf: &str,
    display_name: &str,
    upn: &str,
    methods_used: &[String],
    tiles: &[AppTile<'_>],
) -> String {
    let apps = if tiles.is_empty() {
        "<p id=\"no-apps\">No application is assigned to you yet.</p>".to_string()
    } else {
        let items: String = tiles
            .iter()
            .map(|t| {
                let detail = t
                    .detail
                    .map(|d| format!("<small>{}</small>", esc(d)))
                    .unwrap_or_default();
                format!(
                    "<li><a class=\"tile\" href=\"{}\">{}{detail}</a></li>",
                    esc(t.url),
                    esc(t.name)
                )
            })
            .collect();
        format!("<ul class=\"tiles\" id=\"my-apps\">{items}</ul>")
    };
    format!(
        "{}<h1>Welcome, {}</h1><p>Signed in as <strong id=\"upn\">{}</strong> with {}.</p>\
         <h2>My Apps</h2>{apps}{}",
        nav(),
        esc(display_name),
        esc(upn),
        esc(&methods_used.join(", ")),
        sign_out_form(csrf)
    )
}

/// One registered sign-in method, as security info lists it.
pub struct Method<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub label: &'a str,
}

/// Security info: the methods, how many recovery codes are left, and the ways to add more.
/// `restricted`: the session may do nothing else until a second factor is registered.
pub fn security_info(
    csrf: &str,
    methods: &[Method<'_>],
    unused_recovery_codes: usize,
    restricted: bool,
) -> String {
    let mut rows = String::new();
    for m in methods {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/methods/{}/remove\">{}<button type=\"submit\">Remove</button></form></td></tr>",
            esc(m.kind),
            esc(m.label),
            esc(m.id),
            csrf_field(csrf)
        ));
    }
    let notice = if restricted {
        "<p class=\"notice\" id=\"mfa-required\">Your organisation requires a second factor for your account. \
         Add an authenticator app or a passkey below to go on.</p>"
    } else {
        ""
    };
    format!(
        "{}<h1>Security info</h1>{notice}<table><tr><th>Method</th><th>Name</th><th></th></tr>\
         <tr><td>password</td><td>Password</td><td></td></tr>{rows}</table>\
         <p>Recovery codes left: {unused_recovery_codes}</p>\
         <form method=\"post\" action=\"/account/totp/begin\">{c}<button type=\"submit\">Add an authenticator app</button></form>\
         <form method=\"post\" action=\"/account/recovery-codes\">{c}<button type=\"submit\">Make new recovery codes</button></form>\
         <p><button type=\"button\" id=\"passkey-register\" data-csrf=\"{}\">Add a passkey</button></p>\
         <script src=\"/static/passkey.js\"></script>",
        nav(),
        esc(csrf),
        c = csrf_field(csrf),
    )
}

/// The step-up form; `next` is where to go once verified (an authorization request, say),
/// otherwise back to security info.
pub fn verify_form(csrf: &str, error: Option<&str>, next: Option<&str>) -> String {
    let (why, hidden_next) = match next {
        Some(n) => (
            "Continuing needs a recent second factor.",
            format!("<input type=\"hidden\" name=\"next\" value=\"{}\">", esc(n)),
        ),
        None => (
            "Changing your security info needs a recent second factor.",
            String::new(),
        ),
    };
    format!(
        "{}<h1>Verify it is you</h1><p>{why}</p>{}\
         <form method=\"post\" action=\"/account/verify\">{}{hidden_next}\
         <label><input type=\"radio\" name=\"method\" value=\"totp\" checked> Authenticator app code</label>\
         <label><input type=\"radio\" name=\"method\" value=\"recoveryCode\"> Recovery code</label>\
         <label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" required>\
         <button type=\"submit\">Verify</button></form>",
        nav(),
        error_box(error),
        csrf_field(csrf)
    )
}

/// Registering an authenticator app: the QR code, the set-up link and the confirmation form.
/// `qr_svg` must be the QR encoder's own output, never outside text: it is not escaped.
pub fn totp_setup(
    csrf: &str,
    handle: &str,
    uri: &str,
    qr_svg: &str,
    error: Option<&str>,
) -> String {
    format!(
        "{}<h1>Add an authenticator app</h1>{}<p>Scan this code with your authenticator app, or enter the key by hand.</p>\
         <div aria-label=\"QR code\">{qr_svg}</div><p>Set-up link: <code id=\"otpauth\">{}</code></p>\
         <form method=\"post\" action=\"/account/totp/confirm\">{}\
         <input type=\"hidden\" name=\"handle\" value=\"{}\"><input type=\"hidden\" name=\"uri\" value=\"{}\">\
         <label for=\"code\">Code shown by the app</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button type=\"submit\">Confirm</button></form>",
        nav(),
        error_box(error),
        esc(uri),
        csrf_field(csrf),
        esc(handle),
        esc(uri)
    )
}

/// New recovery codes, shown once.
pub fn recovery_codes(codes: &[String]) -> String {
    let list: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", esc(c)))
        .collect();
    format!("{}<h1>Your recovery codes</h1><p>Each works once. Keep them somewhere safe: they are shown only now.</p><ol id=\"codes\">{list}</ol>", nav())
}

/// An error while changing security info, with the way back.
pub fn security_error(text: &str) -> String {
    format!(
        "<p>{}</p><p><a href=\"/account/security\">Back</a></p>",
        esc(text)
    )
}

/// One of the person's sessions.
pub struct SessionRow<'a> {
    pub id: &'a str,
    pub signed_in: String,
    pub address: &'a str,
    pub browser: &'a str,
    pub current: bool,
}

/// The person's sessions, each with a button that ends it.
pub fn sessions(csrf: &str, list: &[SessionRow<'_>]) -> String {
    let mut rows = String::new();
    for s in list {
        let current = if s.current { " (this one)" } else { "" };
        rows.push_str(&format!(
            "<tr><td>{}{current}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/sessions/{}/revoke\">{}<button type=\"submit\">End</button></form></td></tr>",
            esc(&s.signed_in),
            esc(s.address),
            esc(s.browser),
            esc(s.id),
            csrf_field(csrf)
        ));
    }
    format!("{}<h1>Your sessions</h1><table><tr><th>Signed in</th><th>From</th><th>Browser</th><th></th></tr>{rows}</table>", nav())
}

/// The password change form; `must_change` when the current password was set for the person.
pub fn password_form(csrf: &str, error: Option<&str>, must_change: bool) -> String {
    let notice = if must_change {
        "<p class=\"notice\" id=\"must-change\">The password you signed in with was set for you. \
         Choose your own before you go on.</p>"
    } else {
        ""
    };
    format!(
        "{}<h1>Change your password</h1>{notice}{}<p>At least 8 characters; long passphrases are welcome. \
         Common passwords and your own name are refused.</p>\
         <form method=\"post\" action=\"/account/password\">{}\
         <label for=\"current\">Current password</label><input type=\"password\" id=\"current\" name=\"current\" autocomplete=\"current-password\" required>\
         <label for=\"new\">New password</label><input type=\"password\" id=\"new\" name=\"new\" autocomplete=\"new-password\" minlength=\"8\" required>\
         <label for=\"confirm\">New password again</label><input type=\"password\" id=\"confirm\" name=\"confirm\" autocomplete=\"new-password\" minlength=\"8\" required>\
         <button type=\"submit\">Change password</button></form>",
        nav(),
        error_box(error),
        csrf_field(csrf)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_sign_in_changes_the_password_then_registers_a_factor() {
        // Password pending: everything leads to the password page, which itself is open.
        assert_eq!(detour("/", true, true), Some(PASSWORD_PATH));
        assert_eq!(detour(SECURITY_PATH, true, true), Some(PASSWORD_PATH));
        assert_eq!(detour(PASSWORD_PATH, true, true), None);
        // Then only registering is open while restricted, and the password page is not.
        assert_eq!(detour("/", false, true), Some(SECURITY_PATH));
        assert_eq!(detour("/account/roles", false, true), Some(SECURITY_PATH));
        assert_eq!(detour(PASSWORD_PATH, false, true), Some(SECURITY_PATH));
        assert_eq!(detour("/account/totp/confirm", false, true), None);
        // Nothing pending: nowhere else to go.
        assert_eq!(detour("/account/roles", false, false), None);
    }

    #[test]
    fn outside_text_is_escaped_and_only_the_qr_code_is_not() {
        let page = totp_setup("t", "h\"", "otpauth://x?<y>", "<svg/>", None);
        assert!(page.contains("<svg/>"));
        assert!(page.contains("otpauth://x?&lt;y&gt;"));
        assert!(page.contains("value=\"h&quot;\""));
        let list = sessions(
            "t",
            &[SessionRow {
                id: "s1",
                signed_in: "now".into(),
                address: "<ip>",
                browser: "x",
                current: true,
            }],
        );
        assert!(list.contains("now (this one)") && list.contains("&lt;ip&gt;"));
        assert!(password_form("t", None, true).contains("id=\"must-change\""));
        let tiles = [AppTile {
            name: "AWS <prod>",
            detail: Some("Admin (123456789012)"),
            url: "/saml/start/a?role=arn%3Ax&y",
        }];
        let page = home("t", "A", "a@example.com", &[], &tiles);
        assert!(page.contains("href=\"/saml/start/a?role=arn%3Ax&amp;y\""));
        assert!(page.contains("AWS &lt;prod&gt;<small>Admin (123456789012)</small>"));
        assert!(home("t", "A", "a@example.com", &[], &[]).contains("id=\"no-apps\""));
        assert!(!password_form("t", None, false).contains("must-change"));
    }
}
