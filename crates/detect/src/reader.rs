//! Reading log files and folders: CloudTrail S3 objects (`{"Records":[...]}`), Azure exports
//! (`{"records":[...]}`), JSON arrays and NDJSON, each possibly gzipped.
//!
//! A record that cannot be parsed is counted with its place and reason; reading goes on.

use std::path::{Path, PathBuf};

use crate::error::DetectError;
use crate::limits::{decode_limited, read_file_limited, ReadError, ReadLimits};
use crate::record::Record;
use serde::Serialize;

/// A record (or a whole file) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MalformedRecord {
    /// The file.
    pub path: PathBuf,
    /// Record index or NDJSON line (0-based); `None` when the whole file is unreadable.
    pub index: Option<usize>,
    /// Why.
    pub reason: String,
}

/// What one file yielded.
#[derive(Debug, Default)]
pub struct FileRecords {
    /// Records read, in file order.
    pub records: Vec<Record>,
    /// Records that could not be read.
    pub malformed: Vec<MalformedRecord>,
}

/// Extensions read when walking a folder; files named directly are always read.
const LOG_EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "gz", "log", "txt"];

/// Lists the log files under `inputs` (files as given, folders walked in path order).
pub fn list_log_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, DetectError> {
    let mut out = Vec::new();
    for input in inputs {
        walk(input, true, &mut out)?;
    }
    Ok(out)
}

fn walk(path: &Path, top: bool, out: &mut Vec<PathBuf>) -> Result<(), DetectError> {
    let io = |source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        let wanted = top
            || path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| LOG_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if wanted {
            out.push(path.to_path_buf());
        }
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        walk(&entry, false, out)?;
    }
    Ok(())
}

/// Reads one file within [`ReadLimits::OBJECT`]. I/O problems, undecodable content and a
/// file over the limits are reported as one malformed entry for the file rather than as an
/// error, so a hunt over many files always finishes.
pub fn read_file(path: &Path) -> FileRecords {
    read_file_limited(path, &ReadLimits::OBJECT).unwrap_or_else(|e| whole_object(path, e))
}

/// Reads the content of one log object (a file, an S3 object) within [`ReadLimits::OBJECT`]:
/// gunzipped when it starts with the gzip magic bytes, then split into records by
/// [`parse_bytes`]. Undecodable gzip data or an object over the limits is one malformed entry
/// for the whole object. `name` is recorded as the records' origin.
pub fn decode_bytes(bytes: Vec<u8>, name: &Path) -> FileRecords {
    decode_limited(bytes, name, &ReadLimits::OBJECT).unwrap_or_else(|e| whole_object(name, e))
}

fn whole_object(path: &Path, e: ReadError) -> FileRecords {
    FileRecords {
        records: Vec::new(),
        malformed: vec![MalformedRecord {
            path: path.to_path_buf(),
            index: None,
            reason: e.to_string(),
        }],
    }
}

/// Splits decoded file content into records (see the module docs for the shapes). The caller
/// bounds the size of `bytes`; [`decode_limited`] also bounds the number of records.
pub fn parse_bytes(bytes: &[u8], path: &Path) -> FileRecords {
    parse_limited(bytes, path, usize::MAX).unwrap_or_else(|e| whole_object(path, e))
}

/// [`parse_bytes`], refusing content with more than `max_records` items (records and
/// malformed entries alike: each costs as much to look at).
pub(crate) fn parse_limited(
    bytes: &[u8],
    path: &Path,
    max_records: usize,
) -> Result<FileRecords, ReadError> {
    let limits = ReadLimits {
        max_records,
        ..ReadLimits::FILE
    };
    let mut out = FileRecords::default();
    crate::stream::stream_bytes(bytes, path, &limits, &mut |item| match item {
        crate::stream::Item::Record(r) => out.records.push(r),
        crate::stream::Item::Malformed(m) => out.malformed.push(m),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(bytes: &[u8]) -> (Vec<String>, usize) {
        let out = parse_bytes(bytes, Path::new("t"));
        let names = out
            .records
            .iter()
            .map(|r| {
                r.original["eventName"]
                    .as_str()
                    .or(r.original["operationName"].as_str())
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        (names, out.malformed.len())
    }

    #[test]
    fn every_shape() {
        let a = r#"{"eventSource":"s","eventName":"A"}"#;
        let b = r#"{"eventSource":"s","eventName":"B"}"#;
        let both = (vec!["A".to_string(), "B".to_string()], 0);
        assert_eq!(
            actions(format!(r#"{{"Records":[{a},{b}]}}"#).as_bytes()),
            both
        );
        assert_eq!(actions(format!("[{a},{b}]").as_bytes()), both);
        assert_eq!(actions(format!("{a}\n{b}\n").as_bytes()), both);
        assert_eq!(actions(format!("\r\n  {a}\r\n\r\n{b}").as_bytes()), both);
        // NDJSON of envelopes (one S3 object per line).
        assert_eq!(
            actions(format!("{{\"Records\":[{a}]}}\n{{\"Records\":[{b}]}}").as_bytes()),
            both
        );
        // Azure export envelope.
        assert_eq!(
            actions(br#"{"records":[{"operationName":"X","category":"AuditLogs"}]}"#),
            (vec!["X".to_string()], 0)
        );
        assert_eq!(actions(a.as_bytes()), (vec!["A".to_string()], 0));
        assert_eq!(actions(b""), (vec![], 0));
        assert_eq!(actions(b"[1, \"x\"]"), (vec![], 2));
        assert_eq!(actions(format!("{a}\nnot json\n{b}").as_bytes()).1, 1);
    }
}
