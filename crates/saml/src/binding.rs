//! The HTTP-POST binding's auto-submitting form (SAML 2.0 bindings §3.5.4).

/// An HTML page that posts `SAMLResponse` (and `RelayState`) to `acs_url`.
///
/// The page submits itself with an inline script carrying `script_nonce`, so a strict CSP
/// (`script-src 'nonce-...'`) allows it; without scripts a button is shown. Every value is
/// HTML-escaped. The caller should send it with `Cache-Control: no-store`.
pub fn post_form(
    acs_url: &str,
    saml_response_b64: &str,
    relay_state: Option<&str>,
    script_nonce: &str,
) -> String {
    let mut html = String::with_capacity(saml_response_b64.len() + 1024);
    html.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>Signing in</title>\n</head>\n\
         <body>\n<form id=\"saml-post\" method=\"post\" action=\"",
    );
    push_escaped(&mut html, acs_url);
    html.push_str("\">\n<input type=\"hidden\" name=\"SAMLResponse\" value=\"");
    push_escaped(&mut html, saml_response_b64);
    html.push_str("\">\n");
    if let Some(relay_state) = relay_state {
        html.push_str("<input type=\"hidden\" name=\"RelayState\" value=\"");
        push_escaped(&mut html, relay_state);
        html.push_str("\">\n");
    }
    html.push_str(
        "<noscript><p>Scripts are off in this browser. Press the button to continue.</p>\
         <button type=\"submit\">Continue</button></noscript>\n</form>\n<script nonce=\"",
    );
    push_escaped(&mut html, script_nonce);
    html.push_str(
        "\">document.getElementById(\"saml-post\").submit();</script>\n</body>\n</html>\n",
    );
    html
}

/// Escapes for HTML text and double- or single-quoted attribute values.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_value() {
        let html = post_form(
            "https://sp.example/acs?a=1&b=\"2\"",
            "PHg+PC94Pg==",
            Some("<script>alert('x')</script>"),
            "n\"once",
        );
        assert!(html.contains("action=\"https://sp.example/acs?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("value=\"PHg+PC94Pg==\""));
        assert!(html.contains("value=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\""));
        assert!(html.contains("<script nonce=\"n&quot;once\">"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("<noscript>"));
        assert!(html.contains("<button type=\"submit\">Continue</button>"));
    }

    #[test]
    fn relay_state_is_optional() {
        let html = post_form("https://sp.example/acs", "AA==", None, "abc");
        assert!(!html.contains("RelayState"));
        assert_eq!(html.matches("<input").count(), 1);
    }
}
