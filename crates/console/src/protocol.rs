//! The few pages the OIDC and SAML endpoints show a person: refusals, the RP-initiated
//! logout confirmation, and the hop back to an application.

use crate::html::{csrf_field, esc};

/// An authorization request that cannot be completed (nothing is sent back to the client).
pub fn authorize_error(message: &str) -> String {
    format!(
        "<h1>This sign-in request cannot be completed</h1><p role=\"alert\">{}</p>\
         <p>The application that sent you here is misconfigured or the link is broken.</p>",
        esc(message)
    )
}

/// A SAML sign-in refused, for `why`.
pub fn saml_refused(why: &str) -> String {
    format!("<h1>This sign-in cannot go on</h1><p>{}</p>", esc(why))
}

/// The way back to an application after one of our own pages: a page that continues by
/// itself (browsers apply our pages' `form-action` policy to redirects after a form post).
pub fn continue_to(url: &str) -> String {
    format!(
        "<meta http-equiv=\"refresh\" content=\"0;url={u}\"><h1>Returning to the application</h1>\
         <p><a id=\"continue\" href=\"{u}\">Continue to the application</a></p>",
        u = esc(url)
    )
}

/// A sign-out request that cannot be completed.
pub fn logout_error(message: &str) -> String {
    format!(
        "<h1>This sign-out request cannot be completed</h1><p role=\"alert\">{}</p>",
        esc(message)
    )
}

/// What the logout confirmation posts back, each only when the request carried it.
pub struct LogoutFields<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

fn hidden(name: &str, value: Option<&str>) -> String {
    value
        .map(|v| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(name),
                esc(v)
            )
        })
        .unwrap_or_default()
}

/// "Sign out?": an application asks to end the person's Trustplane session.
pub fn logout_confirm(action: &str, csrf: &str, app_name: &str, f: &LogoutFields<'_>) -> String {
    format!(
        "<h1>Sign out?</h1><p>{} asks to sign you out of Trustplane.</p>\
         <form method=\"post\" action=\"{}\">{}{}{}{}{}\
         <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>",
        esc(app_name),
        esc(action),
        csrf_field(csrf),
        hidden("id_token_hint", f.id_token_hint),
        hidden("client_id", f.client_id),
        hidden("post_logout_redirect_uri", f.post_logout_redirect_uri),
        hidden("state", f.state),
    )
}

/// Signed out, with no application to return to.
pub const SIGNED_OUT: &str =
    "<h1>You are signed out</h1><p><a href=\"/login\">Sign in again</a></p>";

/// An error a browser gets from a route (not found, wrong method, body too large).
pub fn route_error(title: &str, detail: &str) -> String {
    format!(
        "<h1>{}</h1><p>{}.</p><p><a href=\"/\">Home</a></p>",
        esc(title),
        esc(detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logout_form_posts_back_only_what_came_and_escapes_it() {
        let f = LogoutFields {
            id_token_hint: None,
            client_id: Some("web\"><script>"),
            post_logout_redirect_uri: Some("https://rp.example/bye"),
            state: None,
        };
        let page = logout_confirm("/oauth2/logout", "t", "<App>", &f);
        assert!(!page.contains("id_token_hint") && !page.contains("name=\"state\""));
        assert!(page.contains("value=\"web&quot;&gt;&lt;script&gt;\""));
        assert!(page.contains("&lt;App&gt; asks"));
        assert!(continue_to("https://rp.example/cb?a=1&b=\"").contains("b=&quot;"));
    }
}
