//! Where a page may send the browser next. Every redirect target that a request names
//! (`next` after sign-in or step-up) passes here; anything that could leave this origin,
//! as browsers parse URLs, becomes `/`.

/// Longest `next` followed.
const MAX_NEXT: usize = 2048;

/// Where to go after signing in or stepping up, from a `next` a request carried: a path on
/// this server, or else home (`/`). The one check for every redirect target a request names.
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("/").to_string()
}

/// Whether a browser following `s` stays on this origin. Browsers parse URLs by the WHATWG
/// rules: they drop tabs and newlines anywhere, trim control characters and spaces, and read
/// `\` as `/`, so `/\t/evil.example` or `/\evil.example` leave the site. Accepted: an absolute
/// path without any control character, whitespace or backslash, not starting with `//`, that
/// resolves to a path on this origin; and its path, percent-decoded as often as it changes
/// (a later hop may decode it), still passes the same checks.
pub fn is_local_path(s: &str) -> bool {
    if s.len() > MAX_NEXT || !plain_local_path(s) {
        return false;
    }
    let path = s.split(['?', '#']).next().unwrap_or_default();
    let mut current = path.to_string();
    for _ in 0..4 {
        let decoded = percent_decode(&current);
        if decoded == current {
            return true;
        }
        if !plain_local_path(&decoded) {
            return false;
        }
        current = decoded;
    }
    // Still changing after four rounds: nobody legitimate encodes that deep.
    false
}

/// The checks on one form of the value (see `is_local_path`).
fn plain_local_path(s: &str) -> bool {
    let simple = s.starts_with('/')
        && !s.starts_with("//")
        && !s
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if !simple {
        return false;
    }
    // What a browser makes of it against this origin (any origin will do).
    let Ok(base) = url::Url::parse("https://trustplane.invalid/") else {
        return false;
    };
    match base.join(s) {
        Ok(u) => u.origin() == base.origin() && !u.path().starts_with("//"),
        Err(_) => false,
    }
}

/// `%XX` sequences decoded (as bytes; anything that is not UTF-8 becomes U+FFFD).
fn percent_decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (b, hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                // Two hex digits make at most 255.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ways off-site that browsers honour, or that a later decoding hop would make.
    const HOSTILE: &[&str] = &[
        "",
        "evil.example",
        "//evil.example/x",
        "///evil.example",
        "https://evil.example/",
        "HTTPS://evil.example/",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http:/evil.example",
        "/\\evil.example",
        "/\\\\evil.example",
        "\\/evil.example",
        // Browsers drop tabs and newlines anywhere: `//evil.example/`.
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        "\t//evil.example",
        // ... and trim leading control characters and spaces.
        " //evil.example",
        "\u{0}//evil.example",
        "\u{1f}//evil.example",
        "/x y",
        "/\u{7f}/evil.example",
        "/\u{85}/evil.example",
        "/\u{a0}/evil.example",
        "/\u{2028}/evil.example",
        "/\u{3000}/evil.example",
        // Dot segments that resolve to `//`.
        "/.//evil.example",
        "/x/..//evil.example",
        "/%2e//evil.example",
        // Encoded forms, once or twice, any case.
        "/%2F%2Fevil.example",
        "/%2f%2fevil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%00",
        "/%252F%252Fevil.example",
        "/%25252F%25252Fevil.example",
        "/%2525252525252F",
    ];

    #[test]
    fn hostile_next_values_go_home() {
        for next in HOSTILE {
            assert!(!is_local_path(next), "{next:?} was accepted");
            assert_eq!(safe_next(Some(next)), "/", "{next:?}");
        }
        assert_eq!(safe_next(None), "/");
        let long = format!("/{}", "a".repeat(MAX_NEXT));
        assert_eq!(safe_next(Some(&long)), "/");
    }

    #[test]
    fn own_paths_pass_unchanged() {
        for next in [
            "/",
            "/account/security",
            "/account/sessions#list",
            "/oauth2/authorize?client_id=web&redirect_uri=https%3A%2F%2Frp.example.com%2Fcallback&scope=openid+profile&state=a%20b",
            "/account/roles?role=abc&justification=on%20call%20%2F%2F%20incident%5C42",
            "/saml/resume?r=v1.AbC-_xyz",
            "/login?next=/account/security",
            "/caf%C3%A9",
        ] {
            assert!(is_local_path(next), "{next:?} was refused");
            assert_eq!(safe_next(Some(next)), next);
        }
    }
}
