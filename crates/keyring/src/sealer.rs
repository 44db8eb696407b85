//! Secrets at rest: TOTP seeds, passkeys and (later) signing keys are sealed with a master key
//! (XChaCha20-Poly1305) before they reach the database. The key lives outside the database —
//! a file in the data folder made on first start (mode 0600), or `TRUSTPLANE_MASTER_KEY` —
//! so a copy of the database alone reveals none of them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::Path;
use trustplane_store::AuditKey;

/// Why a master key could not be had or a secret could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key material is malformed.
    #[error("the master key must be 32 bytes, base64url-encoded")]
    Malformed,
    /// The key file could not be read or written.
    #[error("master key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A sealed value was altered, belongs elsewhere, or was sealed with another key.
    #[error("a sealed secret cannot be opened (wrong master key or altered data)")]
    Open,
    /// No randomness.
    #[error("no randomness available")]
    Random,
}

/// The master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    audit_key: AuditKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

const PREFIX: &str = "v1.";

impl Sealer {
    /// A sealer from 32 bytes of key, base64url-encoded (padding optional).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| KeyError::Malformed)?;
        if bytes.len() != 32 {
            return Err(KeyError::Malformed);
        }
        Ok(Sealer {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| KeyError::Malformed)?,
            audit_key: AuditKey::derive(&bytes),
        })
    }

    /// Reads an existing key file (never creates one: a verifier must not invent a key).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::File {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_base64(&text)
    }

    /// The audit chain's key, derived from the master key.
    pub fn audit_key(&self) -> AuditKey {
        self.audit_key.clone()
    }

    /// Reads the key file, creating it with a fresh random key (mode 0600) if absent.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let file_error = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0_u8; 32];
                getrandom::getrandom(&mut key).map_err(|_| KeyError::Random)?;
                let text = URL_SAFE_NO_PAD.encode(key);
                write_private(path, &text).map_err(file_error)?;
                Self::from_base64(&text)
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// Seals `plain`, bound to `context` (e.g. `totp:<user id>`), so a sealed value copied into
    /// another row does not open there.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<String, KeyError> {
        let mut nonce = [0_u8; 24];
        getrandom::getrandom(&mut nonce).map_err(|_| KeyError::Random)?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a value sealed with the same key and context.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(KeyError::Open)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| KeyError::Open)?;
        if bytes.len() < 24 {
            return Err(KeyError::Open);
        }
        let (nonce, data) = bytes.split_at(24);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: data,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Open)
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let a = Sealer::from_base64(&URL_SAFE_NO_PAD.encode([7_u8; 32])).unwrap();
        let b = Sealer::from_base64(&URL_SAFE_NO_PAD.encode([8_u8; 32])).unwrap();
        let sealed = a.seal("totp:u1", b"secret").unwrap();
        assert_eq!(a.open("totp:u1", &sealed).unwrap(), b"secret");
        assert!(a.open("totp:u2", &sealed).is_err());
        assert!(b.open("totp:u1", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open("totp:u1", &tampered).is_err());
        assert!(!sealed.contains("secret"));
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = Sealer::load_or_create(&path).unwrap();
        let sealed = first.seal("c", b"x").unwrap();
        let again = Sealer::load_or_create(&path).unwrap();
        assert_eq!(again.open("c", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
