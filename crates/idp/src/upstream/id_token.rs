//! Checking an upstream provider's ID token (OpenID Connect Core §3.1.3.7): the signature with
//! a key from the provider's JWKS (ES256 or RS256 only; `none`, HMAC and every other algorithm
//! are refused), then `iss`, `aud` (and `azp` with several audiences), `exp`, `iat`, `nbf`
//! and `nonce`.

use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::oidc::jwt::Jws;

/// Clock difference allowed with the provider, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's issuer identifier, exactly.
    pub issuer: &'a str,
    /// Trustplane's client id at the provider.
    pub client_id: &'a str,
    /// The nonce sent with this sign-in's authorization request.
    pub nonce: &'a str,
    /// Now, in milliseconds since the epoch.
    pub now_ms: i64,
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a compact JWS of JSON objects.
    #[error("the ID token is malformed")]
    Malformed,
    /// An algorithm other than ES256 or RS256.
    #[error("the ID token's algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// No key of the provider's JWKS fits the token's `kid` and algorithm.
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the ID token's signature does not verify")]
    Signature,
    /// `iss` is not the provider's issuer.
    #[error("the ID token's issuer is not the provider's")]
    Issuer,
    /// `aud` does not hold Trustplane's client id, or `azp` is another client.
    #[error("the ID token is not for this client")]
    Audience,
    /// `exp` has passed (or is missing).
    #[error("the ID token has expired")]
    Expired,
    /// `iat` or `nbf` is in the future.
    #[error("the ID token is not valid yet")]
    NotYetValid,
    /// `nonce` is missing or not this sign-in's.
    #[error("the ID token's nonce is not this sign-in's")]
    Nonce,
    /// `sub` is missing.
    #[error("the ID token has no subject")]
    Subject,
}

/// Verifies `token` against the keys of `jwks` (`{"keys": [...]}`) and the expectations;
/// returns its claims.
pub fn validate(token: &str, jwks: &Value, expected: &Expected<'_>) -> Result<Value, IdTokenError> {
    let jws = Jws::parse(token).map_err(|_| IdTokenError::Malformed)?;
    let alg = jws.alg();
    let kty = match alg {
        "RS256" => "RSA",
        "ES256" => "EC",
        other => return Err(IdTokenError::Algorithm(other.chars().take(16).collect())),
    };
    let keys = jwks["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let candidates: Vec<&Value> = keys
        .iter()
        .filter(|k| k["kty"].as_str() == Some(kty))
        .filter(|k| k["use"].as_str().is_none_or(|u| u == "sig"))
        .filter(|k| match jws.kid() {
            Some(kid) => k["kid"].as_str() == Some(kid),
            None => true,
        })
        .take(8)
        .collect();
    if candidates.is_empty() {
        return Err(IdTokenError::UnknownKey);
    }
    if !candidates.iter().any(|k| jws.verify(k).is_ok()) {
        return Err(IdTokenError::Signature);
    }
    let claims = jws.claims;
    if claims["iss"].as_str() != Some(expected.issuer) {
        return Err(IdTokenError::Issuer);
    }
    let audience_ok = match &claims["aud"] {
        Value::String(a) => a == expected.client_id,
        Value::Array(list) => {
            list.iter().any(|a| a.as_str() == Some(expected.client_id))
                && (list.len() == 1 || claims["azp"].as_str() == Some(expected.client_id))
        }
        _ => false,
    };
    if !audience_ok {
        return Err(IdTokenError::Audience);
    }
    if let Some(azp) = claims["azp"].as_str() {
        if azp != expected.client_id {
            return Err(IdTokenError::Audience);
        }
    }
    let now = expected.now_ms.div_euclid(1000);
    match claims["exp"].as_i64() {
        Some(exp) if now < exp.saturating_add(CLOCK_SKEW_SECS) => {}
        _ => return Err(IdTokenError::Expired),
    }
    for name in ["iat", "nbf"] {
        if let Some(t) = claims[name].as_i64() {
            if t > now.saturating_add(CLOCK_SKEW_SECS) {
                return Err(IdTokenError::NotYetValid);
            }
        }
    }
    let nonce_ok = claims["nonce"].as_str().is_some_and(|n| {
        !expected.nonce.is_empty() && bool::from(n.as_bytes().ct_eq(expected.nonce.as_bytes()))
    });
    if !nonce_ok {
        return Err(IdTokenError::Nonce);
    }
    match claims["sub"].as_str() {
        Some(s) if !s.is_empty() && s.len() <= 255 => Ok(claims),
        _ => Err(IdTokenError::Subject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jwt::{b64, encode};
    use crate::oidc::keys::{Es256, Sign};
    use ring::signature::EcdsaKeyPair;
    use serde_json::json;
    use trustplane_keyring::KeyKind;

    const NOW_MS: i64 = 1_790_000_000_000;

    /// A P-256 key and its public JWK with a `kid` of its own.
    fn key() -> (Box<dyn Sign>, Value) {
        let (der, public) = Es256.generate().unwrap_or_default();
        let pair: EcdsaKeyPair = Es256.parse(&der, &public).unwrap_or_else(|e| panic!("{e}"));
        let mut jwk: Value = serde_json::from_str(&public).unwrap_or_default();
        jwk["kid"] = json!("k-1");
        jwk["use"] = json!("sig");
        (Box::new(pair), jwk)
    }

    fn claims() -> Value {
        json!({
            "iss": "https://op.example.test",
            "aud": "trustplane",
            "sub": "s-1",
            "exp": NOW_MS / 1000 + 300,
            "iat": NOW_MS / 1000,
            "nonce": "n-1",
            "oid": "o-1", "tid": "t-1",
        })
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://op.example.test",
            client_id: "trustplane",
            nonce: "n-1",
            now_ms: NOW_MS,
        }
    }

    fn sign(claims: &Value, signer: &dyn Sign, kid: &str) -> String {
        encode("ES256", kid, "JWT", claims, signer).unwrap_or_default()
    }

    #[test]
    fn a_good_token_passes_and_every_bad_one_is_refused() {
        let (signer, jwk) = key();
        let jwks = json!({ "keys": [jwk] });
        let kid = "k-1";
        let good = sign(&claims(), signer.as_ref(), kid);
        assert!(validate(&good, &jwks, &expected()).is_ok());

        let (other, _) = key();
        let forged = sign(&claims(), other.as_ref(), kid);
        assert_eq!(
            validate(&forged, &jwks, &expected()),
            Err(IdTokenError::Signature)
        );
        let unknown = sign(&claims(), other.as_ref(), "another-kid");
        assert_eq!(
            validate(&unknown, &jwks, &expected()),
            Err(IdTokenError::UnknownKey)
        );
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            sign(&c, signer.as_ref(), kid)
        };
        let cases = [
            (
                with("iss", json!("https://evil.test")),
                IdTokenError::Issuer,
            ),
            (with("aud", json!("another-client")), IdTokenError::Audience),
            (
                with("aud", json!(["trustplane", "another"])),
                IdTokenError::Audience,
            ),
            (with("azp", json!("another")), IdTokenError::Audience),
            (
                with("exp", json!(NOW_MS / 1000 - CLOCK_SKEW_SECS - 1)),
                IdTokenError::Expired,
            ),
            (with("exp", Value::Null), IdTokenError::Expired),
            (
                with("iat", json!(NOW_MS / 1000 + 3600)),
                IdTokenError::NotYetValid,
            ),
            (with("nonce", json!("n-2")), IdTokenError::Nonce),
            (with("nonce", Value::Null), IdTokenError::Nonce),
            (with("sub", Value::Null), IdTokenError::Subject),
        ];
        for (token, error) in cases {
            assert_eq!(validate(&token, &jwks, &expected()), Err(error));
        }
        // Several audiences are fine when azp names us.
        let mut c = claims();
        c["aud"] = json!(["trustplane", "another"]);
        c["azp"] = json!("trustplane");
        assert!(validate(&sign(&c, signer.as_ref(), kid), &jwks, &expected()).is_ok());
    }

    #[test]
    fn unsigned_and_hmac_tokens_are_refused() {
        let (_, jwk) = key();
        let jwks = json!({ "keys": [jwk] });
        for alg in ["none", "HS256"] {
            let header = b64(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes());
            let body = b64(claims().to_string().as_bytes());
            let token = format!("{header}.{body}.{}", b64(b"x"));
            assert_eq!(
                validate(&token, &jwks, &expected()),
                Err(IdTokenError::Algorithm(alg.into()))
            );
        }
        assert_eq!(
            validate("a.b", &jwks, &expected()),
            Err(IdTokenError::Malformed)
        );
    }
}
