//! Typed errors of the detection engine.

use std::path::PathBuf;

/// An error that stops a whole operation (as opposed to one bad rule or record, which is
/// reported and skipped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// A file or folder could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A built-in or configured processing pipeline is invalid.
    #[error("invalid pipeline `{name}`: {reason}")]
    Pipeline {
        /// Pipeline name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
}
