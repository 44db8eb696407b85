//! Risk scores from visible factors. Every point added is a [`RiskFactor`] with its reason;
//! the score is their sum, at most 100. The table is in `docs/discovery.md`.

use serde_json::Value;

use crate::catalog::{CatalogApp, CatalogRisk};
use crate::discover::{Acc, DiscoveryOptions};
use crate::model::{AppKind, ReviewState, Risk, RiskFactor};

const MIB: u64 = 1024 * 1024;
/// Age after which an unused active access key counts as stale.
const STALE_SECS: i64 = 90 * 86_400;

pub(crate) fn score(
    acc: &Acc,
    review: Option<ReviewState>,
    catalog: Option<&CatalogApp>,
    options: &DiscoveryOptions,
) -> Risk {
    let mut f: Vec<RiskFactor> = review_factor(review).into_iter().collect();
    let mut add = |factor: &str, points: u32, detail: String| {
        if points > 0 {
            f.push(RiskFactor {
                factor: factor.into(),
                points,
                detail,
            });
        }
    };
    let bool_detail = |k: &str| acc.details.get(k).and_then(Value::as_bool);
    if let Some(app) = catalog {
        let (p, w) = match app.risk {
            CatalogRisk::Low => (0, "low"),
            CatalogRisk::Medium => (10, "medium"),
            CatalogRisk::High => (20, "high"),
        };
        add("catalogueRisk", p, format!("catalogue risk {w}"));
        if app.certifications.is_empty() {
            add("certifications", 5, "no certification stated".into());
        }
        let ours = options.sso_through_trustplane.contains(&app.id);
        if !ours {
            let why = if app.sso.is_empty() {
                "no single sign-on offered: separate passwords".to_string()
            } else {
                format!(
                    "offers {} but sign-in does not go through Trustplane",
                    app.sso.join("/")
                )
            };
            add("sso", 15, why);
        }
        if !app.mfa {
            add("mfa", 10, "the app offers no multi-factor sign-in".into());
        }
    }
    match acc.kind {
        Some(AppKind::IdentityProvider) if acc.bypass => add(
            "sso",
            30,
            "an identity provider other than Trustplane signs people into the account".into(),
        ),
        Some(AppKind::IdentityProvider) if bool_detail("anySubject") == Some(true) => add(
            "trustCondition",
            25,
            "a role trusts this workload provider without a `sub` condition: any workflow of any repository may assume it".into(),
        ),
        Some(AppKind::IamUser) => {
            if bool_detail("consolePassword") == Some(true) {
                add("sso", 25, "console password outside Trustplane".into());
                if bool_detail("mfa") != Some(true) {
                    add("mfa", 20, "console password without MFA".into());
                }
            }
            let keys = acc
                .details
                .get("activeAccessKeyCount")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if keys > 0 {
                add("credentials", 15, format!("{keys} active long-lived access key(s)"));
                let used = acc.last;
                let stale = match used {
                    Some(t) => options.now - t > STALE_SECS,
                    None => true,
                };
                if stale {
                    add("credentials", 10, "not used in 90 days (or never)".into());
                }
            }
        }
        Some(AppKind::CrossAccountRole) => {
            add("sso", 20, "outside accounts assume it without Trustplane".into());
            if bool_detail("anyone") == Some(true) {
                add("trustCondition", 40, "any AWS principal may assume it".into());
            } else if bool_detail("externalIdRequired") != Some(true) {
                add("trustCondition", 10, "no sts:ExternalId condition".into());
            }
        }
        Some(AppKind::ServicePrincipal) if bool_detail("thirdParty") == Some(true) => {
            add("thirdParty", 10, "application owned by another organisation".into())
        }
        Some(AppKind::Guest) => add("sso", 10, "signs in with an outside identity".into()),
        _ => {}
    }
    let volume = if acc.bytes >= 1024 * MIB {
        (15, "1 GiB or more transferred")
    } else if acc.bytes >= 100 * MIB {
        (10, "100 MiB or more transferred")
    } else if acc.bytes >= 10 * MIB {
        (5, "10 MiB or more transferred")
    } else {
        (0, "")
    };
    add("volume", volume.0, volume.1.into());
    if acc.users.len() >= 50 {
        add("users", 5, format!("{} distinct users", acc.users.len()));
    }
    let (score, level) = total(&f);
    Risk {
        score,
        level: level.into(),
        factors: f,
    }
}

/// The `review` factor for a review state.
pub(crate) fn review_factor(review: Option<ReviewState>) -> Option<RiskFactor> {
    let (points, detail) = match review {
        Some(ReviewState::Sanctioned) => return None,
        Some(ReviewState::Monitored) => (10, "monitored, not sanctioned"),
        Some(ReviewState::Unsanctioned) => (35, "unsanctioned"),
        None => (20, "not reviewed"),
    };
    Some(RiskFactor {
        factor: "review".into(),
        points,
        detail: detail.into(),
    })
}

/// The score (sum of the points, at most 100) and its level.
pub(crate) fn total(factors: &[RiskFactor]) -> (u32, &'static str) {
    let total: u32 = factors.iter().map(|x| x.points).sum::<u32>().min(100);
    let level = if total >= 70 {
        "high"
    } else if total >= 40 {
        "medium"
    } else {
        "low"
    };
    (total, level)
}
