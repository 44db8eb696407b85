//! The two stored halves of a person's timeline, each read in order from its own position: the
//! cloud records resolved to them (`person_events`) and the audit entries they did, that were
//! done to them, or that are about them.

use serde_json::Value;
use sqlx::Row;
use trustplane_model::{Event, Timestamp};

use crate::db::{Bind, Store};
use crate::error::Result;

/// A time window: `from` inclusive, `to` exclusive (ms since the epoch).
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRange {
    /// Entries at or after this time.
    pub from: Option<Timestamp>,
    /// Entries before this time.
    pub to: Option<Timestamp>,
}

/// One cloud record resolved to a person.
#[derive(Debug, Clone)]
pub struct PersonEvent {
    /// Its row id (orders records of the same millisecond).
    pub id: String,
    /// When it happened in the cloud.
    pub at: Timestamp,
    /// `aws` or `azure`.
    pub provider: String,
    /// The record's normalised summary.
    pub summary: Value,
}

/// Where a read of a person's cloud records goes on from: after this time and row id.
pub type PersonEventPosition = (Timestamp, String);

/// The most entries one read returns.
const MAX_READ: usize = 5000;

fn push_range(sql: &mut String, binds: &mut Vec<Bind>, range: TimeRange) {
    if let Some(from) = range.from {
        binds.push(Bind::Int(from));
        sql.push_str(&format!(" AND at >= ${}", binds.len()));
    }
    if let Some(to) = range.to {
        binds.push(Bind::Int(to));
        sql.push_str(&format!(" AND at < ${}", binds.len()));
    }
}

impl Store {
    /// Up to `top` of a person's cloud records in time order, after `after`, from the
    /// providers named (all when `providers` is empty).
    pub async fn person_events_after(
        &self,
        person: &str,
        range: TimeRange,
        providers: &[&str],
        after: Option<&PersonEventPosition>,
        top: usize,
    ) -> Result<Vec<PersonEvent>> {
        let _t = self.timer("timeline.cloud");
        let mut sql = String::from(
            "SELECT id, at, provider, summary FROM person_events WHERE person_id = $1",
        );
        let mut binds = vec![Bind::Text(person.into())];
        push_range(&mut sql, &mut binds, range);
        if !providers.is_empty() {
            let mut marks = Vec::with_capacity(providers.len());
            for p in providers {
                binds.push(Bind::Text((*p).into()));
                marks.push(format!("${}", binds.len()));
            }
            sql.push_str(&format!(" AND provider IN ({})", marks.join(", ")));
        }
        if let Some((at, id)) = after {
            binds.push(Bind::Int(*at));
            let at_mark = binds.len();
            binds.push(Bind::Text(id.clone()));
            sql.push_str(&format!(
                " AND (at > ${at_mark} OR (at = ${at_mark} AND id > ${}))",
                binds.len()
            ));
        }
        sql.push_str(&format!(
            " ORDER BY at, id LIMIT {}",
            top.clamp(1, MAX_READ)
        ));
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(|r| {
                Ok(PersonEvent {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    provider: r.try_get("provider")?,
                    summary: serde_json::from_str(&r.try_get::<String, _>("summary")?)?,
                })
            })
            .collect()
    }

    /// Up to `top` audit entries involving a person, in order of sequence after `after_seq`:
    /// the ones they initiated, the ones whose target they are, and the ones about them (see
    /// `subject_id`), optionally of the categories named only.
    pub async fn audit_involving(
        &self,
        person: &str,
        range: TimeRange,
        categories: &[&str],
        after_seq: Option<i64>,
        top: usize,
    ) -> Result<Vec<Event>> {
        let _t = self.timer("timeline.audit");
        let top = top.clamp(1, MAX_READ);
        let mut binds = vec![Bind::Text(person.into()), Bind::Int(after_seq.unwrap_or(0))];
        let mut filter = String::new();
        push_range(&mut filter, &mut binds, range);
        if !categories.is_empty() {
            let mut marks = Vec::with_capacity(categories.len());
            for c in categories {
                binds.push(Bind::Text((*c).into()));
                marks.push(format!("${}", binds.len()));
            }
            filter.push_str(&format!(" AND category IN ({})", marks.join(", ")));
        }
        // One index-ordered read per column, merged: an OR over three columns would sort every
        // entry the person ever touched before taking the first few.
        let part = |column: &str| {
            format!(
                "SELECT seq, body FROM (SELECT seq, body FROM audit_log WHERE {column} = $1 AND seq > $2{filter} \
                 ORDER BY seq LIMIT {top}) AS by_{column}"
            )
        };
        let sql = format!(
            "{} UNION {} UNION {} ORDER BY seq LIMIT {top}",
            part("actor_id"),
            part("target_id"),
            part("subject_id")
        );
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.try_get::<String, _>("body")?)?))
            .collect()
    }
}
