//! Typed errors of discovery.

use std::path::PathBuf;

/// Why discovery could not run (bad lines are counted, never errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (in the message, not chained, so that it is shown once).
        error: std::io::Error,
    },
    /// A log file is in none of the known formats.
    #[error("{path}: unknown log format; known formats: {known}")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The formats that are known, comma separated.
        known: String,
    },
    /// A catalogue file could not be used.
    #[error("catalogue {path}: {reason}")]
    Catalog {
        /// The file (or `builtin`).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An input over a bound (files, apps).
    #[error("{0}")]
    TooLarge(String),
    /// A CloudTrail or Azure log object could not be read to its end.
    #[error("{path}: {reason}")]
    Log {
        /// The file.
        path: PathBuf,
        /// What stopped the reading.
        reason: String,
    },
}
