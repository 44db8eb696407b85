//! Trustplane as a SAML 2.0 identity provider over HTTP: metadata, the Redirect and POST
//! bindings, IdP-initiated links, and the auto-post form. The flow's checks and decisions are
//! [`trustplane_idp::saml_app::flow`]'s.

pub(crate) mod sso;

use axum::routing::{get, post};
use axum::Router;

use crate::server::AppState;

// Settings, keys and the flow live in the engine; the old paths stay for handlers.
pub use trustplane_idp::saml_app::settings;
pub use trustplane_idp::saml_app::settings::SamlSettings;
pub use trustplane_idp::saml_app::{keys, Saml};

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
