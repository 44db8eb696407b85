//! Typed errors. Every variant names the file it is about.

use std::path::PathBuf;

/// Loading or saving an inventory failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// The file or directory could not be read or written.
    #[error("cannot access inventory `{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid JSON or a document does not have the inventory shape.
    #[error("malformed inventory file `{}` (line {line}): {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line for NDJSON files and JSON syntax errors, 0 when unknown.
        line: usize,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A document parsed but is not usable (an empty id, a collection error without types).
    #[error("invalid inventory document in `{}` (line {line}): {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line for NDJSON files, 0 otherwise.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds no inventory documents: no `*.json`, `*.ndjson` or `*.jsonl` file,
    /// or only empty ones. Assessing it would report a clean result for nothing.
    #[error("no inventory documents in `{}`: {reason}", path.display())]
    Empty {
        /// The directory.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
}

/// Loading a benchmark definition failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchmarkError {
    /// The file could not be read.
    #[error("cannot read benchmark `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a benchmark in the expected JSON shape.
    #[error("malformed benchmark `{}`: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The provider is neither AWS nor Azure.
    #[error("benchmark `{}` has unsupported provider `{provider}`", path.display())]
    Provider {
        /// The file.
        path: PathBuf,
        /// The provider string found.
        provider: String,
    },
}
