//! Reviews of discovered apps (state, tags, owner, comment) and imports of discovery runs
//! into a node: the checks on what an administrator sends, and the score as the review
//! changes it. No storage and no HTTP here.

use serde_json::Value;

use crate::model::{DiscoveredApp, ReviewState};

/// Most tags on one app.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Longest owner, in characters.
pub const MAX_OWNER_CHARS: usize = 256;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// Most apps in one import.
pub const MAX_IMPORT_APPS: usize = 10_000;
/// Longest app id, in characters.
pub const MAX_ID_CHARS: usize = 1024;

/// The id prefixes discovery gives.
const ID_PREFIXES: [&str; 8] = [
    "aws-service:",
    "azure-rp:",
    "idp:",
    "cross-account:",
    "iam-user:",
    "azure-sp:",
    "azure-guest:",
    "web:",
];

/// A review as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// The decision, if one was made.
    pub state: Option<ReviewState>,
    /// Tags.
    pub tags: Vec<String>,
    /// Who owns the app in the organisation.
    pub owner: Option<String>,
    /// Why.
    pub comment: Option<String>,
}

/// Why a review or an import was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The body is not what was expected.
    #[error("{0}")]
    Shape(String),
    /// A field is not known.
    #[error("unknown field `{0}`; the fields are state, tags, owner and comment")]
    UnknownField(String),
    /// The state is not one of the three.
    #[error("state must be sanctioned, unsanctioned or monitored (or null), not {0}")]
    BadState(String),
    /// A value is over its bound.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Nothing to change.
    #[error("give at least one of state, tags, owner and comment")]
    Empty,
}

fn text(
    field: &'static str,
    v: &Value,
    max: usize,
    newlines: bool,
) -> Result<Option<String>, ReviewError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => {
            let s = s.trim();
            if s.chars().count() > max {
                return Err(ReviewError::Invalid {
                    field,
                    reason: format!("longer than {max} characters"),
                });
            }
            if s.chars()
                .any(|c| c.is_control() && !(newlines && (c == '\n' || c == '\t')))
            {
                return Err(ReviewError::Invalid {
                    field,
                    reason: "control characters are not allowed".into(),
                });
            }
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        _ => Err(ReviewError::Invalid {
            field,
            reason: "must be a string or null".into(),
        }),
    }
}

/// Applies a PATCH body (`{"state", "tags", "owner", "comment"}`, each optional; null clears)
/// to the current review. Tags replace the old ones, deduplicated.
pub fn apply_patch(current: &Review, patch: &Value) -> Result<Review, ReviewError> {
    let obj = patch
        .as_object()
        .ok_or_else(|| ReviewError::Shape("the body must be a JSON object".into()))?;
    if obj.is_empty() {
        return Err(ReviewError::Empty);
    }
    let mut next = current.clone();
    for (k, v) in obj {
        match k.as_str() {
            "state" => {
                next.state = match v {
                    Value::Null => None,
                    Value::String(s) => Some(
                        ReviewState::parse(s)
                            .ok_or_else(|| ReviewError::BadState(format!("`{s}`")))?,
                    ),
                    other => return Err(ReviewError::BadState(other.to_string())),
                }
            }
            "tags" => {
                let arr = match v {
                    Value::Null => Vec::new(),
                    Value::Array(a) => a.clone(),
                    _ => {
                        return Err(ReviewError::Invalid {
                            field: "tags",
                            reason: "must be an array of strings".into(),
                        })
                    }
                };
                if arr.len() > MAX_TAGS {
                    return Err(ReviewError::Invalid {
                        field: "tags",
                        reason: format!("at most {MAX_TAGS} tags"),
                    });
                }
                let mut tags: Vec<String> = Vec::new();
                for t in &arr {
                    if !t.is_string() {
                        return Err(ReviewError::Invalid {
                            field: "tags",
                            reason: "must be an array of strings".into(),
                        });
                    }
                    let Some(t) = text("tags", t, MAX_TAG_CHARS, false)? else {
                        return Err(ReviewError::Invalid {
                            field: "tags",
                            reason: "a tag is empty".into(),
                        });
                    };
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
                next.tags = tags;
            }
            "owner" => next.owner = text("owner", v, MAX_OWNER_CHARS, false)?,
            "comment" => next.comment = text("comment", v, MAX_COMMENT_CHARS, true)?,
            other => return Err(ReviewError::UnknownField(other.chars().take(64).collect())),
        }
    }
    Ok(next)
}

/// The apps of an import: a discovery report (`trustplane discover --output json`) or an
/// array of its apps, at most [`MAX_IMPORT_APPS`], each with an id discovery gives.
pub fn parse_import(body: &[u8]) -> Result<Vec<DiscoveredApp>, ReviewError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ReviewError::Shape(format!("not JSON: {e}")))?;
    let apps = match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("apps") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(ReviewError::Shape(
                    "a discovery report (with `apps`) or an array of apps".into(),
                ))
            }
        },
        _ => {
            return Err(ReviewError::Shape(
                "a discovery report (with `apps`) or an array of apps".into(),
            ))
        }
    };
    if apps.is_empty() {
        return Err(ReviewError::Shape("no apps to import".into()));
    }
    if apps.len() > MAX_IMPORT_APPS {
        return Err(ReviewError::Shape(format!(
            "{} apps; at most {MAX_IMPORT_APPS} in one import",
            apps.len()
        )));
    }
    apps.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let app: DiscoveredApp = serde_json::from_value(a)
                .map_err(|e| ReviewError::Shape(format!("app {i}: {e}")))?;
            if app.users.len() > crate::MAX_USERS_PER_APP
                || app.name.chars().count() > MAX_ID_CHARS
                || app.risk.factors.len() > 64
            {
                return Err(ReviewError::Shape(format!(
                    "app {i}: at most {} users, 64 risk factors and a name of {MAX_ID_CHARS} characters",
                    crate::MAX_USERS_PER_APP
                )));
            }
            if app.id.chars().count() > MAX_ID_CHARS
                || !ID_PREFIXES.iter().any(|p| app.id.starts_with(p) && app.id.len() > p.len())
            {
                return Err(ReviewError::Shape(format!(
                    "app {i}: id must start with one of {} and be at most {MAX_ID_CHARS} characters",
                    ID_PREFIXES.join(", ")
                )));
            }
            Ok(app)
        })
        .collect()
}

/// The app with its review: the `review` factor of its risk recomputed for the review's
/// state, and the score again their sum.
pub fn with_review(mut app: DiscoveredApp, state: Option<ReviewState>) -> DiscoveredApp {
    app.review = state;
    app.risk.factors.retain(|f| f.factor != "review");
    if let Some(f) = crate::score::review_factor(state) {
        app.risk.factors.insert(0, f);
    }
    let (score, level) = crate::score::total(&app.risk.factors);
    app.risk.score = score;
    app.risk.level = level.into();
    app
}

/// The apps of an import used after they were marked unsanctioned: `unsanctioned` maps each
/// unsanctioned app's id to when it was reviewed (seconds). An app whose last use is unknown
/// (an access path from an inventory) is not counted: nothing shows it was used since.
pub fn unsanctioned_in_use<'a>(
    apps: &'a [DiscoveredApp],
    unsanctioned: &std::collections::HashMap<String, i64>,
) -> Vec<&'a DiscoveredApp> {
    apps.iter()
        .filter(|a| {
            let Some(reviewed) = unsanctioned.get(&a.id) else {
                return false;
            };
            a.last_seen
                .as_deref()
                .and_then(crate::parse_time)
                .is_some_and(|t| t > *reviewed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn patches() {
        let r = apply_patch(
            &Review::default(),
            &json!({"state": "sanctioned", "tags": ["hr", "hr", " eu "], "owner": "ada@example.com", "comment": "ok\nchecked"}),
        )
        .unwrap();
        assert_eq!(r.state, Some(ReviewState::Sanctioned));
        assert_eq!(r.tags, vec!["hr", "eu"]);
        let r2 = apply_patch(&r, &json!({"state": null, "owner": ""})).unwrap();
        assert_eq!((r2.state, r2.owner.clone(), r2.tags.len()), (None, None, 2));
        for bad in [
            json!({}),
            json!([]),
            json!({"state": "approved"}),
            json!({"state": 1}),
            json!({"tags": "x"}),
            json!({"tags": [1]}),
            json!({"tags": [""]}),
            json!({"tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()}),
            json!({"tags": ["x".repeat(65)]}),
            json!({"owner": "a\u{0007}"}),
            json!({"comment": "c".repeat(2001)}),
            json!({"owners": "x"}),
        ] {
            assert!(apply_patch(&r, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn imports_are_checked() {
        assert!(parse_import(b"nope").is_err());
        assert!(parse_import(b"{}").is_err());
        assert!(parse_import(b"[]").is_err());
        assert!(parse_import(br#"[{"id": "web:x"}]"#).is_err());
        let app = |id: &str, users: usize| {
            json!({"id": id, "kind": "webApp", "name": "X", "account": null, "category": null,
                "firstSeen": null, "lastSeen": null, "users": vec!["u"; users], "userCount": users,
                "usersTruncated": false, "events": 1, "bytes": 0, "blocked": 0, "bypassesTrustplane": false,
                "remediation": null, "details": {}, "review": null,
                "risk": {"score": 20, "level": "low", "factors": [{"factor": "review", "points": 20, "detail": "not reviewed"}]}})
        };
        let ok = serde_json::to_vec(&json!([app("web:x", 1)])).unwrap();
        assert_eq!(parse_import(&ok).unwrap().len(), 1);
        for bad in [
            json!([app("x", 1)]),
            json!([app("web:", 1)]),
            json!([app("web:x", crate::MAX_USERS_PER_APP + 1)]),
        ] {
            assert!(parse_import(&serde_json::to_vec(&bad).unwrap()).is_err());
        }
        // The review factor follows the review; the score stays the sum.
        let a = parse_import(&ok).unwrap().remove(0);
        let s = with_review(a.clone(), Some(ReviewState::Unsanctioned));
        assert_eq!((s.risk.score, s.risk.factors[0].points), (35, 35));
        assert_eq!(
            with_review(a.clone(), Some(ReviewState::Sanctioned))
                .risk
                .score,
            0
        );
        let mut used = a.clone();
        used.last_seen = Some("2024-01-02T00:00:00Z".into());
        let apps = vec![a, used.clone()];
        let after = |t: i64| std::collections::HashMap::from([("web:x".to_string(), t)]);
        // 2024-01-01 review: the later use counts, the app with no known use does not.
        assert_eq!(unsanctioned_in_use(&apps, &after(1_704_067_200)).len(), 1);
        assert!(unsanctioned_in_use(&apps, &after(1_704_240_000)).is_empty());
        assert!(unsanctioned_in_use(&apps, &Default::default()).is_empty());
    }
}
