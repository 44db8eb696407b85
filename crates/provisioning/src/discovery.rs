//! The discovery documents (RFC 7644 §4, RFC 7643 §5–§7): `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`, built from the same schema the engine enforces, so what the
//! service says it does is what it does.

use crate::error::{Result, ScimError};
use crate::limits::MAX_PAGE_SIZE;
use crate::list::{list_response, Page};
use crate::schema::{AttrDef, AttrType, ResourceKind, SchemaDef, ENTERPRISE_USER, GROUP, USER};
use serde_json::{json, Value};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE_SIZE},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        // meta.version is the ETag; If-Match is honoured on PUT, PATCH and DELETE (412).
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A provisioning token issued for one SCIM inbound connection.",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        }
    })
}

const KINDS: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

fn resource_type_doc(kind: ResourceKind, base_url: &str) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|s| json!({"schema": s.id, "required": false}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": kind.core().description,
        "schema": kind.core().id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base(base_url), kind.name()),
        }
    })
}

/// `GET /ResourceTypes`.
pub fn resource_types(base_url: &str) -> Value {
    let docs: Vec<Value> = KINDS
        .iter()
        .map(|k| resource_type_doc(*k, base_url))
        .collect();
    let total = docs.len();
    list_response(docs, total, &Page::default())
}

/// `GET /ResourceTypes/{name}`.
pub fn resource_type(base_url: &str, name: &str) -> Result<Value> {
    KINDS
        .iter()
        .find(|k| k.name() == name)
        .map(|k| resource_type_doc(*k, base_url))
        .ok_or_else(|| ScimError::NotFound(format!("resource type '{name}'")))
}

fn attribute_doc(a: &AttrDef) -> Value {
    let mut doc = json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": a.mutability.as_str(),
        "returned": "default",
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if let Some(map) = doc.as_object_mut() {
        if a.ty == AttrType::Complex {
            let subs: Vec<Value> = a.sub.iter().map(attribute_doc).collect();
            map.insert("subAttributes".into(), Value::Array(subs));
        }
        if a.ty == AttrType::Reference {
            // `meta.location` is a URI; `$ref` (members, manager) points at a resource.
            let kinds = if a.name == "$ref" {
                json!(["User", "Group"])
            } else {
                json!(["uri"])
            };
            map.insert("referenceTypes".into(), kinds);
        }
    }
    doc
}

fn schema_doc(s: &SchemaDef, base_url: &str) -> Value {
    let attributes: Vec<Value> = s.attributes.iter().map(attribute_doc).collect();
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base(base_url), s.id),
        }
    })
}

const SCHEMAS: [&SchemaDef; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

/// `GET /Schemas`.
pub fn schemas(base_url: &str) -> Value {
    let docs: Vec<Value> = SCHEMAS.iter().map(|s| schema_doc(s, base_url)).collect();
    let total = docs.len();
    list_response(docs, total, &Page::default())
}

/// `GET /Schemas/{uri}`.
pub fn schema(base_url: &str, id: &str) -> Result<Value> {
    SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema_doc(s, base_url))
        .ok_or_else(|| ScimError::NotFound(format!("schema '{id}'")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_SCHEMA, USER_SCHEMA};

    const BASE: &str = "https://tp.example/scim/v2/";

    #[test]
    fn service_provider_config_says_what_is_supported() {
        let v = service_provider_config(BASE);
        assert_eq!(v["patch"]["supported"], true);
        assert_eq!(v["bulk"]["supported"], false);
        assert_eq!(v["filter"]["maxResults"], MAX_PAGE_SIZE);
        assert_eq!(v["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(
            v["meta"]["location"],
            "https://tp.example/scim/v2/ServiceProviderConfig"
        );
    }

    #[test]
    fn resource_types_name_schemas_and_extensions() {
        let v = resource_types(BASE);
        assert_eq!(v["totalResults"], 2);
        assert_eq!(v["Resources"][0]["endpoint"], "/Users");
        assert_eq!(
            v["Resources"][0]["schemaExtensions"][0]["schema"],
            ENTERPRISE_SCHEMA
        );
        assert_eq!(resource_type(BASE, "Group").unwrap()["schema"], GROUP.id);
        assert_eq!(resource_type(BASE, "Device").unwrap_err().status(), 404);
    }

    #[test]
    fn schemas_describe_attributes() {
        let v = schemas(BASE);
        assert_eq!(v["totalResults"], 3);
        let user = schema(BASE, USER_SCHEMA).unwrap();
        let attrs = user["attributes"].as_array().unwrap();
        let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"].as_array().map(Vec::len), Some(4));
        let group = schema(BASE, GROUP.id).unwrap();
        let members = &group["attributes"][1];
        assert_eq!(members["subAttributes"][1]["name"], "$ref");
        assert_eq!(members["subAttributes"][1]["mutability"], "readWrite");
        assert_eq!(
            members["subAttributes"][1]["referenceTypes"],
            json!(["User", "Group"])
        );
        let display = attrs.iter().find(|a| a["name"] == "displayName").unwrap();
        assert_eq!(display["required"], true, "the directory always holds one");
        assert!(schema(BASE, "urn:nope").is_err());
    }
}
