//! The small part of OData `$filter` that list endpoints take: `eq` and `startswith` joined by
//! `and`. Pure and free of the server so it can be fuzzed on its own (`crates/fuzz-targets`).

use crate::list::{Clause, Op};

/// Why a `$filter` was refused; the text is what the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("$filter: {0}")]
pub struct FilterError(&'static str);

/// Most clauses one filter may join: each becomes a condition of the SQL query.
pub const MAX_CLAUSES: usize = 8;

/// Parses `a eq 'x' and startswith(b,'y')`.
pub fn parse_filter(input: &str) -> Result<Vec<Clause>, FilterError> {
    let bad = |why: &'static str| FilterError(why);
    let mut clauses = Vec::new();
    let mut rest = input.trim();
    loop {
        let (clause, after) = if let Some(inner) = strip_prefix_ci(rest, "startswith(") {
            let (field, after_field) = inner
                .split_once(',')
                .ok_or_else(|| bad("expected `startswith(field, 'value')`"))?;
            let (value, after_value) = parse_string(after_field.trim_start())
                .ok_or_else(|| bad("expected a quoted value"))?;
            let after_paren = after_value
                .trim_start()
                .strip_prefix(')')
                .ok_or_else(|| bad("expected `)`"))?;
            (
                Clause {
                    field: field.trim().to_string(),
                    op: Op::StartsWith,
                    value,
                },
                after_paren,
            )
        } else {
            let (field, after_field) = rest
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `field eq 'value'`"))?;
            let after_op = strip_prefix_ci(after_field.trim_start(), "eq")
                .ok_or_else(|| bad("only `eq` and `startswith` are supported"))?;
            let (value, after_value) = parse_string(after_op.trim_start())
                .ok_or_else(|| bad("expected a quoted value"))?;
            (
                Clause {
                    field: field.to_string(),
                    op: Op::Eq,
                    value,
                },
                after_value,
            )
        };
        if clause.field.is_empty() || !clause.field.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("field names are letters and digits"));
        }
        clauses.push(clause);
        let after = after.trim_start();
        if after.is_empty() {
            return Ok(clauses);
        }
        rest = strip_prefix_ci(after, "and ")
            .ok_or_else(|| bad("clauses are joined with `and`"))?
            .trim_start();
        if clauses.len() >= MAX_CLAUSES {
            return Err(bad("at most 8 clauses"));
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A single-quoted OData string, with `''` for a quote. Returns the value and the rest.
fn parse_string(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if matches!(chars.peek(), Some((_, '\''))) {
                chars.next();
                value.push('\'');
            } else {
                return Some((value, &body[i + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_eq_startswith_and_quotes() {
        let c =
            parse_filter("userPrincipalName eq 'o''brien@x.com' and startswith(displayName, 'Ad')")
                .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].value, "o'brien@x.com");
        assert_eq!(c[0].op, Op::Eq);
        assert_eq!(c[1].field, "displayName");
        assert_eq!(c[1].op, Op::StartsWith);
    }

    proptest::proptest! {
        /// Outside input: any text is answered with clauses or an error, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused(input in ".{0,200}") {
            let _ = parse_filter(&input);
        }

        /// Filters built from the grammar parse back to what they were built from.
        #[test]
        fn generated_filters_parse_back(
            clauses in proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9]{0,15}", proptest::bool::ANY, ".{0,20}"), 1..8)
        ) {
            let text: Vec<String> = clauses
                .iter()
                .map(|(f, starts, v)| {
                    let quoted = v.replace('\'', "''");
                    if *starts { format!("startswith({f}, '{quoted}')") } else { format!("{f} eq '{quoted}'") }
                })
                .collect();
            let parsed = parse_filter(&text.join(" and ")).unwrap();
            proptest::prop_assert_eq!(parsed.len(), clauses.len());
            for (p, (f, starts, v)) in parsed.iter().zip(&clauses) {
                proptest::prop_assert_eq!(&p.field, f);
                proptest::prop_assert_eq!(&p.value, v);
                proptest::prop_assert_eq!(p.op == Op::StartsWith, *starts);
            }
        }
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in [
            "a ne 'x'",
            "a eq x",
            "a eq 'x' or b eq 'y'",
            "startswith(a 'x')",
            "a eq 'x",
            "x.y eq 'z'",
            "",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
