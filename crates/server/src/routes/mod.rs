//! The routes, one module per area, merged here.

pub(crate) mod applications;
pub(crate) mod audit;
pub(crate) mod cloud;
pub(crate) mod conditional_access;
pub(crate) mod detection;
pub(crate) mod directory_connections;
pub(crate) mod discovery;
pub(crate) mod groups;
pub(crate) mod health;
pub(crate) mod identity_protection;
pub(crate) mod identity_providers;
pub(crate) mod incidents;
pub(crate) mod pim;
pub(crate) mod posture;
pub(crate) mod provisioning;
pub(crate) mod proxy;
pub(crate) mod roles;
pub(crate) mod scim;
pub(crate) mod tokens;
pub(crate) mod users;

use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(users::router())
        .merge(groups::router())
        .merge(applications::router())
        .merge(roles::router())
        .merge(audit::router())
        .merge(tokens::router())
        .merge(conditional_access::router())
        .merge(detection::router())
        .merge(incidents::router())
        .merge(posture::router())
        .merge(crate::saml::router())
        .merge(cloud::router())
        .merge(directory_connections::router())
        .merge(identity_providers::router())
        .merge(pim::router())
        .merge(provisioning::router())
        .merge(proxy::router())
        .merge(discovery::router())
        .merge(identity_protection::router())
        .merge(scim::router())
        .merge(crate::web::router())
        .merge(crate::oidc::router())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(|| async { axum::Json(crate::openapi::document()) }),
        )
        // A bare 404: the error-shaping layer answers browsers with a page and API clients
        // with a problem document.
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) use trustplane_model::nullable;
