//! What a run must do: the directory's chosen part, as the target should hold it, compared
//! with what was pushed before. Pure: no store, no network.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use trustplane_model::User;
use trustplane_store::{DirectorySnapshot, PushedObject};

use super::settings::OutboundSettings;
use super::target::{OutGroup, OutUser};

/// Kinds of pushed objects, as recorded.
pub const USER: &str = "user";
/// A group.
pub const GROUP: &str = "group";
/// A membership (`groupId/userId`).
pub const MEMBER: &str = "member";

/// How deep nested groups are followed when a scope or a group is flattened (Identity
/// Center's groups hold users only).
const MAX_NESTING: usize = 32;

/// What the target should hold.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Users by directory id.
    pub users: BTreeMap<String, OutUser>,
    /// Groups by directory id.
    pub groups: BTreeMap<String, OutGroup>,
    /// Memberships as (group id, user id).
    pub members: BTreeSet<(String, String)>,
}

/// One change to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A user to create (or adopt, if the target already has them).
    CreateUser(OutUser),
    /// A user whose attributes changed; `deactivates` when `active` turns false.
    UpdateUser {
        /// The target's id.
        target_id: String,
        /// What to send.
        user: OutUser,
        /// Whether this turns an active user inactive.
        deactivates: bool,
    },
    /// A user to delete (left the scope, deleted, or disabled where `active` is not kept).
    DeleteUser {
        /// The directory's id.
        object_id: String,
        /// The target's id.
        target_id: String,
    },
    /// A group to create (or adopt).
    CreateGroup(OutGroup),
    /// A group renamed.
    UpdateGroup {
        /// The target's id.
        target_id: String,
        /// What to send.
        group: OutGroup,
    },
    /// A group to delete.
    DeleteGroup {
        /// The directory's id.
        object_id: String,
        /// The target's id.
        target_id: String,
    },
    /// A membership to add.
    AddMember {
        /// The group's directory id.
        group: String,
        /// The user's directory id.
        user: String,
    },
    /// A membership to end.
    RemoveMember {
        /// `groupId/userId`.
        object_id: String,
        /// The membership's target id.
        target_id: String,
    },
}

/// The changes of one run, in the order they are applied.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Groups first, then users, then memberships added, then removals.
    pub changes: Vec<Change>,
    /// Users the connection holds in the target now.
    pub pushed_users: usize,
}

impl Plan {
    /// Users this plan deactivates or deletes.
    pub fn destructive(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Change::DeleteUser { .. }
                        | Change::UpdateUser {
                            deactivates: true,
                            ..
                        }
                )
            })
            .count()
    }

    /// Whether the plan goes past the share of users that needs confirmation.
    pub fn needs_confirmation(&self, threshold_percent: u32) -> bool {
        let destructive = self.destructive();
        destructive > 0
            && (destructive as u128) * 100
                > (threshold_percent as u128) * (self.pushed_users.max(1) as u128)
    }
}

/// The fingerprint of what was sent: its JSON (small, and readable when debugging).
pub fn fingerprint<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A membership's record key.
pub fn member_key(group: &str, user: &str) -> String {
    format!("{group}/{user}")
}

/// The user as it is sent: Identity Center requires a given and a family name, so missing
/// ones come from the display name.
pub fn out_user(u: &User) -> OutUser {
    let mut words = u.display_name.split_whitespace();
    let first = words.next().unwrap_or("-").to_string();
    let rest = words.collect::<Vec<_>>().join(" ");
    let pick = |v: &Option<String>, fallback: String| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or(fallback)
    };
    OutUser {
        external_id: u.id.clone(),
        user_name: u.user_principal_name.clone(),
        given_name: pick(&u.given_name, first),
        family_name: pick(&u.surname, if rest.is_empty() { "-".into() } else { rest }),
        display_name: u.display_name.clone(),
        email: u.mail.clone().filter(|m| !m.is_empty()),
        active: u.account_enabled,
    }
}

/// The user members of a group, nested groups followed (each once, to a bounded depth).
fn users_under(
    group: &str,
    children: &HashMap<&str, Vec<(&str, &str)>>,
    out: &mut HashSet<String>,
) {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut level: Vec<&str> = vec![group];
    for _ in 0..MAX_NESTING {
        let mut next = Vec::new();
        for g in level {
            if !seen.insert(g) {
                continue;
            }
            for (id, kind) in children.get(g).map(Vec::as_slice).unwrap_or(&[]) {
                match *kind {
                    "group" => next.push(*id),
                    _ => {
                        out.insert((*id).to_string());
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
}

/// The directory's chosen part as the target should hold it. `keeps_active`: whether the
/// target keeps `active`; if not, a disabled user is left out (and so deleted there).
pub fn desired(
    snapshot: &DirectorySnapshot,
    settings: &OutboundSettings,
    keeps_active: bool,
) -> Desired {
    let mut children: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for m in &snapshot.members {
        children
            .entry(m.group_id.as_str())
            .or_default()
            .push((m.member_id.as_str(), m.member_type.as_str()));
    }
    let everyone = settings.scope_groups.is_empty();
    let mut in_scope: HashSet<String> = HashSet::new();
    for g in &settings.scope_groups {
        users_under(&g.id, &children, &mut in_scope);
    }
    let mut d = Desired::default();
    for u in &snapshot.users {
        if (everyone || in_scope.contains(&u.id)) && (u.account_enabled || keeps_active) {
            d.users.insert(u.id.clone(), out_user(u));
        }
    }
    let scope_ids: HashSet<&str> = settings
        .scope_groups
        .iter()
        .map(|g| g.id.as_str())
        .collect();
    for g in &snapshot.groups {
        if everyone || scope_ids.contains(g.id.as_str()) {
            d.groups.insert(
                g.id.clone(),
                OutGroup {
                    external_id: g.id.clone(),
                    display_name: g.display_name.clone(),
                },
            );
        }
    }
    for g in d.groups.keys() {
        let mut users = HashSet::new();
        users_under(g, &children, &mut users);
        for u in users {
            // A disabled user keeps no group (where the target keeps them at all).
            if d.users.get(&u).is_some_and(|o| o.active) {
                d.members.insert((g.clone(), u));
            }
        }
    }
    d
}

/// The changes that bring what was pushed to what is desired.
pub fn plan(desired: &Desired, pushed: &[PushedObject]) -> Plan {
    let by_kind = |kind: &str| -> HashMap<&str, &PushedObject> {
        pushed
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| (p.object_id.as_str(), p))
            .collect()
    };
    let (users, groups, members) = (by_kind(USER), by_kind(GROUP), by_kind(MEMBER));
    let mut p = Plan {
        pushed_users: users.len(),
        ..Default::default()
    };
    for (id, g) in &desired.groups {
        match groups.get(id.as_str()) {
            None => p.changes.push(Change::CreateGroup(g.clone())),
            Some(rec) if rec.fingerprint != fingerprint(g) => p.changes.push(Change::UpdateGroup {
                target_id: rec.target_id.clone(),
                group: g.clone(),
            }),
            Some(_) => {}
        }
    }
    for (id, u) in &desired.users {
        match users.get(id.as_str()) {
            // Someone disabled before they were ever pushed is not created.
            None if u.active => p.changes.push(Change::CreateUser(u.clone())),
            None => {}
            Some(rec) if rec.fingerprint != fingerprint(u) => {
                let was_active = serde_json::from_str::<OutUser>(&rec.fingerprint)
                    .map(|o| o.active)
                    .unwrap_or(true);
                p.changes.push(Change::UpdateUser {
                    target_id: rec.target_id.clone(),
                    user: u.clone(),
                    deactivates: was_active && !u.active,
                })
            }
            Some(_) => {}
        }
    }
    let wanted: HashSet<String> = desired
        .members
        .iter()
        .map(|(g, u)| member_key(g, u))
        .collect();
    for (g, u) in &desired.members {
        if !members.contains_key(member_key(g, u).as_str()) {
            p.changes.push(Change::AddMember {
                group: g.clone(),
                user: u.clone(),
            });
        }
    }
    let mut removals: Vec<&&PushedObject> = members
        .values()
        .filter(|m| !wanted.contains(&m.object_id))
        .collect();
    removals.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    for m in removals {
        p.changes.push(Change::RemoveMember {
            object_id: m.object_id.clone(),
            target_id: m.target_id.clone(),
        });
    }
    let mut gone_users: Vec<&&PushedObject> = users
        .values()
        .filter(|r| !desired.users.contains_key(&r.object_id))
        .collect();
    gone_users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    for r in gone_users {
        p.changes.push(Change::DeleteUser {
            object_id: r.object_id.clone(),
            target_id: r.target_id.clone(),
        });
    }
    let mut gone_groups: Vec<&&PushedObject> = groups
        .values()
        .filter(|r| !desired.groups.contains_key(&r.object_id))
        .collect();
    gone_groups.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    for r in gone_groups {
        p.changes.push(Change::DeleteGroup {
            object_id: r.object_id.clone(),
            target_id: r.target_id.clone(),
        });
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustplane_store::Membership;

    fn user(id: &str, enabled: bool) -> User {
        User {
            id: id.into(),
            user_principal_name: format!("{id}@example.com"),
            display_name: format!("Person {id}"),
            mail: None,
            given_name: None,
            surname: None,
            account_enabled: enabled,
            attributes: Default::default(),
            created_date_time: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn group(id: &str) -> trustplane_model::Group {
        trustplane_model::Group {
            id: id.into(),
            display_name: format!("Group {id}"),
            description: None,
            is_assignable_to_role: false,
            created_date_time: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn member(g: &str, m: &str, kind: &str) -> Membership {
        Membership {
            group_id: g.into(),
            member_id: m.into(),
            member_type: kind.into(),
        }
    }

    fn snapshot() -> DirectorySnapshot {
        DirectorySnapshot {
            users: vec![
                user("a", true),
                user("b", true),
                user("c", false),
                user("d", true),
            ],
            groups: vec![group("eng"), group("ops"), group("all")],
            members: vec![
                member("eng", "a", "user"),
                member("eng", "c", "user"),
                member("ops", "b", "user"),
                member("all", "eng", "group"),
                member("all", "ops", "group"),
            ],
        }
    }

    #[test]
    fn a_scope_group_brings_its_nested_members_and_only_itself() {
        let settings = OutboundSettings {
            scope_groups: vec![super::super::settings::ScopeGroup {
                id: "all".into(),
                display_name: "all".into(),
            }],
            delete_threshold_percent: 10,
            ..Default::default()
        };
        let d = desired(&snapshot(), &settings, false);
        assert_eq!(d.users.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(d.groups.keys().collect::<Vec<_>>(), ["all"]);
        assert!(d.members.contains(&("all".into(), "a".into())));
        // A target that keeps `active` gets the disabled member, inactive.
        let d = desired(&snapshot(), &settings, true);
        assert!(!d.users["c"].active);
        // Everyone: every group, every enabled user.
        let d = desired(&snapshot(), &OutboundSettings::default(), false);
        assert_eq!(d.users.len(), 3);
        assert_eq!(d.groups.len(), 3);
    }

    #[test]
    fn a_plan_pushes_only_what_changed_and_counts_what_it_removes() {
        let d = desired(&snapshot(), &OutboundSettings::default(), true);
        let first = plan(&d, &[]);
        assert_eq!(first.destructive(), 0);
        let pushed: Vec<PushedObject> = d
            .users
            .values()
            .map(|u| PushedObject {
                kind: USER.into(),
                object_id: u.external_id.clone(),
                target_id: format!("t-{}", u.external_id),
                fingerprint: fingerprint(u),
            })
            .collect();
        let mut changed = d.clone();
        assert!(plan(&changed, &pushed)
            .changes
            .iter()
            .all(|c| !matches!(c, Change::CreateUser(_) | Change::UpdateUser { .. })));
        if let Some(u) = changed.users.get_mut("a") {
            u.active = false;
        }
        changed.users.remove("b");
        let p = plan(&changed, &pushed);
        assert_eq!(p.destructive(), 2);
        assert_eq!(p.pushed_users, 4);
        assert!(p.needs_confirmation(10));
        assert!(!p.needs_confirmation(50));
    }

    #[test]
    fn missing_names_are_filled_for_identity_center() {
        let u = out_user(&user("x", true));
        assert_eq!(
            (u.given_name.as_str(), u.family_name.as_str()),
            ("Person", "x")
        );
    }
}
