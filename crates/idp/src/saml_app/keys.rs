//! The SAML signing key: RSA-2048 with a self-signed certificate, which SPs pin from our
//! metadata (its validity is not what they trust, the published certificate is).

use time::{Duration, OffsetDateTime};
use trustplane_saml::SigningKey;

use trustplane_keyring::KeyKind;

/// SAML's key kind for [`trustplane_keyring::KeyRing`].
pub struct SamlKeys {
    /// The certificate's subject: the IdP's entity id.
    pub common_name: String,
}

impl KeyKind for SamlKeys {
    type Signer = SigningKey;
    const PURPOSE: &'static str = "saml";

    fn algorithm(&self) -> &'static str {
        "RS256"
    }

    fn generate(&self) -> Result<(Vec<u8>, String), String> {
        let now = OffsetDateTime::now_utc();
        let key = SigningKey::generate(
            &self.common_name,
            now - Duration::days(1),
            now + Duration::days(3650),
        )
        .map_err(|e| e.to_string())?;
        Ok((key.pkcs8_der().to_vec(), key.certificate_base64()))
    }

    fn parse(&self, private_der: &[u8], public: &str) -> Result<SigningKey, String> {
        use base64::Engine as _;
        let cert = base64::engine::general_purpose::STANDARD
            .decode(public)
            .map_err(|e| e.to_string())?;
        SigningKey::from_der(private_der, &cert).map_err(|e| e.to_string())
    }
}
