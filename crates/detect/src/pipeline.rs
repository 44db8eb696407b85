//! Processing pipelines applied to rules at load time: per-log-source field mapping and
//! placeholder values for the `expand` modifier.

use std::collections::BTreeMap;

use rsigma_eval::Pipeline;

use crate::error::DetectError;

/// The built-in field mapping (Azure names, generic names) (see the YAML file for why it exists).
const FIELD_PIPELINE: &str = include_str!("pipelines/cloud.yml");

/// The pipelines every rule set is compiled with.
pub(crate) fn builtin_pipelines() -> Result<Vec<Pipeline>, DetectError> {
    let azure = rsigma_eval::parse_pipeline(FIELD_PIPELINE).map_err(|e| DetectError::Pipeline {
        name: "trustplane_azure".into(),
        reason: e.to_string(),
    })?;
    Ok(vec![azure])
}

/// A pipeline that substitutes `%name%` placeholders of `expand` values with configured lists.
///
/// Placeholders left unresolved stay in the rule; the evaluator then fills them from the
/// event's field of that name at match time, which is the specification's fallback.
pub(crate) fn placeholder_pipeline(
    values: &BTreeMap<String, Vec<String>>,
) -> Result<Option<Pipeline>, DetectError> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut vars = serde_json::Map::new();
    for (name, list) in values {
        vars.insert(name.clone(), serde_json::json!(list));
    }
    // Built as JSON (a YAML subset) so names and values need no escaping of our own.
    let doc = serde_json::json!({
        "name": "trustplane_placeholders",
        "priority": 5,
        "vars": vars,
        "transformations": [{"id": "placeholders", "type": "value_placeholders"}],
    });
    rsigma_eval::parse_pipeline(&doc.to_string())
        .map(Some)
        .map_err(|e| DetectError::Pipeline {
            name: "trustplane_placeholders".into(),
            reason: e.to_string(),
        })
}
