//! My Apps: the applications a person can open from the portal, each a tile that starts an
//! IdP-initiated sign-on, or opens a linked application's own URL. The AWS console gets one tile per AWS role the person holds now,
//! so a click lands in that role without AWS's role picker.

use trustplane_model::{Application, RoleResource, User};
use trustplane_store::{ListQuery, Store, StoreError};

use super::settings::{SamlSettings, Template};
use crate::url_encode;

/// Most applications read for one portal page.
const MAX_APPS: usize = 999;

/// One tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// The application's name.
    pub name: String,
    /// What the tile opens, when one application has several (an AWS role and account).
    pub detail: Option<String>,
    /// Where a click goes: this server's IdP-initiated start, or a linked application.
    pub url: String,
}

/// The tiles of `user`, in name order. Applications whose SAML settings do not parse are
/// left out (the admin API reports them); an AWS console application without any of the
/// person's roles in its accounts has no tile.
pub async fn my_apps(store: &Store, user: &User) -> Result<Vec<Tile>, StoreError> {
    let query = ListQuery {
        top: MAX_APPS,
        ..ListQuery::default()
    };
    let apps = store.list_applications(&query).await?.items;
    let mut roles = None;
    let mut tiles = Vec::new();
    for app in apps {
        if let Ok(Some(url)) = Application::linked_url(&app.settings) {
            tiles.push(Tile {
                name: app.display_name.clone(),
                detail: None,
                url: url.to_string(),
            });
            continue;
        }
        let Ok(Some(settings)) = SamlSettings::from_app_settings(&app.settings) else {
            continue;
        };
        let start = format!("/saml/start/{}", url_encode(&app.id));
        if settings.template != Template::AwsConsole {
            tiles.push(Tile {
                name: app.display_name,
                detail: None,
                url: start,
            });
            continue;
        }
        if roles.is_none() {
            roles = Some(store.effective_roles(&user.id).await?);
        }
        for role in roles.iter().flatten() {
            let Some(RoleResource::AwsSamlRole {
                account_id,
                role_arn,
                ..
            }) = &role.resource
            else {
                continue;
            };
            if !settings.aws_accounts.is_empty() && !settings.aws_accounts.contains(account_id) {
                continue;
            }
            tiles.push(Tile {
                name: app.display_name.clone(),
                detail: Some(format!("{} ({account_id})", role.display_name)),
                url: format!("{start}?role={}", url_encode(role_arn)),
            });
        }
    }
    tiles.sort_by(|a, b| (&a.name, &a.detail).cmp(&(&b.name, &b.detail)));
    Ok(tiles)
}
