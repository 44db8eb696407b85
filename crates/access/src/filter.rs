//! Entra filter rules (`device.isCompliant -eq True -and device.trustType -eq "ServerAD"`),
//! parsed once at compile time and evaluated against the attributes a sign-in carries.
//!
//! Supported: `-eq -ne -startsWith -notStartsWith -endsWith -notEndsWith -contains
//! -notContains -in -notIn`, `-and`, `-or`, `-not`, parentheses, `"strings"`, `True`/`False`
//! and `["lists"]`. String comparison ignores case, as Entra does. In [`Rule::eval`] an
//! attribute the sign-in does not carry equals nothing (so `-eq` is false and `-ne` is true);
//! [`Rule::eval3`] reports such results as unknown instead.

use std::borrow::Cow;

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
    Not(Box<Rule>),
    Cmp {
        attribute: String,
        op: Op,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    LBracket,
    RBracket,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Tok::Open),
            ')' => out.push(Tok::Close),
            '[' => out.push(Tok::LBracket),
            ']' => out.push(Tok::RBracket),
            ',' => out.push(Tok::Comma),
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == quote {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err("unterminated string".to_owned());
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut s = String::from(c);
                while let Some(&(_, n)) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '(' | ')' | '[' | ']' | ',' | '"' | '\'') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push(Tok::Word(s));
            }
        }
    }
    Ok(out)
}

/// Limits that keep evaluation's recursion shallow whatever the rule text.
const MAX_COMPARISONS: usize = 256;
const MAX_DEPTH: usize = 32;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    comparisons: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Rule, String> {
        let mut left = self.and()?;
        while self.peek_word("-or") {
            self.pos += 1;
            let right = self.and()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, String> {
        let mut left = self.unary()?;
        while self.peek_word("-and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Rule, String> {
        if self.peek_word("-not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(format!("`-not` nests deeper than {MAX_DEPTH}"));
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Rule::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Tok::Open) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(format!("parentheses nest deeper than {MAX_DEPTH}"));
                }
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Tok::Close) => Ok(inner),
                    _ => Err("expected `)`".to_owned()),
                }
            }
            Some(Tok::Word(attribute)) => {
                self.comparisons += 1;
                if self.comparisons > MAX_COMPARISONS {
                    return Err(format!("more than {MAX_COMPARISONS} comparisons"));
                }
                let op = match self.next() {
                    Some(Tok::Word(op)) => parse_op(&op)?,
                    _ => return Err(format!("expected an operator after `{attribute}`")),
                };
                let values = self.value()?;
                Ok(Rule::Cmp {
                    attribute: attribute.to_ascii_lowercase(),
                    op,
                    values,
                })
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("unexpected end of rule".to_owned()),
        }
    }

    fn value(&mut self) -> Result<Vec<String>, String> {
        match self.next() {
            Some(Tok::Str(s)) | Some(Tok::Word(s)) => Ok(vec![s.to_lowercase()]),
            Some(Tok::LBracket) => {
                let mut out = Vec::new();
                loop {
                    match self.next() {
                        Some(Tok::RBracket) => return Ok(out),
                        Some(Tok::Comma) => {}
                        Some(Tok::Str(s)) | Some(Tok::Word(s)) => out.push(s.to_lowercase()),
                        _ => return Err("unterminated list".to_owned()),
                    }
                }
            }
            _ => Err("expected a value".to_owned()),
        }
    }
}

fn parse_op(op: &str) -> Result<Op, String> {
    let op_l = op.to_ascii_lowercase();
    Ok(match op_l.as_str() {
        "-eq" => Op::Eq,
        "-ne" => Op::Ne,
        "-startswith" => Op::StartsWith,
        "-notstartswith" => Op::NotStartsWith,
        "-endswith" => Op::EndsWith,
        "-notendswith" => Op::NotEndsWith,
        "-contains" => Op::Contains,
        "-notcontains" => Op::NotContains,
        "-in" => Op::In,
        "-notin" => Op::NotIn,
        _ => return Err(format!("unsupported operator `{op}`")),
    })
}

impl Rule {
    /// Parses a rule; the error says what is wrong in the rule text.
    pub(crate) fn parse(text: &str) -> Result<Rule, String> {
        let toks = tokenize(text)?;
        let mut p = Parser {
            toks,
            pos: 0,
            comparisons: 0,
            depth: 0,
        };
        let rule = p.or()?;
        if p.pos < p.toks.len() {
            return Err("unexpected text after the rule".to_owned());
        }
        Ok(rule)
    }

    /// Evaluates with three values: `None` when the result depends on an attribute the
    /// sign-in does not carry (Kleene logic: `unknown -or true` is true, `unknown -and false`
    /// is false). Device filters use this so that missing facts never take a device out of a
    /// policy's scope.
    pub(crate) fn eval3<'a>(&self, get: &dyn Fn(&str) -> Option<Cow<'a, str>>) -> Option<bool> {
        match self {
            Rule::And(a, b) => match (a.eval3(get), b.eval3(get)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Rule::Or(a, b) => match (a.eval3(get), b.eval3(get)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Rule::Not(a) => a.eval3(get).map(|v| !v),
            Rule::Cmp { attribute, .. } => {
                get(attribute)?;
                Some(self.eval(get))
            }
        }
    }

    /// Evaluates the rule; `get` returns an attribute's value (lowercased) by its lowercased
    /// name (`device.iscompliant`).
    pub(crate) fn eval<'a>(&self, get: &dyn Fn(&str) -> Option<Cow<'a, str>>) -> bool {
        match self {
            Rule::And(a, b) => a.eval(get) && b.eval(get),
            Rule::Or(a, b) => a.eval(get) || b.eval(get),
            Rule::Not(a) => !a.eval(get),
            Rule::Cmp {
                attribute,
                op,
                values,
            } => {
                let actual = get(attribute);
                let Some(actual) = actual else {
                    return matches!(
                        op,
                        Op::Ne | Op::NotStartsWith | Op::NotEndsWith | Op::NotContains | Op::NotIn
                    );
                };
                let actual: &str = &actual;
                let any = |f: &dyn Fn(&str) -> bool| values.iter().any(|v| f(v));
                match op {
                    Op::Eq | Op::In => any(&|v| actual == v),
                    Op::Ne | Op::NotIn => !any(&|v| actual == v),
                    Op::StartsWith => any(&|v| actual.starts_with(v)),
                    Op::NotStartsWith => !any(&|v| actual.starts_with(v)),
                    Op::EndsWith => any(&|v| actual.ends_with(v)),
                    Op::NotEndsWith => !any(&|v| actual.ends_with(v)),
                    Op::Contains => any(&|v| actual.contains(v)),
                    Op::NotContains => !any(&|v| actual.contains(v)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str) -> Option<Cow<'static, str>> {
        match name {
            "device.iscompliant" => Some("false".into()),
            "device.trusttype" => Some("serverad".into()),
            "device.deviceownership" => Some("company".into()),
            _ => None,
        }
    }

    #[test]
    fn real_rules() {
        let r = Rule::parse(r#"device.isCompliant -eq True -or device.trustType -eq "ServerAD""#)
            .unwrap();
        assert!(r.eval(&get));
        let r =
            Rule::parse(r#"device.isCompliant -eq True -and device.deviceOwnership -eq "Company""#)
                .unwrap();
        assert!(!r.eval(&get));
        let r = Rule::parse(
            r#"(device.model -in ["a", "b"]) -or -not (device.deviceOwnership -ne 'company')"#,
        )
        .unwrap();
        assert!(r.eval(&get));
    }

    #[test]
    fn unknown_attributes_are_unknown_in_three_valued_logic() {
        let r = Rule::parse(r#"device.model -eq "x" -or device.isCompliant -eq False"#).unwrap();
        assert_eq!(r.eval3(&get), Some(true));
        let r = Rule::parse(r#"device.model -ne "x" -and device.isCompliant -eq True"#).unwrap();
        assert_eq!(r.eval3(&get), Some(false));
        let r = Rule::parse(r#"device.model -ne "x" -or device.isCompliant -eq True"#).unwrap();
        assert_eq!(r.eval3(&get), None);
        assert!(
            r.eval(&get),
            "two-valued: a missing attribute is not equal to anything"
        );
        let r = Rule::parse(r#"-not device.model -eq "x""#).unwrap();
        assert_eq!(r.eval3(&get), None);
    }

    #[test]
    fn bad_rules_are_errors() {
        assert!(Rule::parse("device.x -eq").is_err());
        assert!(Rule::parse("device.x -like \"a\"").is_err());
        assert!(Rule::parse("(device.x -eq \"a\"").is_err());
        assert!(Rule::parse("device.x -eq \"a").is_err());
        // Hostile sizes are refused rather than recursed into.
        let deep = format!("{}device.x -eq 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Rule::parse(&deep).is_err());
        let nots = format!("{}device.x -eq 1", "-not ".repeat(10_000));
        assert!(Rule::parse(&nots).is_err());
        let long = vec!["device.x -eq 1"; 10_000].join(" -or ");
        assert!(Rule::parse(&long).is_err());
        let ok = vec!["device.x -eq 1"; 200].join(" -and ");
        assert!(Rule::parse(&ok).is_ok());
    }
}
