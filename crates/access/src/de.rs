//! Lenient (de)serialisation helpers for the shapes real Graph exports take.
//!
//! Exports from PowerShell, the portal and hand-edited repositories disagree on small things:
//! `null` where a collection is expected, `[]` where an object is expected, a single string
//! where a collection is expected, and flag enums written either as `"a,b"` or as `["a","b"]`.
//! These helpers accept all of those and map them to one typed value, so a policy that Entra
//! accepted also loads here.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Extra properties of an object that this crate does not model (including `@odata.*`
/// annotations), kept so that they survive a round trip.
pub type Extra = std::collections::BTreeMap<String, Value>;

/// Marks a nested error so that the outer error can prepend its path: `\0path\0message`.
const MARK: char = '\u{0}';

/// Deserialises a nested value, keeping the path inside it in the error text.
pub(crate) fn nested<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let (inner_path, message) = split_marked(&e.inner().to_string());
        let mut path = e.path().to_string();
        if path == "." {
            path.clear();
        }
        if !inner_path.is_empty() {
            if !path.is_empty() && !inner_path.starts_with('[') {
                path.push('.');
            }
            path.push_str(&inner_path);
        }
        format!("{MARK}{path}{MARK}{message}")
    })
}

/// Splits a marked error into (path inside, message); unmarked text has an empty path.
pub(crate) fn split_marked(text: &str) -> (String, String) {
    if let Some(rest) = text.strip_prefix(MARK) {
        if let Some((path, message)) = rest.split_once(MARK) {
            return (path.to_owned(), message.to_owned());
        }
    }
    (String::new(), text.to_owned())
}

/// A collection: `null` or absent is empty; a lone string or object is one element.
pub(crate) fn seq<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                nested(v).map_err(|e| {
                    let (path, message) = split_marked(&e);
                    let sep = if path.is_empty() || path.starts_with('[') {
                        ""
                    } else {
                        "."
                    };
                    D::Error::custom(format!("{MARK}[{i}]{sep}{path}{MARK}{message}"))
                })
            })
            .collect(),
        other => nested(other).map(|one| vec![one]).map_err(D::Error::custom),
    }
}

/// An optional object: `null`, absent or an empty array (seen in real exports for
/// `locations`) is `None`.
pub(crate) fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(items) if items.is_empty() => Ok(None),
        v @ Value::Object(_) => nested(v).map(Some).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "expected an object, found {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A Graph flags enum: written as `"a,b"` by Graph, accepted as an array too; serialised as
/// Graph writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlagSet<T>(pub Vec<T>);

impl<T> FlagSet<T> {
    /// The flags, in the order they were written.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// True when no flag is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: std::str::FromStr> FlagSet<T> {
    fn parse(text: &str) -> Result<Self, T::Err> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(FlagSet)
    }
}

impl<T: std::fmt::Display> Serialize for FlagSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<String> = self.0.iter().map(|v| v.to_string()).collect();
        s.serialize_str(&text.join(","))
    }
}

impl<'de, T> Deserialize<'de> for FlagSet<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(FlagSet(Vec::new())),
            Value::String(s) => FlagSet::parse(&s).map_err(D::Error::custom),
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => {
                            out.extend(FlagSet::<T>::parse(&s).map_err(D::Error::custom)?.0)
                        }
                        other => {
                            return Err(D::Error::custom(format!(
                                "expected a string flag, found {}",
                                kind_of(&other)
                            )))
                        }
                    }
                }
                Ok(FlagSet(out))
            }
            other => Err(D::Error::custom(format!(
                "expected a comma-separated string, found {}",
                kind_of(&other)
            ))),
        }
    }
}

/// Defines a Graph string enum: values match without regard to case, serialise in Graph's
/// spelling, and unknown values are kept in `Other` rather than failing the parse (validation
/// reports them where they matter).
macro_rules! graph_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Graph's spelling of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }

            /// Parses without regard to case; unknown values become `Other`.
            pub fn parse(text: &str) -> Self {
                let text = text.trim();
                $(if text.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })+
                Self::Other(text.to_owned())
            }

            /// True for values this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

pub(crate) use graph_enum;
