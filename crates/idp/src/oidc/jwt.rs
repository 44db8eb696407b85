//! Compact JWS (RFC 7515) for JWTs: encoding with the provider's keys, and parsing and
//! verifying against a JWK (the provider's own, or a client's for `private_key_jwt`).
//!
//! Only ES256 and RS256 exist here; `none` and every other algorithm are refused, and the
//! algorithm must match the key's type, so a token cannot choose how it is checked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use serde_json::{json, Value};

use super::keys::Sign;

/// Longest token accepted for parsing.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON objects, or too long.
    #[error("malformed token")]
    Malformed,
    /// An algorithm other than ES256 or RS256, or one that does not fit the key.
    #[error("unsupported or mismatched algorithm `{0}`")]
    Algorithm(String),
    /// The key cannot be used (wrong type, curve or size).
    #[error("unusable key: {0}")]
    Key(&'static str),
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
pub fn encode(
    alg: &str,
    kid: &str,
    typ: &str,
    claims: &Value,
    key: &dyn Sign,
) -> Result<String, JwtError> {
    let header = json!({ "alg": alg, "kid": kid, "typ": typ });
    let mut out = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.sign_jws(out.as_bytes()).map_err(JwtError::Sign)?;
    out.push('.');
    out.push_str(&b64(&signature));
    Ok(out)
}

/// A parsed, not yet verified, JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The protected header.
    pub header: Value,
    /// The payload.
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

fn json_part(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JwtError::Malformed)
    }
}

impl Jws {
    /// Splits and decodes a compact JWS.
    pub fn parse(token: &str) -> Result<Self, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header = json_part(h)?;
        // Critical extensions we do not understand must make the token fail (RFC 7515 §4.1.11).
        if header.get("crit").is_some() {
            return Err(JwtError::Malformed);
        }
        let claims = json_part(p)?;
        let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
        Ok(Jws {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// The header's `alg`.
    pub fn alg(&self) -> &str {
        self.header["alg"].as_str().unwrap_or_default()
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header["kid"].as_str()
    }

    /// Verifies the signature with a public JWK. The header's `alg` must be the one the key
    /// is for (and the key's own `alg`, when it names one).
    pub fn verify(&self, jwk: &Value) -> Result<(), JwtError> {
        let alg = self.alg();
        if let Some(key_alg) = jwk["alg"].as_str() {
            if key_alg != alg {
                return Err(JwtError::Algorithm(alg.into()));
            }
        }
        let part = |name: &str| -> Result<Vec<u8>, JwtError> {
            jwk[name]
                .as_str()
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .ok_or(JwtError::Key("missing or malformed key member"))
        };
        let message = self.signing_input.as_bytes();
        match (jwk["kty"].as_str(), alg) {
            (Some("EC"), "ES256") => {
                if jwk["crv"].as_str() != Some("P-256") {
                    return Err(JwtError::Key("only P-256 EC keys are supported"));
                }
                let (x, y) = (part("x")?, part("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JwtError::Key("P-256 coordinates must be 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, &self.signature)
                    .map_err(|_| JwtError::Signature)
            }
            (Some("RSA"), "RS256") => {
                let components = RsaPublicKeyComponents {
                    n: part("n")?,
                    e: part("e")?,
                };
                components
                    .verify(&RSA_PKCS1_2048_8192_SHA256, message, &self.signature)
                    .map_err(|_| JwtError::Signature)
            }
            _ => Err(JwtError::Algorithm(alg.chars().take(16).collect())),
        }
    }
}

/// Checks that a JWK is a public key this module can verify with (EC P-256 or RSA of at least
/// 2048 bits, no private members). Used when a client registers its JWKS.
pub fn check_public_jwk(jwk: &Value) -> Result<(), JwtError> {
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        if jwk.get(private).is_some() {
            return Err(JwtError::Key("a private key member is present"));
        }
    }
    let part = |name: &str| -> Result<Vec<u8>, JwtError> {
        jwk[name]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .ok_or(JwtError::Key("missing or malformed key member"))
    };
    match jwk["kty"].as_str() {
        Some("EC") => {
            if jwk["crv"].as_str() != Some("P-256") {
                return Err(JwtError::Key("only P-256 EC keys are supported"));
            }
            if part("x")?.len() != 32 || part("y")?.len() != 32 {
                return Err(JwtError::Key("P-256 coordinates must be 32 bytes"));
            }
            if jwk["alg"].as_str().is_some_and(|a| a != "ES256") {
                return Err(JwtError::Algorithm("alg".into()));
            }
            Ok(())
        }
        Some("RSA") => {
            let n = part("n")?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if significant * 8 < 2048 {
                return Err(JwtError::Key("RSA keys must have at least 2048 bits"));
            }
            part("e")?;
            if jwk["alg"].as_str().is_some_and(|a| a != "RS256") {
                return Err(JwtError::Algorithm("alg".into()));
            }
            Ok(())
        }
        _ => Err(JwtError::Key("only EC (P-256) and RSA keys are supported")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn malformed_tokens_and_foreign_algorithms_are_refused() {
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.", "e30.e30", "W10.e30.AA"] {
            assert!(Jws::parse(bad).is_err(), "{bad}");
        }
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(b"{}"));
        let jws = Jws::parse(&none).unwrap();
        let ec = json!({"kty": "EC", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])});
        assert_eq!(jws.verify(&ec), Err(JwtError::Algorithm("none".into())));
        // An RS256 header cannot be checked against an EC key, nor HS256 against anything.
        let rs = format!("{}.{}.AA", b64(br#"{"alg":"RS256"}"#), b64(b"{}"));
        assert!(matches!(
            Jws::parse(&rs).unwrap().verify(&ec),
            Err(JwtError::Algorithm(_))
        ));
        let crit = format!(
            "{}.{}.AA",
            b64(br#"{"alg":"ES256","crit":["x"]}"#),
            b64(b"{}")
        );
        assert!(Jws::parse(&crit).is_err());
    }

    #[test]
    fn registered_keys_must_be_public_and_strong_enough() {
        let ec = json!({"kty": "EC", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])});
        assert!(check_public_jwk(&ec).is_ok());
        let mut private = ec.clone();
        private["d"] = json!(b64(&[3; 32]));
        assert!(check_public_jwk(&private).is_err());
        let small = json!({"kty": "RSA", "n": b64(&[0xff; 128]), "e": "AQAB"});
        assert!(check_public_jwk(&small).is_err());
        let fine = json!({"kty": "RSA", "n": b64(&[0xff; 256]), "e": "AQAB"});
        assert!(check_public_jwk(&fine).is_ok());
        assert!(check_public_jwk(&json!({"kty": "oct", "k": "AA"})).is_err());
    }
}
