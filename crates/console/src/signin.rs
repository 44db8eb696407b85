//! The sign-in pages: user name and password (or a passkey), then a second factor.

use crate::html::{csrf_field, error_box, esc};

/// The sign-in form; `next` is where to go afterwards (already checked by `next::safe_next`).
pub fn login_form(csrf: &str, next: &str, error: Option<&str>) -> String {
    format!(
        "<h1>Sign in</h1>{}\
         <form method=\"post\" action=\"/login\">{}\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label for=\"username\">User name</label>\
         <input type=\"email\" id=\"username\" name=\"username\" autocomplete=\"username webauthn\" required autofocus>\
         <label for=\"password\">Password</label>\
         <p id=\"password-hint\" class=\"hint\">Leave it empty if your organisation signs you in with its own identity provider: you will be sent there.</p>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" aria-describedby=\"password-hint\">\
         <button type=\"submit\">Sign in</button></form>\
         <p><button type=\"button\" id=\"passkey-sign-in\" data-next=\"{}\">Sign in with a passkey</button></p>\
         <script src=\"/static/passkey.js\"></script>",
        error_box(error),
        csrf_field(csrf),
        esc(next),
        esc(next)
    )
}

/// The message on the sign-in form when its pending sign-in ran out.
pub const EXPIRED: &str = "This sign-in has expired; start again.";

/// The second-factor form of a sign-in under way.
pub fn mfa_form(csrf: &str, next: &str, error: Option<&str>) -> String {
    format!(
        "<h1>Verify it is you</h1>{}\
         <form method=\"post\" action=\"/login/mfa\">{}\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <fieldset><legend>Method</legend>\
         <label><input type=\"radio\" name=\"method\" value=\"totp\" checked> Code from your authenticator app</label>\
         <label><input type=\"radio\" name=\"method\" value=\"recoveryCode\"> A recovery code</label></fieldset>\
         <label for=\"code\">Code</label>\
         <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required autofocus>\
         <button type=\"submit\">Verify</button></form>",
        error_box(error),
        csrf_field(csrf),
        esc(next)
    )
}

/// Conditional access refused the sign-in, for `reason`.
pub fn blocked(reason: &str) -> String {
    format!(
        "<h1>Access blocked</h1><p role=\"alert\">{}</p><p>Ask your administrator if you think this is wrong.</p>",
        esc(reason)
    )
}

/// Sign-in through an upstream identity provider did not succeed; the reason is in the
/// sign-in log, the person gets this.
pub fn federated_failed(message: &str) -> String {
    format!(
        "<h1>Sign-in failed</h1><p role=\"alert\">{}</p><p><a href=\"/login\">Start again</a></p>",
        esc(message)
    )
}

/// Sign-in cannot go on now (the store or the node failed); the details go to the log.
pub const UNAVAILABLE: &str = "<h1>Sign-in is unavailable</h1><p>Try again shortly.</p>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_carry_their_token_and_escaped_next() {
        let form = login_form("tok", "/a?x=\"><script>", Some("<wrong>"));
        assert!(form.contains("name=\"csrf\" value=\"tok\""));
        assert!(form.contains("value=\"/a?x=&quot;&gt;&lt;script&gt;\""));
        assert!(!form.contains("<script>alert"));
        assert!(form.contains("&lt;wrong&gt;"));
        assert!(mfa_form("t", "/", None).contains("action=\"/login/mfa\""));
        assert!(blocked("<policy>").contains("&lt;policy&gt;"));
        assert!(federated_failed("<x>").contains("&lt;x&gt;"));
    }
}
