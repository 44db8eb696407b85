//! Corrections applied to parsed rules before compilation, where the evaluator departs from
//! the Sigma specification.
//!
//! `base64offset`: the specification's patterns drop the leading *and trailing* characters of
//! each of the three shifted encodings, because those characters also encode the bytes around
//! the value. `rsigma-eval` 0.23 keeps the trailing partial character, so a value followed by
//! more data (the usual case, e.g. a command inside an encoded script) never matches. We
//! rewrite such items into plain `contains` lists of the specification's patterns.
//!
//! `temporal` / `temporal_ordered` without a condition: the specification requires every
//! referenced rule to match within the timespan; the parser's default (`gte: 1`) fires on the
//! first one. We set the threshold to the number of referenced rules.

use base64::Engine as _;
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, Detection,
    DetectionItem, Modifier, SigmaRule, SigmaValue,
};

/// Applies every correction to `rule`.
pub(crate) fn apply(rule: &mut SigmaRule) {
    for detection in rule.detection.named.values_mut() {
        fix_detection(detection);
    }
}

/// Applies every correction to a correlation rule.
pub(crate) fn apply_correlation(rule: &mut CorrelationRule) {
    if !matches!(
        rule.correlation_type,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    ) {
        return;
    }
    if let CorrelationCondition::Threshold {
        predicates,
        field: None,
        ..
    } = &mut rule.condition
    {
        if predicates.as_slice() == [(ConditionOperator::Gte, 1)] {
            let all = u64::try_from(rule.rules.len()).unwrap_or(u64::MAX);
            *predicates = vec![(ConditionOperator::Gte, all)];
        }
    }
}

fn fix_detection(detection: &mut Detection) {
    match detection {
        Detection::AllOf(items) => items.iter_mut().for_each(fix_base64offset),
        Detection::AnyOf(subs) => subs.iter_mut().for_each(fix_detection),
        _ => {}
    }
}

/// The specification's three patterns for `value` (already in its byte encoding).
pub(crate) fn base64offset_patterns(value: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    let b64 = base64::engine::general_purpose::STANDARD;
    (0..3)
        .filter_map(|shift| {
            let mut bytes = vec![b' '; shift];
            bytes.extend_from_slice(value);
            let encoded = b64.encode(&bytes);
            let end = encoded.len().checked_sub(END[(value.len() + shift) % 3])?;
            encoded.get(START[shift]..end).map(str::to_string)
        })
        .filter(|p| !p.is_empty())
        .collect()
}

fn fix_base64offset(item: &mut DetectionItem) {
    let mods = &item.field.modifiers;
    // Only the plain, well-defined form; anything else is left to the evaluator.
    if !mods.contains(&Modifier::Base64Offset)
        || !mods.contains(&Modifier::Contains)
        || mods.contains(&Modifier::All)
        || mods.contains(&Modifier::WindAsh)
    {
        return;
    }
    let encode = |s: &str| -> Vec<u8> {
        if mods.contains(&Modifier::Wide) {
            s.encode_utf16().flat_map(u16::to_le_bytes).collect()
        } else if mods.contains(&Modifier::Utf16be) {
            s.encode_utf16().flat_map(u16::to_be_bytes).collect()
        } else if mods.contains(&Modifier::Utf16) {
            let mut v = vec![0xff, 0xfe];
            v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
            v
        } else {
            s.as_bytes().to_vec()
        }
    };
    let mut values = Vec::new();
    for value in &item.values {
        let SigmaValue::String(s) = value else {
            return;
        };
        let Some(plain) = s.as_plain() else {
            return;
        };
        values.extend(
            base64offset_patterns(&encode(&plain))
                .into_iter()
                .map(|p| SigmaValue::from_raw_string(&p)),
        );
    }
    item.values = values;
    item.field.modifiers.retain(|m| {
        !matches!(
            m,
            Modifier::Base64Offset | Modifier::Wide | Modifier::Utf16be | Modifier::Utf16
        )
    });
    // Encoded text is case-sensitive.
    if !item.field.modifiers.contains(&Modifier::Cased) {
        item.field.modifiers.push(Modifier::Cased);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's example: `base64offset|contains: /bin/bash`.
    #[test]
    fn patterns_match_the_specification() {
        assert_eq!(
            base64offset_patterns(b"/bin/bash"),
            ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }
}
