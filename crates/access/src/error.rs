//! Typed errors. Messages are lowercase; user input appears in backticks.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while loading, validating or compiling policies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A document is not valid JSON or not the expected shape.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// One or more policies or named locations break Graph's rules.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Several files failed; each error names its file.
    #[error("{} file(s) failed: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Files(Vec<Error>),
    /// The country database could not be opened.
    #[error("cannot open country database `{path}`: {message}")]
    CountryDatabase {
        /// The database file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The what-if input is not usable.
    #[error("invalid what-if input: {0}")]
    Input(String),
}

/// A document that could not be read as the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}invalid {kind} at `{field}`: {message}", origin.as_deref().map(|o| format!("{o}: ")).unwrap_or_default())]
pub struct ParseError {
    origin: Option<String>,
    kind: &'static str,
    field: String,
    message: String,
}

impl ParseError {
    pub(crate) fn new(kind: &'static str, field: String, message: String) -> Self {
        Self {
            origin: None,
            kind,
            field,
            message,
        }
    }

    /// Names where the document came from (usually a file path).
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The JSON path of the offending field (`.` when the whole document is wrong).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// One broken rule, naming the object and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    object: String,
    field: String,
    message: String,
}

impl ValidationError {
    pub(crate) fn new(object: &str, field: &str, message: impl Into<String>) -> Self {
        Self {
            object: object.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The policy or named location (id or display name).
    pub fn object(&self) -> &str {
        &self.object
    }

    /// The Graph field path, e.g. `grantControls.builtInControls`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: `{}`: {}", self.object, self.field, self.message)
    }
}

/// Every broken rule found, reported at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub(crate) Vec<ValidationError>);

impl ValidationErrors {
    /// The individual errors.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validation error(s)", self.0.len())?;
        for e in &self.0 {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

/// Parses JSON text into `T`, naming the offending field on failure. Duplicate keys keep the
/// last value (as Graph and most JSON readers do) because the text is read as a `Value` first.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    text: &str,
) -> Result<T, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(kind, ".".to_owned(), e.to_string()))?;
    from_value(kind, value)
}

/// Converts a JSON value into `T`, naming the offending field on failure.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    value: serde_json::Value,
) -> Result<T, ParseError> {
    crate::de::nested(value).map_err(|e| {
        let (field, message) = crate::de::split_marked(&e);
        let field = if field.is_empty() {
            ".".to_owned()
        } else {
            field
        };
        ParseError::new(kind, field, with_suggestion(message))
    })
}

/// Shortens serde's "unknown field `x`, expected one of `a`, `b`, ..." to the field and the
/// closest expected name, which is what a person who misspelt it needs.
fn with_suggestion(message: String) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message;
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message;
    };
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest(unknown, &names) {
        Some(name) => format!("unknown field `{unknown}`; did you mean `{name}`?"),
        None => format!("unknown field `{unknown}`"),
    }
}

/// The name nearest to `word` (case ignored), if it is near enough to be a likely typo: one
/// contains the other, or few edits apart.
fn closest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let score = |name: &str| {
        let name = name.to_ascii_lowercase();
        if word.contains(&name) || name.contains(&word) {
            0
        } else {
            edit_distance(&word, &name)
        }
    };
    names
        .iter()
        .map(|n| (score(n), *n))
        .filter(|(d, _)| *d <= word.len().max(3) / 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance over bytes (field names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
