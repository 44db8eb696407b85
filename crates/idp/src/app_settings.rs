//! An application's protocol settings as an administrator registers or changes them: the
//! OpenID Connect client (`settings.oidc`) and the SAML service provider (`settings.saml`),
//! checked before anything is stored and stored completed (the defaults a template implies
//! written out), so what an administrator reads back is what sign-on uses.

use serde_json::{Map, Value};
use trustplane_saml::SpMetadata;

use crate::oidc::clients;
use crate::saml_app::settings::{SamlSettings, AWS_ENTITY_ID};

/// Why settings are refused; `field` names the setting when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingsError {
    /// What is wrong.
    pub message: String,
    /// The setting, as a dotted path (`settings.oidc.redirectUris`).
    pub field: Option<String>,
}

fn refused(message: impl Into<String>) -> SettingsError {
    SettingsError {
        message: message.into(),
        field: None,
    }
}

fn check_linked(settings: &Map<String, Value>) -> Result<(), SettingsError> {
    trustplane_model::Application::linked_url(settings)
        .map(|_| ())
        .map_err(|message| SettingsError {
            message,
            field: Some("settings.linked.url".into()),
        })
}

/// A proxied application (`settings.proxy`) signs people in as an OIDC client whose redirect
/// URI is the proxy's callback on its external URL.
fn check_proxy(settings: &Map<String, Value>) -> Result<(), SettingsError> {
    let Some(proxy) =
        trustplane_model::ProxySettings::from_settings(settings).map_err(|message| {
            SettingsError {
                message,
                field: Some("settings.proxy".into()),
            }
        })?
    else {
        return Ok(());
    };
    let callback = proxy.redirect_uri();
    let registered = settings
        .get("oidc")
        .and_then(|o| o.get("redirectUris"))
        .and_then(Value::as_array)
        .is_some_and(|uris| uris.iter().any(|u| u.as_str() == Some(callback.as_str())));
    if !registered {
        return Err(SettingsError {
            message: format!(
                "a proxied application is an OIDC client with the redirect URI `{callback}`"
            ),
            field: Some("settings.oidc.redirectUris".into()),
        });
    }
    Ok(())
}

fn check_oidc(settings: &Map<String, Value>) -> Result<(), SettingsError> {
    check_linked(settings)?;
    check_proxy(settings)?;
    clients::validate_settings(settings).map_err(|e| SettingsError {
        message: e.to_string(),
        field: Some(
            format!("settings.oidc.{}", e.field)
                .trim_end_matches('.')
                .to_string(),
        ),
    })
}

fn saml_template(settings: &Map<String, Value>) -> Option<&str> {
    settings.get("saml")?.get("template")?.as_str()
}

/// Checks the settings of the application `app_id` and completes its SAML settings.
pub fn complete(app_id: &str, settings: &mut Map<String, Value>) -> Result<(), SettingsError> {
    check_oidc(settings)?;
    let saml = SamlSettings::from_app_settings(settings)
        .and_then(|s| s.map(|s| s.complete(app_id)).transpose())
        .map_err(|e| refused(e.0))?;
    if let Some(saml) = saml {
        let value = serde_json::to_value(&saml).map_err(|e| refused(e.to_string()))?;
        settings.insert("saml".into(), value);
    }
    Ok(())
}

/// The appId and settings a new application is stored with. The AWS console template brings
/// its own appId (AWS's entity id); any other SAML application must name its SP entity id.
pub fn for_new_application(
    app_id: Option<String>,
    mut settings: Map<String, Value>,
) -> Result<(Option<String>, Map<String, Value>), SettingsError> {
    let app_id = app_id.or_else(|| {
        (saml_template(&settings) == Some("awsConsole")).then(|| AWS_ENTITY_ID.to_string())
    });
    match &app_id {
        Some(id) => complete(id, &mut settings)?,
        None => check_oidc(&settings)?,
    }
    if app_id.is_none() && settings.contains_key("saml") {
        return Err(refused(
            "appId: a SAML application's appId is its SP entity id",
        ));
    }
    Ok((app_id, settings))
}

/// The appId and settings of a SAML service provider registered from its metadata document
/// (an `EntityDescriptor`).
pub fn from_saml_metadata(xml: &str) -> Result<(String, Map<String, Value>), SettingsError> {
    let sp = SpMetadata::parse(xml).map_err(|e| refused(format!("metadataXml: {e}")))?;
    let saml = SamlSettings::from_metadata(&sp)
        .complete(&sp.entity_id)
        .map_err(|e| refused(e.0))?;
    let mut settings = Map::new();
    settings.insert(
        "saml".into(),
        serde_json::to_value(&saml).map_err(|e| refused(e.to_string()))?,
    );
    Ok((sp.entity_id, settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_aws_console_template_brings_its_app_id_and_its_defaults() {
        let (app_id, settings) =
            for_new_application(None, map(json!({"saml": {"template": "awsConsole"}}))).unwrap();
        assert_eq!(app_id.as_deref(), Some(AWS_ENTITY_ID));
        assert!(settings["saml"]["assertionConsumerServices"].is_array());
    }

    #[test]
    fn a_saml_application_without_an_entity_id_or_a_bad_oidc_client_is_refused() {
        let saml = for_new_application(None, map(json!({"saml": {}}))).unwrap_err();
        assert!(saml.message.starts_with("appId"), "{saml}");
        let oidc = for_new_application(
            None,
            map(json!({"oidc": {"redirectUris": ["https://a/cb"], "grantTypes": ["implicit"]}})),
        )
        .unwrap_err();
        assert!(
            oidc.field
                .as_deref()
                .is_some_and(|f| f.starts_with("settings.oidc")),
            "{oidc:?}"
        );
    }
}
