//! The SCIM `User` (with the enterprise extension) and `Group` resources (RFC 7643 §4), their
//! JSON form, and their mapping to Trustplane's directory objects.

use crate::canonical::{canonicalize, ReadOnly};
use crate::error::{Result, ScimError};
use crate::schema::{ResourceKind, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use trustplane_model as model;

/// Keys of a directory user's `attributes` that SCIM owns. Plain names, so claim mappings can
/// read `department` and `employeeNumber` as they read any attribute.
pub mod attribute_keys {
    /// `name.formatted`.
    pub const NAME_FORMATTED: &str = "nameFormatted";
    /// All addresses as SCIM `emails` entries (type and primary kept); `mail` holds the main
    /// one's value and wins if the two disagree.
    pub const EMAILS: &str = "emails";
    /// Enterprise `employeeNumber`.
    pub const EMPLOYEE_NUMBER: &str = "employeeNumber";
    /// Enterprise `department`.
    pub const DEPARTMENT: &str = "department";
    /// Enterprise `manager.value`: the manager's user id.
    pub const MANAGER: &str = "manager";
}
use attribute_keys as keys;

/// Resource metadata (RFC 7643 §3.1), set by the service only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User` or `Group`.
    pub resource_type: String,
    /// When the resource was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When the resource last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// Weak entity tag derived from `lastModified`.
    pub version: String,
    /// The resource's URI.
    pub location: String,
}

impl Meta {
    /// Metadata of the resource `id` under the service's base URL (ending in `/scim/v2`).
    pub fn new(
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        created: OffsetDateTime,
        last_modified: OffsetDateTime,
    ) -> Self {
        Meta {
            resource_type: kind.name().into(),
            created,
            last_modified,
            // The modification instant changes with every write, which is all an ETag needs.
            version: format!("W/\"{}\"", last_modified.unix_timestamp_nanos()),
            location: format!("{}{}/{id}", base_url.trim_end_matches('/'), kind.endpoint()),
        }
    }
}

/// The components of a user's name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
}

/// One mail address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub value: String,
    /// `work`, `home`, `other`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the preferred address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// A name shown for the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A reference to a manager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manager {
    /// The manager's id.
    pub value: String,
}

/// The enterprise User extension's attributes kept by the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The user's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

impl EnterpriseUser {
    fn is_empty(&self) -> bool {
        self == &EnterpriseUser::default()
    }
}

/// A SCIM User.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The service's id (absent in a create request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Sign-in name.
    pub user_name: String,
    /// Name components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Name shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    /// Whether the account may sign in (absent means yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Enterprise extension attributes.
    #[serde(
        default,
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    /// Metadata, set by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// The member's name, filled in by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The member's URI, filled in by the service.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `User` or `Group`, filled in by the service.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A SCIM Group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The service's id (absent in a create request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Name shown to people.
    pub display_name: String,
    /// Direct members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Metadata, set by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Reads a canonical JSON value into a typed resource; a missing or mistyped attribute is an
/// `invalidValue`.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| ScimError::InvalidValue(e.to_string()))
}

/// Writes a resource as JSON with its `schemas` list in front.
fn with_schemas<T: Serialize>(resource: &T, schemas: Vec<&str>) -> Value {
    let mut out = Map::new();
    out.insert(
        "schemas".into(),
        Value::Array(
            schemas
                .into_iter()
                .map(|s| Value::String(s.into()))
                .collect(),
        ),
    );
    if let Ok(Value::Object(fields)) = serde_json::to_value(resource) {
        out.extend(fields);
    }
    Value::Object(out)
}

/// Nulls (unassigned attributes, RFC 7643 §2.5) removed, so serde's defaults apply.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Longest name the directory keeps (display, given and family names), in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Most mail addresses kept per user (one in `mail`, the rest in an attribute the directory
/// bounds to 4 KiB).
pub const MAX_EMAILS: usize = 10;
/// Largest `emails` list, as JSON, in bytes.
pub const MAX_EMAILS_BYTES: usize = 3 * 1024;

/// Names are checked here against the directory's limit, so a long one is a SCIM
/// `invalidValue` rather than a store failure.
fn name_length(field: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) if v.trim().chars().count() > MAX_NAME_CHARS => Err(ScimError::InvalidValue(
            format!("'{field}' must be at most {MAX_NAME_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// Which address the directory's `mail` holds: the primary one, else the work one, else the
/// first.
fn main_email(emails: &[Email]) -> Option<usize> {
    emails
        .iter()
        .position(|e| e.primary == Some(true))
        .or_else(|| {
            emails
                .iter()
                .position(|e| e.kind.as_deref() == Some("work"))
        })
        .or(if emails.is_empty() { None } else { Some(0) })
}

/// Trims a value and treats an empty one as absent.
fn present(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl User {
    /// Reads a client's User JSON (create, replace, or the result of a PATCH). Read-only
    /// attributes in it are ignored; `userName` is required.
    pub fn from_json(body: &Value) -> Result<User> {
        let mut v = canonicalize(ResourceKind::User, body, ReadOnly::Ignore)?;
        drop_nulls(&mut v);
        if let Some(map) = v.as_object_mut() {
            map.remove("schemas");
        }
        let mut user: User = typed(v)?;
        user.user_name = user.user_name.trim().to_string();
        if user.user_name.is_empty() {
            return Err(ScimError::InvalidValue("'userName' is required".into()));
        }
        // userName becomes the userPrincipalName: refused here, with a SCIM error, if the
        // directory would refuse it.
        model::normalise_upn(&user.user_name)
            .map_err(|e| ScimError::InvalidValue(format!("'userName': {e}")))?;
        let name = user.name.clone().unwrap_or_default();
        for (field, value) in [
            ("displayName", &user.display_name),
            ("name.formatted", &name.formatted),
            ("name.givenName", &name.given_name),
            ("name.familyName", &name.family_name),
        ] {
            name_length(field, value.as_deref())?;
        }
        if user.emails.len() > MAX_EMAILS {
            return Err(ScimError::InvalidValue(format!(
                "at most {MAX_EMAILS} 'emails' are kept"
            )));
        }
        // The chosen address becomes the directory's `mail`, which must be `local@domain`.
        if let Some(bad) = user
            .emails
            .iter()
            .find(|e| model::normalise_upn(e.value.trim()).is_err())
        {
            return Err(ScimError::InvalidValue(format!(
                "'{}' is not a mail address",
                bad.value
            )));
        }
        // All of them are kept in one attribute, which the directory bounds to 4 KiB.
        let size = serde_json::to_string(&user.emails).map_or(usize::MAX, |s| s.len());
        if size > MAX_EMAILS_BYTES {
            return Err(ScimError::InvalidValue(format!(
                "'emails' take {size} bytes; at most {MAX_EMAILS_BYTES}"
            )));
        }
        let primaries = user.emails.iter().filter(|e| e.primary == Some(true));
        if primaries.count() > 1 {
            return Err(ScimError::InvalidValue(
                "at most one of 'emails' may be primary".into(),
            ));
        }
        Ok(user)
    }

    /// The external id to store: trimmed, and absent when empty.
    pub fn external_id_value(&self) -> Option<String> {
        present(&self.external_id)
    }

    /// The SCIM JSON of the user.
    pub fn to_json(&self) -> Value {
        let mut schemas = vec![USER_SCHEMA];
        if self.enterprise.as_ref().is_some_and(|e| !e.is_empty()) {
            schemas.push(ENTERPRISE_SCHEMA);
        }
        let mut v = with_schemas(self, schemas);
        if self
            .enterprise
            .as_ref()
            .is_some_and(EnterpriseUser::is_empty)
        {
            if let Some(map) = v.as_object_mut() {
                map.remove(ENTERPRISE_SCHEMA);
            }
        }
        v
    }

    /// The SCIM view of a directory user. The external id is the store's to keep (a column
    /// of its own, indexed per connection); `meta` comes from the caller, who knows the base
    /// URL and when the user last changed.
    pub fn from_model(user: &model::User, external_id: Option<String>, meta: Meta) -> User {
        let text = |key: &str| {
            user.attributes
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        // Stored by this crate; anything unreadable was not, and is left out.
        let mut emails: Vec<Email> = user
            .attributes
            .get(keys::EMAILS)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let main = main_email(&emails);
        match (&user.mail, main) {
            // `mail` changed elsewhere (the Graph-style API): it is the main address now.
            (Some(mail), Some(i)) => {
                if let Some(e) = emails.get_mut(i) {
                    e.value = mail.clone();
                }
            }
            (Some(mail), None) => emails.insert(
                0,
                Email {
                    value: mail.clone(),
                    kind: Some("work".into()),
                    primary: Some(true),
                    display: None,
                },
            ),
            // `mail` cleared elsewhere: the main address went with it.
            (None, Some(i)) => {
                emails.remove(i);
            }
            (None, None) => {}
        }
        let name = Name {
            formatted: text(keys::NAME_FORMATTED),
            family_name: user.surname.clone(),
            given_name: user.given_name.clone(),
        };
        let enterprise = EnterpriseUser {
            employee_number: text(keys::EMPLOYEE_NUMBER),
            department: text(keys::DEPARTMENT),
            manager: text(keys::MANAGER).map(|value| Manager { value }),
        };
        User {
            id: Some(user.id.clone()),
            external_id,
            user_name: user.user_principal_name.clone(),
            name: (name != Name::default()).then_some(name),
            display_name: Some(user.display_name.clone()),
            emails,
            active: Some(user.account_enabled),
            enterprise: (!enterprise.is_empty()).then_some(enterprise),
            meta: Some(meta),
        }
    }

    /// A new directory user holding this SCIM user.
    pub fn to_new_model(&self, id: String, created: OffsetDateTime) -> model::User {
        let mut user = model::User {
            id,
            user_principal_name: String::new(),
            display_name: String::new(),
            mail: None,
            given_name: None,
            surname: None,
            account_enabled: true,
            attributes: Map::new(),
            created_date_time: created,
        };
        self.apply_to(&mut user);
        user
    }

    /// Writes this SCIM user over a directory user (a full replace of what SCIM owns); the id,
    /// creation time and attributes SCIM does not own are kept. The external id is not an
    /// attribute: the caller stores [`User::external_id_value`] with the user.
    pub fn apply_to(&self, user: &mut model::User) {
        let name = self.name.clone().unwrap_or_default();
        user.user_principal_name = self.user_name.trim().to_string();
        user.given_name = present(&name.given_name);
        user.surname = present(&name.family_name);
        user.display_name = present(&self.display_name)
            .or_else(|| present(&name.formatted))
            .or_else(|| {
                let parts: Vec<String> = [&user.given_name, &user.surname]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                let joined = parts.join(" ");
                (!parts.is_empty() && joined.chars().count() <= MAX_NAME_CHARS).then_some(joined)
            })
            .unwrap_or_else(|| user.user_principal_name.clone());
        user.account_enabled = self.active.unwrap_or(true);

        // `mail` holds the primary address, else the work one, else the first.
        let main = main_email(&self.emails);
        user.mail = main
            .and_then(|i| self.emails.get(i))
            .map(|e| e.value.trim().to_string());

        let enterprise = self.enterprise.clone().unwrap_or_default();
        let attrs = &mut user.attributes;
        let mut set = |key: &str, value: Option<Value>| match value {
            Some(v) => {
                attrs.insert(key.into(), v);
            }
            None => {
                attrs.remove(key);
            }
        };
        set(
            keys::NAME_FORMATTED,
            present(&name.formatted).map(Value::String),
        );
        set(
            keys::EMAILS,
            (!self.emails.is_empty())
                .then(|| serde_json::to_value(&self.emails).ok())
                .flatten(),
        );
        set(
            keys::EMPLOYEE_NUMBER,
            present(&enterprise.employee_number).map(Value::String),
        );
        set(
            keys::DEPARTMENT,
            present(&enterprise.department).map(Value::String),
        );
        set(
            keys::MANAGER,
            enterprise
                .manager
                .as_ref()
                .map(|m| m.value.trim())
                .filter(|v| !v.is_empty())
                .map(|v| Value::String(v.into())),
        );
    }
}

impl Group {
    /// Reads a client's Group JSON; `displayName` is required.
    pub fn from_json(body: &Value) -> Result<Group> {
        let mut v = canonicalize(ResourceKind::Group, body, ReadOnly::Ignore)?;
        drop_nulls(&mut v);
        if let Some(map) = v.as_object_mut() {
            map.remove("schemas");
        }
        let group: Group = typed(v)?;
        if group.display_name.trim().is_empty() {
            return Err(ScimError::InvalidValue("'displayName' is required".into()));
        }
        name_length("displayName", Some(&group.display_name))?;
        Ok(group)
    }

    /// The SCIM JSON of the group.
    pub fn to_json(&self) -> Value {
        with_schemas(self, vec![GROUP_SCHEMA])
    }

    /// The SCIM view of a directory group. The store keeps the external id and the members
    /// (already filled in with `display`, `$ref` and `type`).
    pub fn from_model(
        group: &model::Group,
        external_id: Option<String>,
        members: Vec<Member>,
        meta: Meta,
    ) -> Group {
        Group {
            id: Some(group.id.clone()),
            external_id,
            display_name: group.display_name.clone(),
            members,
            meta: Some(meta),
        }
    }

    /// A new directory group holding this SCIM group (members are the store's to add).
    pub fn to_new_model(&self, id: String, created: OffsetDateTime) -> model::Group {
        model::Group {
            id,
            display_name: self.display_name.trim().to_string(),
            description: None,
            // Provisioned groups never hold roles: a provisioning client is not an admin.
            is_assignable_to_role: false,
            created_date_time: created,
        }
    }

    /// The member ids, deduplicated, in the order given.
    pub fn member_ids(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        self.members
            .iter()
            .filter(|m| seen.insert(m.value.clone()))
            .map(|m| m.value.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn entra_create_body() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName",
                     "givenName": "givenName"},
            "roles": [],
            ENTERPRISE_SCHEMA: {"employeeNumber": "701984", "department": "R&D",
                                "manager": {"value": "m-1"}}
        })
    }

    #[test]
    fn user_round_trips_through_the_directory_model() {
        let scim = User::from_json(&entra_create_body()).unwrap();
        let created = datetime!(2026-12-07 12:00 UTC);
        let model = scim.to_new_model("u-1".into(), created);
        assert_eq!(
            model.user_principal_name,
            "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com"
        );
        assert_eq!(model.display_name, "givenName familyName");
        assert_eq!(
            model.mail.as_deref(),
            Some("Test_User_fd0ea19b@testuser.com")
        );
        assert!(model.account_enabled);
        assert_eq!(model.attributes["department"], "R&D");
        assert_eq!(model.attributes["employeeNumber"], "701984");
        assert!(
            model.attributes.get("externalId").is_none(),
            "a column, not an attribute"
        );
        let external = scim.external_id_value();
        assert_eq!(
            external.as_deref(),
            Some("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
        );

        let meta = Meta::new(
            ResourceKind::User,
            "https://tp/scim/v2/",
            "u-1",
            created,
            created,
        );
        let back = User::from_model(&model, external, meta).to_json();
        assert_eq!(back["schemas"], json!([USER_SCHEMA, ENTERPRISE_SCHEMA]));
        assert_eq!(back["id"], "u-1");
        assert_eq!(back["userName"], model.user_principal_name);
        assert_eq!(back["name"]["formatted"], "givenName familyName");
        assert_eq!(
            back["emails"][0]["value"],
            "Test_User_fd0ea19b@testuser.com"
        );
        assert_eq!(back[ENTERPRISE_SCHEMA]["manager"]["value"], "m-1");
        assert_eq!(back["meta"]["location"], "https://tp/scim/v2/Users/u-1");
        assert_eq!(back["meta"]["created"], "2026-12-07T12:00:00Z");
        assert_eq!(back["meta"]["resourceType"], "User");
    }

    #[test]
    fn other_emails_are_kept_and_primary_goes_to_mail() {
        let scim = User::from_json(&json!({"userName": "a@x.com", "emails": [
            {"value": "home@x.com", "type": "home"}, {"value": "work@x.com", "type": "work"}]}))
        .unwrap();
        let model = scim.to_new_model("u".into(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(model.mail.as_deref(), Some("work@x.com"));
        assert_eq!(model.display_name, "a@x.com");
        let meta = Meta::new(
            ResourceKind::User,
            "b",
            "u",
            model.created_date_time,
            model.created_date_time,
        );
        let back = User::from_model(&model, None, meta.clone());
        assert_eq!(back.emails, scim.emails, "types and order survive");

        // `mail` changed or cleared outside SCIM wins over the stored list.
        let mut changed = model.clone();
        changed.mail = Some("moved@x.com".into());
        let back = User::from_model(&changed, None, meta.clone());
        assert_eq!(back.emails[1].value, "moved@x.com");
        assert_eq!(back.emails[0].value, "home@x.com");
        changed.mail = None;
        let back = User::from_model(&changed, None, meta.clone());
        assert_eq!(back.emails.len(), 1);
        assert_eq!(back.emails[0].value, "home@x.com");
        let mut fresh = model.clone();
        fresh.attributes.clear();
        let back = User::from_model(&fresh, None, meta);
        assert_eq!(back.emails.len(), 1);
        assert_eq!(back.emails[0].primary, Some(true));
    }

    #[test]
    fn user_name_is_required() {
        let e = User::from_json(&json!({"displayName": "x"})).unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidValue"));
        for bad in [
            json!({"userName": " "}),
            json!({"userName": "no-at-sign"}),
            json!({"userName": "a@x.com", "displayName": "d".repeat(MAX_NAME_CHARS + 1)}),
            json!({"userName": "a@x.com", "name": {"givenName": "g".repeat(MAX_NAME_CHARS + 1)}}),
            json!({"userName": "a@x.com", "emails": [{"value": "not mail"}]}),
            json!({"userName": "a@x.com",
                   "emails": vec![json!({"value": "a@x.com", "type": "t".repeat(1000)}); 4]}),
            json!({"userName": "a@x.com",
                   "emails": vec![json!({"value": "a@x.com"}); MAX_EMAILS + 1]}),
            json!({"userName": "a@x.com", "emails": [{"value": "a@x.com", "primary": true},
                                                    {"value": "b@x.com", "primary": "True"}]}),
        ] {
            let e = User::from_json(&bad).unwrap_err();
            assert_eq!(e.scim_type(), Some("invalidValue"), "{bad}");
        }
    }

    #[test]
    fn display_name_falls_back_within_the_directory_limit() {
        let long = "n".repeat(200);
        let scim = User::from_json(&json!({"userName": "a@x.com",
            "name": {"givenName": long, "familyName": long}}))
        .unwrap();
        let model = scim.to_new_model("u".into(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(model.display_name, "a@x.com");
        let e =
            Group::from_json(&json!({"displayName": "g".repeat(MAX_NAME_CHARS + 1)})).unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidValue"));
    }

    #[test]
    fn group_reads_members_and_maps() {
        let g = Group::from_json(&json!({"schemas": [GROUP_SCHEMA], "externalId": "e",
            "displayName": "Sales", "members": [{"value": "u1", "display": "x"}, {"value": "u1"}]}))
        .unwrap();
        assert_eq!(g.member_ids(), vec!["u1".to_string()]);
        // `display` is the service's to set.
        assert_eq!(g.members[0].display, None);
        let model = g.to_new_model("g1".into(), OffsetDateTime::UNIX_EPOCH);
        assert!(!model.is_assignable_to_role);
        let meta = Meta::new(
            ResourceKind::Group,
            "b",
            "g1",
            model.created_date_time,
            model.created_date_time,
        );
        let v = Group::from_model(&model, Some("e".into()), vec![], meta).to_json();
        assert_eq!(v["schemas"], json!([GROUP_SCHEMA]));
        assert_eq!(v["displayName"], "Sales");
        assert_eq!(v["externalId"], "e");
    }
}
