//! The identity assertion the upstream receives: a short-lived ES256 JWT signed with the
//! proxy's key, whose public half the proxy publishes at `/.trustplane/jwks.json`.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use trustplane_idp::oidc::jwt;

/// How long an assertion is valid.
pub const ASSERTION_TTL_MS: i64 = 60_000;

/// Why the key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("signing key file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a PKCS#8 P-256 key.
    #[error("signing key file: not a PKCS#8 P-256 key")]
    Invalid,
}

/// The proxy's signing key.
pub struct Signer {
    key: EcdsaKeyPair,
    kid: String,
}

impl Signer {
    /// A key read from `file` (PKCS#8 DER), made and written there (mode 0600) when missing,
    /// or made for this run only when no file is given.
    pub fn load_or_create(file: Option<&Path>) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match file {
            Some(f) if f.exists() => std::fs::read(f)?,
            _ => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError::Invalid)?;
                if let Some(f) = file {
                    write_private(f, doc.as_ref())?;
                }
                doc.as_ref().to_vec()
            }
        };
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|_| KeyError::Invalid)?;
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(key.public_key().as_ref())[..12]);
        Ok(Signer { key, kid })
    }

    /// The public key as a JWK set.
    pub fn jwks(&self) -> Value {
        let point = self.key.public_key().as_ref();
        // Uncompressed SEC1: 0x04 || x || y.
        let (x, y) = point.get(1..33).zip(point.get(33..65)).unzip();
        json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "x": x.map(|x| URL_SAFE_NO_PAD.encode(x)),
            "y": y.map(|y| URL_SAFE_NO_PAD.encode(y)),
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
        }]})
    }

    /// Signs `claims` as a compact JWS (`typ: JWT`).
    pub fn sign(&self, claims: &Value) -> Result<String, jwt::JwtError> {
        jwt::encode("ES256", &self.kid, "JWT", claims, &self.key)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertions_verify_against_the_published_key() -> Result<(), Box<dyn std::error::Error>> {
        let signer = Signer::load_or_create(None)?;
        let token = signer.sign(&json!({"sub": "u1", "aud": "app"}))?;
        let jws = jwt::Jws::parse(&token)?;
        jws.verify(&signer.jwks()["keys"][0])?;
        assert_eq!(jws.claims["sub"], "u1");
        let other = Signer::load_or_create(None)?;
        assert!(jws.verify(&other.jwks()["keys"][0]).is_err());
        Ok(())
    }
}
