//! Signing keys and certificates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;
use time::Duration;
use trustplane_saml::{Certificate, SamlError, SigningKey};

#[test]
fn signatures_verify_with_the_certificate_only() {
    let key = idp_key();
    let signature = key.sign(b"message").unwrap();
    assert_eq!(signature.len(), 256);
    let cert = Certificate::from_der(key.certificate_der()).unwrap();
    cert.verify(b"message", &signature).unwrap();
    assert!(cert.verify(b"messagE", &signature).is_err());
    let other = other_key().certificate();
    assert!(other.verify(b"message", &signature).is_err());
}

#[test]
fn stored_key_round_trips() {
    let key = idp_key();
    let loaded = SigningKey::from_der(key.pkcs8_der(), key.certificate_der()).unwrap();
    assert_eq!(loaded.certificate_der(), key.certificate_der());
    assert_eq!(loaded.certificate_base64(), key.certificate_base64());
    // PKCS#1 v1.5 is deterministic: the same key signs the same bytes identically.
    assert_eq!(loaded.sign(b"x").unwrap(), key.sign(b"x").unwrap());
    // Debug output never shows the private key.
    assert!(!format!("{loaded:?}").contains(&b64(key.pkcs8_der())[..40]));
}

#[test]
fn stored_key_must_match_its_certificate() {
    let err =
        SigningKey::from_der(idp_key().pkcs8_der(), other_key().certificate_der()).unwrap_err();
    assert!(matches!(err, SamlError::Key(_)), "{err:?}");
    assert!(matches!(
        SigningKey::from_der(b"not a key", idp_key().certificate_der()),
        Err(SamlError::Key(_))
    ));
    assert!(matches!(
        SigningKey::from_der(idp_key().pkcs8_der(), b"not a certificate"),
        Err(SamlError::Certificate(_))
    ));
}

#[test]
fn certificate_forms() {
    let cert = idp_key().certificate();
    assert_eq!(&Certificate::from_pem(&cert.to_pem()).unwrap(), cert);
    assert_eq!(&Certificate::from_base64(&cert.to_base64()).unwrap(), cert);
    // Wrapped base64 as metadata often has it.
    let wrapped: String = cert
        .to_base64()
        .as_bytes()
        .chunks(64)
        .map(|c| format!("\n      {}", String::from_utf8_lossy(c)))
        .collect();
    assert_eq!(&Certificate::from_base64(&wrapped).unwrap(), cert);

    assert_eq!(
        Certificate::from_base64("***").unwrap_err(),
        SamlError::Base64("certificate")
    );
    assert!(matches!(
        Certificate::from_pem("no pem here"),
        Err(SamlError::Certificate(_))
    ));
    assert!(matches!(
        Certificate::from_der(&cert.der()[..cert.der().len() - 1]),
        Err(SamlError::Certificate(_))
    ));
    let mut trailing = cert.der().to_vec();
    trailing.push(0);
    assert!(matches!(
        Certificate::from_der(&trailing),
        Err(SamlError::Certificate(_))
    ));
    assert!(matches!(
        Certificate::from_der(&vec![0x30; 20_000]),
        Err(SamlError::TooLarge { .. })
    ));
}

#[test]
fn non_rsa_certificates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ec.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/CN=ec.test", "-days", "1", "-keyout"])
        .arg(dir.path().join("ec.key"))
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl is installed");
    assert!(status.status.success());
    let err = Certificate::from_pem(&std::fs::read_to_string(&pem).unwrap()).unwrap_err();
    assert_eq!(err, SamlError::Certificate("public key is not RSA"));
}

#[test]
fn validity_is_written_and_checked() {
    let start = fixed_now();
    assert!(matches!(
        SigningKey::generate("x", start, start),
        Err(SamlError::Key(_))
    ));
    // Past 2049 X.509 switches to GeneralizedTime; OpenSSL reads both.
    let key = SigningKey::generate("far.test", start, start + Duration::days(365 * 40)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("far.pem");
    std::fs::write(&pem, key.certificate().to_pem()).unwrap();
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-dates", "-in"])
        .arg(&pem)
        .output()
        .unwrap();
    let dates = String::from_utf8_lossy(&output.stdout);
    assert!(
        dates.contains("notBefore=Nov 28 19:00:00 2026 GMT"),
        "{dates}"
    );
    assert!(dates.contains("2066 GMT"), "{dates}");
}
