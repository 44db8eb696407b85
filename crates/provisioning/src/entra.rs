//! What Microsoft Entra's provisioning service sends that a strict reader would refuse
//! (Microsoft's "Known issues and resolutions with SCIM 2.0 protocol compliance"): operation
//! names in any case (`Replace`), booleans as strings (`"False"`). Accepted here, in one place.

use serde_json::Value;

/// A boolean, or a string that spells one in any case (`"True"`, `"false"`).
pub fn coerce_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A PATCH operation name in any case (`add`, `Add`, `REPLACE`).
pub fn parse_op(name: &str) -> Option<crate::patch::OpKind> {
    use crate::patch::OpKind;
    [OpKind::Add, OpKind::Replace, OpKind::Remove]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    //! Entra's documented request sequence replayed against an in-memory directory that uses
    //! the engine the way the server's routes will: read, map to the directory model, store.

    use super::*;
    use crate::error::{Result, ScimError};
    use crate::list::ListQuery;
    use crate::patch::{member_changes, patch_group, patch_user, PatchRequest};
    use crate::resources::{Group, Member, Meta, User};
    use crate::schema::{ResourceKind, ENTERPRISE_SCHEMA};
    use serde_json::json;
    use time::macros::datetime;
    use time::OffsetDateTime;
    use trustplane_model as model;

    const BASE: &str = "https://trustplane.example/scim/v2";
    const T0: OffsetDateTime = datetime!(2026-12-07 09:00 UTC);

    #[derive(Default)]
    struct Directory {
        users: Vec<model::User>,
        groups: Vec<(model::Group, Option<String>, Vec<String>)>,
        external_ids: std::collections::HashMap<String, String>,
        next: u32,
    }

    impl Directory {
        fn id(&mut self) -> String {
            self.next += 1;
            format!("id-{}", self.next)
        }

        fn user_json(&self, u: &model::User) -> Value {
            let meta = Meta::new(ResourceKind::User, BASE, &u.id, u.created_date_time, T0);
            User::from_model(u, self.external_ids.get(&u.id).cloned(), meta).to_json()
        }

        fn group_scim(&self, g: &(model::Group, Option<String>, Vec<String>)) -> Group {
            let members =
                g.2.iter()
                    .map(|m| Member {
                        value: m.clone(),
                        display: self
                            .users
                            .iter()
                            .find(|u| &u.id == m)
                            .map(|u| u.display_name.clone()),
                        reference: Some(format!("{BASE}/Users/{m}")),
                        kind: Some("User".into()),
                    })
                    .collect();
            let meta = Meta::new(
                ResourceKind::Group,
                BASE,
                &g.0.id,
                g.0.created_date_time,
                T0,
            );
            Group::from_model(&g.0, g.1.clone(), members, meta)
        }

        fn post_user(&mut self, body: &Value) -> Result<Value> {
            let scim = User::from_json(body)?;
            let taken = self.users.iter().any(|u| {
                u.user_principal_name
                    .eq_ignore_ascii_case(scim.user_name.trim())
            });
            if taken {
                return Err(ScimError::Uniqueness(format!(
                    "userName {}",
                    scim.user_name
                )));
            }
            let id = self.id();
            let user = scim.to_new_model(id, T0);
            if let Some(e) = scim.external_id_value() {
                self.external_ids.insert(user.id.clone(), e);
            }
            let out = self.user_json(&user);
            self.users.push(user);
            Ok(out)
        }

        fn get_user(&self, id: &str) -> Result<Value> {
            self.users
                .iter()
                .find(|u| u.id == id)
                .map(|u| self.user_json(u))
                .ok_or_else(|| ScimError::NotFound(format!("User {id}")))
        }

        fn list_users(&self, filter: &str) -> Result<Value> {
            let q =
                ListQuery::from_query(ResourceKind::User, Some(filter), None, None, None, None)?;
            let all: Vec<Value> = self.users.iter().map(|u| self.user_json(u)).collect();
            Ok(q.run(&all))
        }

        fn patch_user(&mut self, id: &str, body: &Value) -> Result<Value> {
            let request = PatchRequest::from_json(body)?;
            let current = User::from_json(&self.get_user(id)?)?;
            let patched = patch_user(&current, &request)?;
            let user = self
                .users
                .iter_mut()
                .find(|u| u.id == id)
                .ok_or_else(|| ScimError::NotFound(id.into()))?;
            patched.apply_to(user);
            match patched.external_id_value() {
                Some(e) => self.external_ids.insert(id.to_string(), e),
                None => self.external_ids.remove(id),
            };
            self.get_user(id)
        }

        fn delete_user(&mut self, id: &str) -> Result<()> {
            let before = self.users.len();
            self.users.retain(|u| u.id != id);
            for g in &mut self.groups {
                g.2.retain(|m| m != id);
            }
            if self.users.len() == before {
                return Err(ScimError::NotFound(format!("User {id}")));
            }
            Ok(())
        }

        fn post_group(&mut self, body: &Value) -> Result<Value> {
            let scim = Group::from_json(body)?;
            let id = self.id();
            let group = scim.to_new_model(id, T0);
            let entry = (group, scim.external_id.clone(), scim.member_ids());
            let out = self.group_scim(&entry).to_json();
            self.groups.push(entry);
            Ok(out)
        }

        fn list_groups(&self, filter: &str, excluded: &str) -> Result<Value> {
            let q = ListQuery::from_query(
                ResourceKind::Group,
                Some(filter),
                None,
                None,
                None,
                Some(excluded),
            )?;
            let all: Vec<Value> = self
                .groups
                .iter()
                .map(|g| self.group_scim(g).to_json())
                .collect();
            Ok(q.run(&all))
        }

        fn patch_group(&mut self, id: &str, body: &Value) -> Result<(Vec<String>, Vec<String>)> {
            let request = PatchRequest::from_json(body)?;
            let pos = self
                .groups
                .iter()
                .position(|g| g.0.id == id)
                .ok_or_else(|| ScimError::NotFound(format!("Group {id}")))?;
            let current = self.group_scim(&self.groups[pos]);
            let patched = patch_group(&current, &request)?;
            let (added, removed) = member_changes(&current, &patched);
            if let Some(unknown) = added
                .iter()
                .find(|m| !self.users.iter().any(|u| &u.id == *m))
            {
                return Err(ScimError::InvalidValue(format!("no user {unknown}")));
            }
            let entry = &mut self.groups[pos];
            entry.0.display_name = patched.display_name.clone();
            entry.1 = patched.external_id.clone();
            entry.2 = patched.member_ids();
            Ok((added, removed))
        }
    }

    fn ops(list: Value) -> Value {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list})
    }

    #[test]
    fn entra_user_and_group_lifecycle() {
        let mut dir = Directory::default();

        // Create user, as Entra's tutorial shows it (with a `roles` the service does not keep).
        let created = dir
            .post_user(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
                "active": true,
                "emails": [{"primary": true, "type": "work",
                            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName",
                         "givenName": "givenName"},
                "roles": []
            }))
            .unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(created["meta"]["location"], format!("{BASE}/Users/{id}"));
        assert_eq!(created["active"], true);

        // The same userName again is a conflict.
        let e = dir
            .post_user(
                &json!({"userName": "test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1@TestUser.com"}),
            )
            .unwrap_err();
        assert_eq!((e.status(), e.scim_type()), (409, Some("uniqueness")));

        // Look-ups by filter: userName (case-insensitive), externalId (case-exact), none.
        let found = dir
            .list_users(
                r#"userName eq "test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com""#,
            )
            .unwrap();
        assert_eq!(found["totalResults"], 1);
        assert_eq!(found["Resources"][0]["id"], id.as_str());
        let found = dir
            .list_users(r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#)
            .unwrap();
        assert_eq!(found["totalResults"], 1);
        let none = dir
            .list_users(r#"userName eq "non-existent user""#)
            .unwrap();
        assert_eq!(
            (none["totalResults"].clone(), none["Resources"].clone()),
            (json!(0), json!([]))
        );

        // Update multi-valued and single-valued attributes, capitalised ops.
        let after = dir
            .patch_user(
                &id,
                &ops(json!([
                    {"op": "Replace", "path": "emails[type eq \"work\"].value",
                     "value": "updatedEmail@microsoft.com"},
                    {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
                ])),
            )
            .unwrap();
        assert_eq!(after["emails"][0]["value"], "updatedEmail@microsoft.com");
        assert_eq!(after["name"]["familyName"], "updatedFamilyName");
        let model = dir.users.iter().find(|u| u.id == id).unwrap();
        assert_eq!(model.mail.as_deref(), Some("updatedEmail@microsoft.com"));
        assert_eq!(model.surname.as_deref(), Some("updatedFamilyName"));

        let after = dir
            .patch_user(
                &id,
                &ops(json!([{"op": "Replace", "path": "userName",
                              "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}])),
            )
            .unwrap();
        assert_eq!(
            after["userName"],
            "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        );

        // Enterprise attributes by qualified path, and a path-less add with dotted keys.
        dir.patch_user(
            &id,
            &ops(json!([
                {"op": "Add", "path": format!("{ENTERPRISE_SCHEMA}:department"), "value": "R&D"},
                {"op": "Add", "path": format!("{ENTERPRISE_SCHEMA}:employeeNumber"), "value": "1815"},
                {"op": "Add", "value": {"name.givenName": "Ada", "displayName": "Ada L"}}
            ])),
        )
        .unwrap();
        let model = dir.users.iter().find(|u| u.id == id).unwrap();
        assert_eq!(model.attributes["department"], "R&D");
        assert_eq!(model.attributes["employeeNumber"], "1815");
        assert_eq!(model.given_name.as_deref(), Some("Ada"));
        assert_eq!(model.display_name, "Ada L");

        // Create a group (Entra lists a Microsoft schema URI too) and find it by name.
        let group = dir
            .post_group(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}
            }))
            .unwrap();
        let gid = group["id"].as_str().unwrap().to_string();
        let found = dir
            .list_groups(r#"displayName eq "displayName""#, "members")
            .unwrap();
        assert_eq!(found["totalResults"], 1);
        assert!(found["Resources"][0].get("members").is_none());

        // Add the user as a member (Entra sends "$ref": null), twice: the second is a no-op.
        let add = ops(json!([{"op": "Add", "path": "members",
                               "value": [{"$ref": null, "value": id}]}]));
        assert_eq!(
            dir.patch_group(&gid, &add).unwrap(),
            (vec![id.clone()], vec![])
        );
        assert_eq!(dir.patch_group(&gid, &add).unwrap(), (vec![], vec![]));
        let with = dir
            .list_groups(&format!(r#"members[value eq "{id}"]"#), "")
            .unwrap();
        assert_eq!(with["Resources"][0]["members"][0]["display"], "Ada L");
        let e = dir
            .patch_group(
                &gid,
                &ops(json!([{"op": "Add", "path": "members",
                                             "value": [{"value": "nobody"}]}])),
            )
            .unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidValue"));

        // Rename the group.
        dir.patch_group(
            &gid,
            &ops(json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}])),
        )
        .unwrap();
        assert_eq!(dir.groups[0].0.display_name, "Renamed");

        // Disable: the string boolean of the old behaviour, then the path-less form.
        let off = dir
            .patch_user(
                &id,
                &ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
            )
            .unwrap();
        assert_eq!(off["active"], false);
        assert!(!dir.users[0].account_enabled);
        dir.patch_user(
            &id,
            &ops(json!([{"op": "replace", "value": {"active": "True"}}])),
        )
        .unwrap();
        assert!(dir.users[0].account_enabled);
        dir.patch_user(
            &id,
            &ops(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .unwrap();
        assert!(!dir.users[0].account_enabled);
        let disabled = dir.list_users("active eq false").unwrap();
        assert_eq!(disabled["totalResults"], 1);

        // Remove the member with the value list Entra sends, then by filter (already gone).
        let remove = ops(json!([{"op": "Remove", "path": "members",
                                  "value": [{"$ref": null, "value": id}]}]));
        assert_eq!(
            dir.patch_group(&gid, &remove).unwrap(),
            (vec![], vec![id.clone()])
        );
        let remove = ops(json!([{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}]));
        assert_eq!(dir.patch_group(&gid, &remove).unwrap(), (vec![], vec![]));

        // Delete; a second delete and a read are 404s.
        dir.delete_user(&id).unwrap();
        assert_eq!(dir.delete_user(&id).unwrap_err().status(), 404);
        let e = dir.get_user(&id).unwrap_err();
        assert_eq!(e.to_body()["status"], "404");
    }

    #[test]
    fn path_less_values_with_filtered_keys() {
        let mut dir = Directory::default();
        let u = dir
            .post_user(&json!({"userName": "a@x.com",
                               "emails": [{"type": "work", "value": "a@x.com", "primary": true}]}))
            .unwrap();
        let id = u["id"].as_str().unwrap().to_string();
        let out = dir
            .patch_user(
                &id,
                &ops(json!([{"op": "Replace", "value": {
                    "emails[type eq \"work\"].value": "b@x.com", "name.familyName": "B"}}])),
            )
            .unwrap();
        assert_eq!(out["emails"][0]["value"], "b@x.com");
        assert_eq!(out["name"]["familyName"], "B");
    }

    #[test]
    fn operation_names_and_booleans_in_any_case() {
        use crate::patch::OpKind;
        assert_eq!(parse_op("Replace"), Some(OpKind::Replace));
        assert_eq!(parse_op("ADD"), Some(OpKind::Add));
        assert_eq!(parse_op("remove"), Some(OpKind::Remove));
        assert_eq!(parse_op("move"), None);
        assert_eq!(coerce_bool(&json!("True")), Some(true));
        assert_eq!(coerce_bool(&json!("FALSE")), Some(false));
        assert_eq!(coerce_bool(&json!(false)), Some(false));
        assert_eq!(coerce_bool(&json!("yes")), None);
        assert_eq!(coerce_bool(&json!(1)), None);
    }
}
