//! Small decisions of the token endpoint that need no HTTP: the PKCE check, how a scope
//! string is read, and the sign-in a grant stands for when conditional access is asked again
//! at refresh.

use subtle::ConstantTimeEq;
use trustplane_model::{from_ms, SessionInfo};
use trustplane_store::{Grant, Session};

use super::jwt::b64;

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) must equal the challenge, and the verifier must
/// be 43 to 128 unreserved characters.
pub fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The scopes of a space-separated list, each once, in their first order.
pub fn split_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(' ').filter(|p| !p.is_empty()) {
        if !out.iter().any(|x| x == part) {
            out.push(part.to_string());
        }
    }
    out
}

/// A stand-in session for conditional access at refresh: the sign-in the grant came from.
pub fn grant_session(g: &Grant, now: i64) -> Session {
    let a = &g.authentication;
    Session {
        info: SessionInfo {
            id: a
                .session_id
                .clone()
                .unwrap_or_else(|| format!("grant:{}", g.id)),
            user_id: a.user_id.clone(),
            created_date_time: from_ms(a.auth_time),
            last_seen_date_time: from_ms(now),
            mfa_date_time: a.mfa_at.map(from_ms),
            amr: a.amr.clone(),
            ip_address: None,
            user_agent: None,
            client_app: a.client_app.clone(),
        },
        created_at: a.auth_time,
        last_seen_at: now,
        mfa_at: a.mfa_at,
        restriction: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_only_its_own_verifier() {
        // The challenge computed by Python's hashlib: base64url(sha256(verifier)), unpadded.
        let verifier = "dBjftJeZ4CVP-mJ0kLOi8hXCj1M5_4BrbcvF2Ds6JO8";
        let challenge = "skSiCxC398Id4MT5rZ-KitpqgehHGwdD6ob1YXoO734";
        assert!(pkce_ok(verifier, challenge));
        assert!(!pkce_ok(&verifier.replace('d', "e"), challenge));
        assert!(!pkce_ok("short", challenge));
    }

    #[test]
    fn scopes_split_on_spaces_once_each() {
        assert_eq!(
            split_scopes(" openid  email openid "),
            vec!["openid", "email"]
        );
    }
}
