//! Filtered, paged listing shared by every directory collection.

use crate::db::{Backend, Bind};
use crate::error::{Result, StoreError};

/// A comparison in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal, without regard to case.
    Eq,
    /// Starts with, without regard to case.
    StartsWith,
}

/// One condition: `field op value`. Field names are the API's (`userPrincipalName`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The API field name.
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: String,
}

/// What to list: all clauses must hold.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Conditions, combined with AND.
    pub filter: Vec<Clause>,
    /// Page size (1 to 999).
    pub top: usize,
    /// The opaque token of the previous page's end.
    pub skip_token: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// A token for the next page, if there is one.
    pub next: Option<String>,
}

/// How a collection's API fields map to columns.
pub(crate) struct Collection {
    pub table: &'static str,
    pub columns: &'static str,
    /// (API field, column); the column is compared lower-cased. A column named `*_key` holds
    /// the value already lower-cased (and is indexed), so it is compared as it is.
    pub fields: &'static [(&'static str, &'static str)],
}

/// Builds `SELECT ... WHERE ... ORDER BY created_at, id LIMIT top+1` for a collection.
/// Pages are keyed on (created_at, id), so concurrent inserts never shift a page.
pub(crate) fn build(
    c: &Collection,
    q: &ListQuery,
    backend: Backend,
) -> Result<(String, Vec<Bind>, usize)> {
    let mut sql = format!("SELECT {} FROM {} WHERE 1 = 1", c.columns, c.table);
    let mut binds = Vec::new();
    for clause in &q.filter {
        let column = c
            .fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(&clause.field))
            .map(|(_, col)| *col)
            .ok_or_else(|| {
                StoreError::invalid("$filter", format!("cannot filter on `{}`", clause.field))
            })?;
        // A key column is stored lower-cased and indexed: comparing it as it is lets the
        // index answer; any other column is lower-cased on both sides.
        let keyed = column.ends_with("_key");
        let lhs = if keyed {
            column.to_string()
        } else {
            format!("LOWER({column})")
        };
        let value = clause.value.to_lowercase();
        match clause.op {
            Op::Eq => {
                binds.push(Bind::Text(value));
                sql.push_str(&format!(" AND {lhs} = ${}", binds.len()));
            }
            Op::StartsWith => {
                // On SQLite (byte order) a prefix is also a range of the index; PostgreSQL's
                // order follows the database's collation, where it is not, so LIKE alone.
                if let (true, Backend::Sqlite, Some(end)) = (keyed, backend, prefix_end(&value)) {
                    binds.push(Bind::Text(value.clone()));
                    binds.push(Bind::Text(end));
                    let (lo, hi) = (binds.len() - 1, binds.len());
                    sql.push_str(&format!(" AND {lhs} >= ${lo} AND {lhs} < ${hi}"));
                }
                let escaped = value
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                binds.push(Bind::Text(format!("{escaped}%")));
                sql.push_str(&format!(" AND {lhs} LIKE ${} ESCAPE '\\'", binds.len()));
            }
        }
    }
    if let Some(token) = &q.skip_token {
        let (at, id) = token
            .split_once(':')
            .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
            .ok_or_else(|| {
                StoreError::invalid("$skiptoken", "is not a token this server issued")
            })?;
        binds.push(Bind::Int(at));
        let a = binds.len();
        binds.push(Bind::Text(id.to_string()));
        let b = binds.len();
        sql.push_str(&format!(
            " AND (created_at > ${a} OR (created_at = ${a} AND id > ${b}))"
        ));
    }
    let top = q.top.clamp(1, 999);
    sql.push_str(&format!(" ORDER BY created_at, id LIMIT {}", top + 1));
    Ok((sql, binds, top))
}

/// The least string above every string that starts with `prefix`, in byte order (UTF-8 byte
/// order is code point order): the prefix with its last character raised by one. `None`
/// when there is no such string (an empty prefix, or only the last code points).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The token that continues after an item.
pub(crate) fn token(created_at: i64, id: &str) -> String {
    format!("{created_at}:{id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use sqlx::Row;
    use trustplane_model::ManualClock;

    use super::*;
    use crate::directory::{GROUPS, USERS};
    use crate::Store;

    #[test]
    fn a_prefix_ends_where_its_last_character_is_raised() {
        assert_eq!(prefix_end("ada").as_deref(), Some("adb"));
        assert_eq!(prefix_end("a_").as_deref(), Some("a`"));
        assert_eq!(
            prefix_end("z\u{d7ff}").as_deref(),
            Some("z\u{e000}"),
            "past the surrogates"
        );
        assert_eq!(prefix_end(&format!("a{}", char::MAX)).as_deref(), Some("b"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end(&char::MAX.to_string()), None);
    }

    /// The plan SQLite picks for a list query, one line per step.
    async fn plan(store: &Store, c: &Collection, field: &str, op: Op) -> Vec<String> {
        let q = ListQuery {
            filter: vec![Clause {
                field: field.into(),
                op,
                value: "Ada".into(),
            }],
            top: 50,
            skip_token: None,
        };
        let (sql, binds, _) = build(c, &q, Backend::Sqlite).unwrap();
        let rows = store
            .fetch_all(&format!("EXPLAIN QUERY PLAN {sql}"), &binds)
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect()
    }

    #[tokio::test]
    async fn filters_on_sign_in_and_group_names_are_answered_by_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let store = Store::open(&url, Arc::new(ManualClock::new(1_790_000_000_000)))
            .await
            .unwrap();
        for op in [Op::Eq, Op::StartsWith] {
            for (c, field) in [(&USERS, "userPrincipalName"), (&GROUPS, "displayName")] {
                let steps = plan(&store, c, field, op).await;
                assert!(
                    steps
                        .iter()
                        .any(|s| s.contains("USING INDEX sqlite_autoindex")),
                    "{field} {op:?}: {steps:?}"
                );
                assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{steps:?}");
            }
        }
    }
}
