//! The OpenAPI document served at `/api/v1/openapi.json`, generated from the handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::oidc::secrets as oidc;
use crate::routes::{
    applications, audit, conditional_access as ca, detection, discovery, groups, health, incidents,
    posture, roles, tokens, users,
};
use trustplane_idp::oidc::credentials;

#[derive(OpenApi)]
#[openapi(
    info(title = "Trustplane admin API", description = "Directory, roles and audit trail. Field names follow Microsoft Graph."),
    paths(
        health::healthz, health::readyz, health::metrics,
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        users::member_of, users::transitive_member_of, users::me,
        users::list_methods, users::delete_method, users::create_temporary_access_pass, users::list_sessions, users::revoke_sessions, users::reset_failures,
        groups::list_groups, groups::create_group, groups::get_group, groups::update_group, groups::delete_group,
        groups::list_members, groups::list_transitive_members, groups::add_member, groups::remove_member,
        applications::list_applications, applications::create_application, applications::get_application,
        applications::update_application, applications::delete_application,
        roles::list_role_definitions, roles::get_role_definition, roles::create_role_definition, roles::update_role_definition, roles::delete_role_definition, roles::list_role_assignments,
        roles::create_role_assignment, roles::get_role_assignment, roles::delete_role_assignment,
        audit::list_audit, audit::verify_audit, audit::list_sign_ins, tokens::create_token, tokens::list_tokens, tokens::revoke_token,
        ca::list_policies, ca::get_policy, ca::create_policy, ca::update_policy, ca::delete_policy,
        ca::list_locations, ca::get_location, ca::create_location, ca::update_location, ca::delete_location, ca::evaluate,
        detection::ingest, detection::own_events, detection::list_alerts, detection::get_alert, detection::acknowledge,
        detection::resolve, detection::respond, detection::list_policies, detection::create_policy, detection::timeline,
        incidents::list_incidents, incidents::get_incident, incidents::update_incident, incidents::add_comment,
        posture::upload_scan, posture::list_findings,
        discovery::list_apps, discovery::get_app, discovery::import_apps, discovery::review_app, discovery::register,
        crate::saml::sso::rotate_signing_key, applications::create_from_saml_metadata,
        oidc::add_password, oidc::remove_password, oidc::rotate_keys,
    ),
    components(schemas(
        trustplane_model::User, trustplane_model::Group, trustplane_model::Application,
        trustplane_model::RoleDefinition, trustplane_model::RolePermission, trustplane_model::RoleResource, trustplane_model::RoleAssignment,
        trustplane_model::Event, trustplane_model::Actor, trustplane_model::Target, trustplane_model::Outcome,
        trustplane_model::PasswordProfile, trustplane_model::AuthMethodInfo, trustplane_model::SessionInfo, trustplane_model::ObjectKind, trustplane_model::AssignmentKind,
        trustplane_model::CreateUser, trustplane_model::UpdateUser, users::NewTemporaryAccessPass, trustplane_model::CreateGroup, trustplane_model::UpdateGroup, groups::MemberRef,
        applications::CreateApplication, applications::UpdateApplication, applications::FromSamlMetadata, roles::CreateRoleAssignment, roles::CreateRoleDefinition, roles::UpdateRoleDefinition, trustplane_idp::api_tokens::CreateToken, crate::saml::sso::RotateKey, detection::RespondBody, detection::CreateResponsePolicy, incidents::UpdateIncident, incidents::AddComment,
        credentials::AddPassword, credentials::PasswordCredentialInput, credentials::PasswordCredential, credentials::RemovePassword, credentials::RotateKeys,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::routes::cloud::CloudApi::openapi());
    doc.merge(crate::routes::directory_connections::DirectoryConnectionsApi::openapi());
    doc.merge(crate::routes::identity_providers::IdentityProvidersApi::openapi());
    doc.merge(crate::routes::pim::PimApi::openapi());
    doc.merge(crate::routes::provisioning::ProvisioningApi::openapi());
    doc.merge(crate::routes::identity_protection::IdentityProtectionApi::openapi());
    doc
}
