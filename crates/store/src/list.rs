//! Filtered, paged listing shared by every directory collection.

use crate::db::Bind;
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
    /// (API field, column); the column is compared lower-cased.
    pub fields: &'static [(&'static str, &'static str)],
}

/// Builds `SELECT ... WHERE ... ORDER BY created_at, id LIMIT top+1` for a collection.
/// Pages are keyed on (created_at, id), so concurrent inserts never shift a page.
pub(crate) fn build(c: &Collection, q: &ListQuery) -> Result<(String, Vec<Bind>, usize)> {
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
        match clause.op {
            Op::Eq => {
                binds.push(Bind::Text(clause.value.to_lowercase()));
                sql.push_str(&format!(" AND LOWER({column}) = ${}", binds.len()));
            }
            Op::StartsWith => {
                let escaped = clause
                    .value
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                binds.push(Bind::Text(format!("{escaped}%")));
                sql.push_str(&format!(
                    " AND LOWER({column}) LIKE ${} ESCAPE '\\'",
                    binds.len()
                ));
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

/// The token that continues after an item.
pub(crate) fn token(created_at: i64, id: &str) -> String {
    format!("{created_at}:{id}")
}
