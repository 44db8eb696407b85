//! The IdP's signing key with its self-signed certificate, and peers' certificates.
//!
//! Signing and verification are `ring`'s RSA PKCS#1 v1.5 with SHA-256. `ring` cannot create RSA
//! keys, so [`SigningKey::generate`] draws the key with the `rsa` crate and hands it to `ring`
//! as PKCS#8; the certificate is written here (see `der`), because SAML peers only ever take
//! the public key out of it.

use std::fmt;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair};
use time::OffsetDateTime;

use crate::der::{self, constructed, tlv};
use crate::error::{Result, SamlError};

/// Modulus size of generated keys, in bits.
pub const RSA_BITS: usize = 2048;

/// Largest certificate accepted, in bytes (an RSA-4096 certificate is under 2 KiB).
const MAX_CERTIFICATE_LEN: usize = 16 * 1024;

/// The IdP's RSA key and the certificate published for it in metadata and in every signature.
pub struct SigningKey {
    key_pair: RsaKeyPair,
    pkcs8: Vec<u8>,
    certificate: Certificate,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("SigningKey")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates an RSA-2048 key and a self-signed X.509 v3 certificate (SHA256withRSA) for it,
    /// with subject and issuer `CN=common_name` and the given validity.
    pub fn generate(
        common_name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<SigningKey> {
        use rsa::pkcs8::EncodePrivateKey as _;

        if not_after <= not_before {
            return Err(SamlError::Key("certificate validity ends before it starts"));
        }
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
            .map_err(|_| SamlError::Key("RSA key generation failed"))?;
        let pkcs8 = private
            .to_pkcs8_der()
            .map_err(|_| SamlError::Key("could not encode the key as PKCS#8"))?
            .as_bytes()
            .to_vec();
        let key_pair = RsaKeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| SamlError::Key("generated key refused by ring"))?;
        let rng = SystemRandom::new();
        let certificate =
            self_signed_certificate(&key_pair, &rng, common_name, not_before, not_after)?;
        Ok(SigningKey {
            key_pair,
            pkcs8,
            certificate: Certificate::from_der(&certificate)?,
            rng,
        })
    }

    /// Loads a stored key: PKCS#8 DER of an RSA private key and the DER certificate, which must
    /// carry the same public key.
    pub fn from_der(pkcs8_der: &[u8], certificate_der: &[u8]) -> Result<SigningKey> {
        let key_pair = RsaKeyPair::from_pkcs8(pkcs8_der)
            .map_err(|_| SamlError::Key("not a usable PKCS#8 RSA private key"))?;
        let certificate = Certificate::from_der(certificate_der)?;
        if key_pair.public().as_ref() != certificate.public_key.as_slice() {
            return Err(SamlError::Key(
                "the certificate does not carry this key's public key",
            ));
        }
        Ok(SigningKey {
            key_pair,
            pkcs8: pkcs8_der.to_vec(),
            certificate,
            rng: SystemRandom::new(),
        })
    }

    /// The private key as PKCS#8 DER, for storage. Keep it secret.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The certificate as DER.
    pub fn certificate_der(&self) -> &[u8] {
        self.certificate.der()
    }

    /// The certificate as standard base64 without line breaks, as in `ds:X509Certificate`.
    pub fn certificate_base64(&self) -> String {
        self.certificate.to_base64()
    }

    /// The certificate, e.g. to verify this key's own signatures.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Signs `data` with RSASSA-PKCS1-v1_5 and SHA-256.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                data,
                &mut signature,
            )
            .map_err(|_| SamlError::Key("RSA signing failed"))?;
        Ok(signature)
    }
}

/// An X.509 certificate taken only for its RSA public key (an SP's, or the IdP's own).
///
/// Nothing else in it is checked: SAML metadata pins the certificate itself, so its validity
/// dates and issuer carry no meaning (as in the SAML V2.0 Metadata Interoperability Profile).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    /// PKCS#1 `RSAPublicKey`, the form `ring` verifies with.
    public_key: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads a DER certificate with an RSA public key.
    pub fn from_der(der: &[u8]) -> Result<Certificate> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(SamlError::TooLarge {
                what: "certificate",
                limit: MAX_CERTIFICATE_LEN,
            });
        }
        let public_key = der::rsa_public_key_of_certificate(der)?.to_vec();
        Ok(Certificate {
            der: der.to_vec(),
            public_key,
        })
    }

    /// Reads base64 DER, as in `ds:X509Certificate` (whitespace is ignored).
    pub fn from_base64(text: &str) -> Result<Certificate> {
        if text.len() > MAX_CERTIFICATE_LEN * 2 {
            return Err(SamlError::TooLarge {
                what: "certificate",
                limit: MAX_CERTIFICATE_LEN,
            });
        }
        let der = decode_base64_lenient(text).ok_or(SamlError::Base64("certificate"))?;
        Certificate::from_der(&der)
    }

    /// Reads a PEM certificate (the first `CERTIFICATE` block).
    pub fn from_pem(pem: &str) -> Result<Certificate> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let start = pem
            .find(BEGIN)
            .ok_or(SamlError::Certificate("no BEGIN CERTIFICATE line"))?
            + BEGIN.len();
        let len = pem[start..]
            .find(END)
            .ok_or(SamlError::Certificate("no END CERTIFICATE line"))?;
        Certificate::from_base64(&pem[start..start + len])
    }

    /// The certificate as DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Standard base64 without line breaks.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// PEM text, e.g. for tools that want a file.
    pub fn to_pem(&self) -> String {
        let b64 = self.to_base64();
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature over `data` made with this certificate's
    /// key (2048 to 8192 bits).
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(data, signature)
            .map_err(|_| SamlError::BadSignature(1))
    }
}

/// Verifies with each certificate in turn; success if any verifies (a key rollover publishes
/// several).
pub(crate) fn verify_with_any(certs: &[Certificate], data: &[u8], signature: &[u8]) -> Result<()> {
    if certs
        .iter()
        .any(|cert| cert.verify(data, signature).is_ok())
    {
        Ok(())
    } else {
        Err(SamlError::BadSignature(certs.len()))
    }
}

/// Standard base64, ignoring ASCII whitespace (metadata and POST bodies wrap lines) and
/// tolerating missing padding.
pub(crate) fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{
        general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig,
    };
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    ENGINE.decode(compact).ok()
}

fn self_signed_certificate(
    key_pair: &RsaKeyPair,
    rng: &SystemRandom,
    common_name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Vec<u8>> {
    use ring::rand::SecureRandom as _;

    let mut serial = [0u8; 16];
    rng.fill(&mut serial).map_err(|_| SamlError::Random)?;
    // Positive and never zero (RFC 5280 §4.1.2.2).
    serial[0] = (serial[0] & 0x7f) | 0x01;

    let algorithm = constructed(
        der::SEQUENCE,
        &[
            &tlv(der::OID, der::OID_SHA256_WITH_RSA),
            &tlv(der::NULL, &[]),
        ],
    );
    let name = constructed(
        der::SEQUENCE,
        &[&constructed(
            der::SET,
            &[&constructed(
                der::SEQUENCE,
                &[
                    &tlv(der::OID, der::OID_COMMON_NAME),
                    &tlv(der::UTF8_STRING, common_name.as_bytes()),
                ],
            )],
        )],
    );
    let validity = constructed(
        der::SEQUENCE,
        &[&x509_time(not_before)?, &x509_time(not_after)?],
    );
    let spki = constructed(
        der::SEQUENCE,
        &[
            &constructed(
                der::SEQUENCE,
                &[
                    &tlv(der::OID, der::OID_RSA_ENCRYPTION),
                    &tlv(der::NULL, &[]),
                ],
            ),
            &tlv(
                der::BIT_STRING,
                &[&[0u8][..], key_pair.public().as_ref()].concat(),
            ),
        ],
    );
    // basicConstraints cA=FALSE (an empty SEQUENCE) and keyUsage digitalSignature, both
    // critical: the certificate is good for nothing but checking this key's signatures.
    let critical = tlv(der::BOOLEAN, &[0xff]);
    let basic_constraints = constructed(
        der::SEQUENCE,
        &[
            &tlv(der::OID, der::OID_BASIC_CONSTRAINTS),
            &critical,
            &tlv(der::OCTET_STRING, &tlv(der::SEQUENCE, &[])),
        ],
    );
    let key_usage = constructed(
        der::SEQUENCE,
        &[
            &tlv(der::OID, der::OID_KEY_USAGE),
            &critical,
            // BIT STRING, 7 unused bits, bit 0 (digitalSignature) set.
            &tlv(der::OCTET_STRING, &tlv(der::BIT_STRING, &[0x07, 0x80])),
        ],
    );
    let extensions = tlv(
        0xa3,
        &constructed(der::SEQUENCE, &[&basic_constraints, &key_usage]),
    );
    let tbs = constructed(
        der::SEQUENCE,
        &[
            &tlv(0xa0, &tlv(der::INTEGER, &[2])), // v3
            &der::unsigned_integer(&serial),
            &algorithm,
            &name,
            &validity,
            &name,
            &spki,
            &extensions,
        ],
    );
    let mut signature = vec![0; key_pair.public().modulus_len()];
    key_pair
        .sign(&signature::RSA_PKCS1_SHA256, rng, &tbs, &mut signature)
        .map_err(|_| SamlError::Key("RSA signing failed"))?;
    Ok(constructed(
        der::SEQUENCE,
        &[
            &tbs,
            &algorithm,
            &tlv(der::BIT_STRING, &[&[0u8][..], &signature].concat()),
        ],
    ))
}

/// UTCTime for 1950 to 2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5).
fn x509_time(at: OffsetDateTime) -> Result<Vec<u8>> {
    let at = at.to_offset(time::UtcOffset::UTC);
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return Err(SamlError::TimeOutOfRange("certificate validity"));
    }
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    Ok(if (1950..2050).contains(&year) {
        tlv(der::UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(der::GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes())
    })
}
