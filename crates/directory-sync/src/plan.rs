//! The changes a sync makes, planned from a read and what the directory holds for the
//! connection, under the safety rules.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::read::DirectoryRead;
use crate::{normalize_dn, ObjectIssue, SourceGroup, SourceUser};

/// Default largest share of a connection's users one run may disable or delete unconfirmed.
pub const DEFAULT_MAX_REMOVAL_PERCENT: u32 = 10;

/// What the directory holds now for one connection, and which names others hold.
#[derive(Debug, Clone, Default)]
pub struct CurrentState {
    /// The connection's users, as last imported.
    pub users: Vec<SourceUser>,
    /// The connection's groups, as last imported.
    pub groups: Vec<SourceGroup>,
    /// Members of the connection's groups, by group anchor.
    pub memberships: BTreeMap<String, BTreeSet<Member>>,
    /// UPNs (lower case) held by users that are not this connection's.
    pub upn_holders: HashMap<String, Holder>,
    /// Group names (lower case) held by groups that are not this connection's.
    pub group_name_holders: HashMap<String, Holder>,
}

impl CurrentState {
    /// Applies a plan in memory: what the store does in its transaction, for the objects'
    /// source records and memberships only.
    pub fn apply(&mut self, plan: &Plan) {
        let gone_users: HashSet<&str> = plan
            .delete_users
            .iter()
            .map(|r| r.anchor.as_str())
            .collect();
        let gone_groups: HashSet<&str> = plan
            .delete_groups
            .iter()
            .map(|r| r.anchor.as_str())
            .collect();
        self.users
            .retain(|u| !gone_users.contains(u.anchor.as_str()));
        self.groups
            .retain(|g| !gone_groups.contains(g.anchor.as_str()));
        self.memberships
            .retain(|g, _| !gone_groups.contains(g.as_str()));
        for members in self.memberships.values_mut() {
            members.retain(|m| match m {
                Member::User(a) => !gone_users.contains(a.as_str()),
                Member::Group(a) => !gone_groups.contains(a.as_str()),
            });
        }
        let changed = plan
            .create_users
            .iter()
            .chain(plan.update_users.iter().map(|u| &u.user))
            .chain(plan.disable_users.iter().map(|u| &u.user));
        for user in changed {
            match self.users.iter_mut().find(|u| u.anchor == user.anchor) {
                Some(existing) => *existing = user.clone(),
                None => self.users.push(user.clone()),
            }
        }
        let changed = plan
            .create_groups
            .iter()
            .chain(plan.update_groups.iter().map(|g| &g.group));
        for group in changed {
            match self.groups.iter_mut().find(|g| g.anchor == group.anchor) {
                Some(existing) => *existing = group.clone(),
                None => self.groups.push(group.clone()),
            }
        }
        for m in &plan.remove_members {
            if let Some(members) = self.memberships.get_mut(&m.group) {
                members.remove(&m.member);
            }
        }
        for m in &plan.add_members {
            self.memberships
                .entry(m.group.clone())
                .or_default()
                .insert(m.member.clone());
        }
    }
}

/// Who already holds a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Holder {
    /// An object created in Trustplane.
    Local {
        /// Its object id.
        id: String,
    },
    /// An object imported by another connection.
    OtherSource {
        /// That connection's id.
        connection_id: String,
        /// The object's id.
        id: String,
    },
    /// Another object of this same connection.
    SameSource {
        /// Its anchor.
        anchor: String,
    },
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "anchor")]
pub enum Member {
    /// A user, by anchor.
    User(String),
    /// A nested group, by anchor.
    Group(String),
}

/// One membership change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// The group's anchor.
    pub group: String,
    /// The member.
    pub member: Member,
}

/// An updated user and the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserUpdate {
    /// The new record.
    pub user: SourceUser,
    /// The fields that changed.
    pub changed: Vec<&'static str>,
}

/// An updated group and the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdate {
    /// The new record.
    pub group: SourceGroup,
    /// The fields that changed.
    pub changed: Vec<&'static str>,
}

/// An object no longer in the directory's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    /// Its anchor.
    pub anchor: String,
    /// Its last known DN.
    pub dn: String,
    /// Its UPN or group name.
    pub name: String,
}

/// An object that was not imported because its name is already held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The source object's anchor.
    pub anchor: String,
    /// Its DN.
    pub dn: String,
    /// `user` or `group`.
    pub object_type: &'static str,
    /// The contested UPN or group name.
    pub value: String,
    /// Who holds it.
    pub held_by: Holder,
}

/// The changes of one run. Applying it is one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Whether the read was a full reconciliation.
    pub full: bool,
    /// Users to create.
    pub create_users: Vec<SourceUser>,
    /// Users whose source attributes changed (re-enabling included).
    pub update_users: Vec<UserUpdate>,
    /// Users the directory disabled (their other changes included).
    pub disable_users: Vec<UserUpdate>,
    /// Users no longer in scope.
    pub delete_users: Vec<Removed>,
    /// Groups to create.
    pub create_groups: Vec<SourceGroup>,
    /// Groups whose attributes changed.
    pub update_groups: Vec<GroupUpdate>,
    /// Groups no longer in scope.
    pub delete_groups: Vec<Removed>,
    /// Memberships to add (users and nested groups).
    pub add_members: Vec<Membership>,
    /// Memberships to remove.
    pub remove_members: Vec<Membership>,
    /// Each created or updated user's manager, by anchor (`None`: no manager in scope).
    pub managers: BTreeMap<String, Option<String>>,
    /// Objects not imported because their name is held.
    pub conflicts: Vec<Conflict>,
    /// Entries skipped, and members that could not be resolved.
    pub issues: Vec<ObjectIssue>,
    /// The high-water mark to record once the plan is applied.
    pub high_water_usn: Option<u64>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.create_users.is_empty()
            && self.update_users.is_empty()
            && self.disable_users.is_empty()
            && self.delete_users.is_empty()
            && self.create_groups.is_empty()
            && self.update_groups.is_empty()
            && self.delete_groups.is_empty()
            && self.add_members.is_empty()
            && self.remove_members.is_empty()
    }
}

/// The safety rules' knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyPolicy {
    /// Largest share (percent) of the connection's users one run disables or deletes unconfirmed.
    pub max_removal_percent: u32,
    /// An administrator confirmed this run's removals.
    pub confirmed: bool,
}

impl Default for SafetyPolicy {
    fn default() -> Self {
        SafetyPolicy {
            max_removal_percent: DEFAULT_MAX_REMOVAL_PERCENT,
            confirmed: false,
        }
    }
}

/// Why a plan was not made. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum PlanRefused {
    /// A full read found no user while the connection has some.
    #[error("the directory returned no users while {existing} are imported; refusing to delete them all")]
    EmptyRead {
        /// Users the connection holds.
        existing: usize,
    },
    /// Too many removals for an unconfirmed run.
    #[error("the run would disable {disable} and delete {delete} of {total} users, more than {percent} %; confirm to apply")]
    NeedsConfirmation {
        /// Users to disable.
        disable: usize,
        /// Users to delete.
        delete: usize,
        /// Users the connection holds.
        total: usize,
        /// The limit.
        percent: u32,
    },
}

/// Plans the changes that bring the connection's objects in line with a read.
pub fn plan(
    current: &CurrentState,
    read: &DirectoryRead,
    policy: SafetyPolicy,
) -> Result<Plan, PlanRefused> {
    if read.full && read.users.is_empty() && !current.users.is_empty() {
        return Err(PlanRefused::EmptyRead {
            existing: current.users.len(),
        });
    }
    let mut plan = Plan {
        full: read.full,
        issues: read.issues.clone(),
        high_water_usn: read.high_water_usn,
        ..Plan::default()
    };
    let cur_users: HashMap<&str, &SourceUser> = current
        .users
        .iter()
        .map(|u| (u.anchor.as_str(), u))
        .collect();
    let cur_groups: HashMap<&str, &SourceGroup> = current
        .groups
        .iter()
        .map(|g| (g.anchor.as_str(), g))
        .collect();

    // Users: names held outside the connection, or twice inside the read, are conflicts.
    // Entries read but skipped (no UPN, a value too long) are still there: never removed.
    let skipped: HashSet<&str> = read
        .issues
        .iter()
        .filter_map(|i| i.anchor.as_deref())
        .collect();
    let read_user_anchors: HashSet<&str> = read
        .users
        .iter()
        .map(|u| u.anchor.as_str())
        .chain(skipped.iter().copied())
        .collect();
    let mut taken: HashMap<String, Holder> = HashMap::new();
    if !read.full {
        // Users not read this time keep their names.
        for u in &current.users {
            if !read_user_anchors.contains(u.anchor.as_str()) {
                taken.insert(
                    u.user_principal_name.to_lowercase(),
                    Holder::SameSource {
                        anchor: u.anchor.clone(),
                    },
                );
            }
        }
    }
    let accepted_users = accept(
        read.users.iter().map(|u| {
            (
                u,
                u.anchor.as_str(),
                u.dn.as_str(),
                u.user_principal_name.as_str(),
            )
        }),
        &current.upn_holders,
        &taken,
        "user",
        &mut plan.conflicts,
    );
    let read_group_anchors: HashSet<&str> = read
        .groups
        .iter()
        .map(|g| g.anchor.as_str())
        .chain(skipped.iter().copied())
        .collect();
    let mut taken_groups: HashMap<String, Holder> = HashMap::new();
    if !read.full {
        for g in &current.groups {
            if !read_group_anchors.contains(g.anchor.as_str()) {
                taken_groups.insert(
                    g.display_name.to_lowercase(),
                    Holder::SameSource {
                        anchor: g.anchor.clone(),
                    },
                );
            }
        }
    }
    let accepted_groups = accept(
        read.groups
            .iter()
            .map(|g| (g, g.anchor.as_str(), g.dn.as_str(), g.display_name.as_str())),
        &current.group_name_holders,
        &taken_groups,
        "group",
        &mut plan.conflicts,
    );

    // DNs to anchors: what is read, and what stays without being read.
    let mut user_dns: HashMap<String, String> = HashMap::new();
    let mut group_dns: HashMap<String, String> = HashMap::new();
    for u in &current.users {
        if !read.full || read_user_anchors.contains(u.anchor.as_str()) {
            user_dns.insert(normalize_dn(&u.dn), u.anchor.clone());
        }
    }
    for g in &current.groups {
        if !read.full || read_group_anchors.contains(g.anchor.as_str()) {
            group_dns.insert(normalize_dn(&g.dn), g.anchor.clone());
        }
    }
    for u in &accepted_users {
        user_dns.insert(normalize_dn(&u.dn), u.anchor.clone());
    }
    for g in &accepted_groups {
        group_dns.insert(normalize_dn(&g.dn), g.anchor.clone());
    }
    let known_user = |anchor: &str| {
        cur_users.contains_key(anchor) || accepted_users.iter().any(|u| u.anchor == anchor)
    };

    for user in &accepted_users {
        let manager = user
            .manager_dn
            .as_deref()
            .and_then(|dn| user_dns.get(&normalize_dn(dn)).cloned());
        match cur_users.get(user.anchor.as_str()) {
            None => {
                plan.managers.insert(user.anchor.clone(), manager);
                plan.create_users.push((*user).clone());
            }
            Some(before) => {
                let changed = user_changes(before, user);
                if changed.is_empty() {
                    continue;
                }
                plan.managers.insert(user.anchor.clone(), manager);
                let update = UserUpdate {
                    user: (*user).clone(),
                    changed,
                };
                if before.enabled && !user.enabled {
                    plan.disable_users.push(update);
                } else {
                    plan.update_users.push(update);
                }
            }
        }
    }
    if read.full {
        for u in &current.users {
            if !read_user_anchors.contains(u.anchor.as_str()) {
                plan.delete_users.push(Removed {
                    anchor: u.anchor.clone(),
                    dn: u.dn.clone(),
                    name: u.user_principal_name.clone(),
                });
            }
        }
    }
    let deleted_users: HashSet<&str> = plan
        .delete_users
        .iter()
        .map(|r| r.anchor.as_str())
        .collect();

    for group in &accepted_groups {
        match cur_groups.get(group.anchor.as_str()) {
            None => plan.create_groups.push((*group).clone()),
            Some(before) => {
                let mut changed = Vec::new();
                if before.display_name != group.display_name {
                    changed.push("displayName");
                }
                if before.description != group.description {
                    changed.push("description");
                }
                if before.dn != group.dn {
                    changed.push("dn");
                }
                if !changed.is_empty() {
                    plan.update_groups.push(GroupUpdate {
                        group: (*group).clone(),
                        changed,
                    });
                }
            }
        }
        let mut desired = BTreeSet::new();
        for dn in &group.member_dns {
            let key = normalize_dn(dn);
            if let Some(anchor) = user_dns.get(&key) {
                if known_user(anchor) {
                    desired.insert(Member::User(anchor.clone()));
                }
            } else if let Some(anchor) = group_dns.get(&key) {
                if *anchor != group.anchor {
                    desired.insert(Member::Group(anchor.clone()));
                }
            } else {
                plan.issues.push(ObjectIssue::new(
                    &group.dn,
                    Some(&group.anchor),
                    format!("member {dn} is not an imported user or group; skipped"),
                ));
            }
        }
        let empty = BTreeSet::new();
        let now = current.memberships.get(&group.anchor).unwrap_or(&empty);
        for m in desired.difference(now) {
            plan.add_members.push(Membership {
                group: group.anchor.clone(),
                member: m.clone(),
            });
        }
        for m in now.difference(&desired) {
            if let Member::User(a) = m {
                if deleted_users.contains(a.as_str()) {
                    continue; // goes with the user
                }
            }
            plan.remove_members.push(Membership {
                group: group.anchor.clone(),
                member: m.clone(),
            });
        }
    }
    if read.full {
        for g in &current.groups {
            if !read_group_anchors.contains(g.anchor.as_str()) {
                plan.delete_groups.push(Removed {
                    anchor: g.anchor.clone(),
                    dn: g.dn.clone(),
                    name: g.display_name.clone(),
                });
            }
        }
    }

    let total = current.users.len();
    let removals = plan.disable_users.len() + plan.delete_users.len();
    if !policy.confirmed
        && total > 0
        && removals as u128 * 100 > total as u128 * u128::from(policy.max_removal_percent)
    {
        return Err(PlanRefused::NeedsConfirmation {
            disable: plan.disable_users.len(),
            delete: plan.delete_users.len(),
            total,
            percent: policy.max_removal_percent,
        });
    }
    Ok(plan)
}

/// Keeps the objects whose name is free; reports the others as conflicts.
fn accept<'r, T: 'r>(
    objects: impl Iterator<Item = (&'r T, &'r str, &'r str, &'r str)> + Clone,
    outside: &HashMap<String, Holder>,
    taken: &HashMap<String, Holder>,
    object_type: &'static str,
    conflicts: &mut Vec<Conflict>,
) -> Vec<&'r T> {
    let mut first_by_name: HashMap<String, &str> = HashMap::new();
    let mut duplicated: HashSet<String> = HashSet::new();
    for (_, anchor, _, name) in objects.clone() {
        let key = name.to_lowercase();
        if first_by_name.insert(key.clone(), anchor).is_some() {
            duplicated.insert(key);
        }
    }
    let mut accepted = Vec::new();
    for (object, anchor, dn, name) in objects {
        let key = name.to_lowercase();
        let held_by = if let Some(h) = outside.get(&key) {
            Some(h.clone())
        } else if let Some(h) = taken.get(&key) {
            Some(h.clone())
        } else if duplicated.contains(&key) {
            // Every holder of a name read twice is reported, none imported.
            let other = first_by_name
                .get(&key)
                .filter(|a| **a != anchor)
                .map(|a| a.to_string())
                .unwrap_or_else(|| "another entry of this read".to_string());
            Some(Holder::SameSource { anchor: other })
        } else {
            None
        };
        match held_by {
            Some(held_by) => conflicts.push(Conflict {
                anchor: anchor.to_string(),
                dn: dn.to_string(),
                object_type,
                value: name.to_string(),
                held_by,
            }),
            None => accepted.push(object),
        }
    }
    accepted
}

fn user_changes(a: &SourceUser, b: &SourceUser) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |differs: bool, name: &'static str| {
        if differs {
            changed.push(name);
        }
    };
    check(
        a.user_principal_name != b.user_principal_name,
        "userPrincipalName",
    );
    check(a.display_name != b.display_name, "displayName");
    check(a.given_name != b.given_name, "givenName");
    check(a.surname != b.surname, "surname");
    check(a.mail != b.mail, "mail");
    check(a.department != b.department, "department");
    check(a.sam_account_name != b.sam_account_name, "sAMAccountName");
    check(a.manager_dn != b.manager_dn, "manager");
    check(a.enabled != b.enabled, "accountEnabled");
    check(a.dn != b.dn, "dn");
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u32) -> SourceUser {
        SourceUser {
            anchor: format!("u{n}"),
            dn: format!("CN=User {n},OU=People,DC=corp,DC=test"),
            user_principal_name: format!("user{n}@corp.test"),
            display_name: format!("User {n}"),
            given_name: None,
            surname: None,
            mail: None,
            department: None,
            sam_account_name: Some(format!("user{n}")),
            manager_dn: None,
            enabled: true,
        }
    }

    fn group(n: u32, members: &[String]) -> SourceGroup {
        SourceGroup {
            anchor: format!("g{n}"),
            dn: format!("CN=Group {n},OU=Groups,DC=corp,DC=test"),
            display_name: format!("Group {n}"),
            description: None,
            member_dns: members.to_vec(),
        }
    }

    fn read(full: bool, users: Vec<SourceUser>, groups: Vec<SourceGroup>) -> DirectoryRead {
        DirectoryRead {
            full,
            users,
            groups,
            high_water_usn: Some(42),
            issues: vec![],
        }
    }

    fn state(users: Vec<SourceUser>) -> CurrentState {
        CurrentState {
            users,
            ..CurrentState::default()
        }
    }

    #[test]
    fn first_import_creates_users_groups_and_nested_memberships() {
        let u1 = user(1);
        let inner = group(2, std::slice::from_ref(&u1.dn));
        let outer = group(
            1,
            &[inner.dn.to_uppercase(), "CN=Nobody,DC=elsewhere".into()],
        );
        let r = read(true, vec![u1.clone()], vec![outer, inner]);
        let p = plan(&CurrentState::default(), &r, SafetyPolicy::default()).expect("plan");
        assert_eq!(p.create_users, vec![u1]);
        assert_eq!(p.create_groups.len(), 2);
        assert!(p.add_members.contains(&Membership {
            group: "g1".into(),
            member: Member::Group("g2".into())
        }));
        assert!(p.add_members.contains(&Membership {
            group: "g2".into(),
            member: Member::User("u1".into())
        }));
        assert_eq!(p.issues.len(), 1, "the out-of-scope member is reported");
        assert_eq!(p.high_water_usn, Some(42));
    }

    #[test]
    fn an_empty_full_read_never_deletes_everyone() {
        let cur = state(vec![user(1)]);
        let err = plan(
            &cur,
            &read(true, vec![], vec![]),
            SafetyPolicy {
                confirmed: true,
                ..SafetyPolicy::default()
            },
        )
        .expect_err("refused");
        assert_eq!(err, PlanRefused::EmptyRead { existing: 1 });
    }

    #[test]
    fn removals_above_the_share_wait_for_confirmation() {
        let users: Vec<_> = (0..20).map(user).collect();
        let cur = state(users.clone());
        // 2 of 20 removed = 10 %: allowed.
        let mut kept = users[2..].to_vec();
        let p = plan(
            &cur,
            &read(true, kept.clone(), vec![]),
            SafetyPolicy::default(),
        )
        .expect("10 % is allowed");
        assert_eq!(p.delete_users.len(), 2);
        // A third, disabled: 15 %.
        kept[0].enabled = false;
        let err = plan(
            &cur,
            &read(true, kept.clone(), vec![]),
            SafetyPolicy::default(),
        )
        .expect_err("over the share");
        assert_eq!(
            err,
            PlanRefused::NeedsConfirmation {
                disable: 1,
                delete: 2,
                total: 20,
                percent: 10
            }
        );
        let p = plan(
            &cur,
            &read(true, kept, vec![]),
            SafetyPolicy {
                confirmed: true,
                ..SafetyPolicy::default()
            },
        )
        .expect("confirmed");
        assert_eq!(p.disable_users.len(), 1);
    }

    #[test]
    fn conflicts_are_reported_per_object_and_never_merged() {
        let mut cur = CurrentState::default();
        cur.upn_holders.insert(
            "user1@corp.test".into(),
            Holder::Local {
                id: "local-1".into(),
            },
        );
        cur.upn_holders.insert(
            "user2@corp.test".into(),
            Holder::OtherSource {
                connection_id: "c2".into(),
                id: "x".into(),
            },
        );
        let mut dup = user(4);
        dup.user_principal_name = "USER3@corp.test".into();
        let r = read(true, vec![user(1), user(2), user(3), dup, user(5)], vec![]);
        let p = plan(&cur, &r, SafetyPolicy::default()).expect("plan");
        assert_eq!(p.create_users.len(), 1);
        assert_eq!(p.create_users[0].anchor, "u5");
        assert_eq!(p.conflicts.len(), 4);
        assert_eq!(
            p.conflicts[0].held_by,
            Holder::Local {
                id: "local-1".into()
            }
        );
        assert!(matches!(p.conflicts[1].held_by, Holder::OtherSource { .. }));
    }

    #[test]
    fn incremental_read_deletes_nothing_and_updates_only_the_change() {
        let users: Vec<_> = (0..3).map(user).collect();
        let cur = state(users.clone());
        let mut changed = users[1].clone();
        changed.department = Some("R&D".into());
        let p = plan(
            &cur,
            &read(false, vec![changed], vec![]),
            SafetyPolicy::default(),
        )
        .expect("plan");
        assert!(p.delete_users.is_empty());
        assert_eq!(p.update_users.len(), 1);
        assert_eq!(p.update_users[0].changed, vec!["department"]);
        // A changed user taking the UPN of one not read this time is a conflict.
        let mut clash = users[1].clone();
        clash.user_principal_name = users[2].user_principal_name.to_uppercase();
        let p = plan(
            &cur,
            &read(false, vec![clash], vec![]),
            SafetyPolicy::default(),
        )
        .expect("plan");
        assert!(p.update_users.is_empty());
        assert_eq!(
            p.conflicts[0].held_by,
            Holder::SameSource {
                anchor: "u2".into()
            }
        );
    }

    #[test]
    fn an_entry_skipped_by_the_read_is_not_deleted() {
        let cur = state((0..20).map(user).collect());
        let mut r = read(true, (1..20).map(user).collect(), vec![]);
        r.issues.push(ObjectIssue::new(
            &user(0).dn,
            Some("u0"),
            "no userPrincipalName",
        ));
        let p = plan(&cur, &r, SafetyPolicy::default()).expect("plan");
        assert!(p.delete_users.is_empty(), "{:?}", p.delete_users);
    }

    #[test]
    fn unchanged_read_plans_nothing() {
        let u = user(1);
        let g = group(1, std::slice::from_ref(&u.dn));
        let mut cur = state(vec![u.clone()]);
        cur.groups = vec![g.clone()];
        cur.memberships
            .insert("g1".into(), BTreeSet::from([Member::User("u1".into())]));
        let p = plan(&cur, &read(true, vec![u], vec![g]), SafetyPolicy::default()).expect("plan");
        assert!(p.is_empty(), "{p:?}");
    }
}
