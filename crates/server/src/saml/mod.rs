//! Trustplane as a SAML 2.0 identity provider: metadata, SP- and IdP-initiated single
//! sign-on, signed responses posted to the SP's registered assertion consumer service.
//!
//! A request is checked first (known SP, registered ACS, signature when required, fresh), then
//! sealed into the URL the browser comes back to (`/saml/resume`), so it survives the sign-in
//! and step-up pages without server-side state. Conditional access decides at every response;
//! a refused person gets a status response without an assertion.

pub mod keys;
pub(crate) mod sso;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use trustplane_store::Store;

use crate::server::AppState;
use trustplane_keyring::KeyRing;
use trustplane_keyring::Sealer;

// Settings and assertion decisions live in the engine; the old paths stay for handlers.
pub use trustplane_idp::saml_app::settings;
pub use trustplane_idp::saml_app::settings::SamlSettings;

/// The identity provider's keys and names.
pub struct Saml {
    /// The signing keys.
    pub ring: KeyRing<keys::SamlKeys>,
    /// Our entity id (the metadata URL, as is customary).
    pub entity_id: String,
    /// Where SPs send requests.
    pub sso_url: String,
}

impl Saml {
    /// The IdP of a server reached at `public_url`.
    pub fn new(store: Store, sealer: Sealer, public_url: &str) -> Arc<Self> {
        let entity_id = format!("{public_url}/saml/metadata");
        Arc::new(Saml {
            ring: KeyRing::new(
                keys::SamlKeys {
                    common_name: entity_id.clone(),
                },
                store,
                sealer,
            ),
            sso_url: format!("{public_url}/saml/sso"),
            entity_id,
        })
    }
}

/// The SAML endpoints.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/saml/metadata", get(sso::metadata))
        .route("/saml/sso", get(sso::sso_redirect).post(sso::sso_post))
        .route("/saml/start/{app}", get(sso::idp_initiated))
        .route("/saml/resume", get(sso::resume))
        .route(
            "/api/v1/saml/signingKeys/rotate",
            post(sso::rotate_signing_key),
        )
}
