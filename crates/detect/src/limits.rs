//! Bounds on reading log data from outside: how far gzip may inflate and how many records one
//! object may hold. Every reader of outside log data (files, S3 objects, API pushes) goes
//! through these helpers, so a small compressed object cannot grow into gigabytes in memory.
//!
//! Nesting depth needs no bound here: records are parsed with `serde_json`, whose recursion
//! limit (128 levels) refuses deeper documents with an error.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How much one object of log data may hold once inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadLimits {
    /// Bytes after gunzipping (or as read, when not gzipped).
    pub max_inflated_bytes: u64,
    /// Records (array items, envelope items, NDJSON lines).
    pub max_records: usize,
    /// Bytes of one record (one NDJSON line, one item of an envelope or array): the most
    /// that is ever held in memory at once, whatever the size of the object.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: u64,
}

fn default_max_record_bytes() -> u64 {
    ReadLimits::OBJECT.max_record_bytes
}

impl ReadLimits {
    /// For one stored object (an S3 object, a file). CloudTrail writes objects of a few
    /// megabytes; this leaves room for large exports while one object cannot exhaust memory.
    pub const OBJECT: ReadLimits = ReadLimits {
        max_inflated_bytes: 1024 * 1024 * 1024,
        max_records: 2_000_000,
        max_record_bytes: 16 * 1024 * 1024,
    };

    /// For one push to the ingest API, parsed while the request waits.
    pub const PUSH: ReadLimits = ReadLimits {
        max_inflated_bytes: 64 * 1024 * 1024,
        max_records: 200_000,
        max_record_bytes: 4 * 1024 * 1024,
    };

    /// For local files named by the person running `trustplane detect`: read as they stream,
    /// so memory is bounded by the record limit alone, whatever the size of the file.
    pub const FILE: ReadLimits = ReadLimits {
        max_inflated_bytes: u64::MAX,
        max_records: usize::MAX,
        max_record_bytes: 16 * 1024 * 1024,
    };
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits::OBJECT
    }
}

/// Why an object of log data was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// It inflates (or is) larger than allowed.
    #[error("the data is larger than {max} bytes once decompressed")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// It holds more records than allowed.
    #[error("the data holds more than {max} records")]
    TooManyRecords {
        /// The limit.
        max: usize,
    },
    /// One record (an NDJSON line, an item of a document) is larger than allowed.
    #[error("a record is larger than {max} bytes")]
    RecordTooLarge {
        /// The limit.
        max: u64,
    },
    /// The gzip stream is damaged.
    #[error("bad gzip data: {0}")]
    BadGzip(String),
    /// The source could not be read.
    #[error("cannot read: {0}")]
    Io(String),
}

impl ReadError {
    /// Whether a limit refused the data (reading it again would be refused again).
    pub fn is_over_limit(&self) -> bool {
        matches!(
            self,
            ReadError::TooLarge { .. }
                | ReadError::TooManyRecords { .. }
                | ReadError::RecordTooLarge { .. }
        )
    }
}

/// Reads all of `reader`, refusing more than `max` bytes: never more than `max + 1` bytes are
/// taken from it, so a reader that inflates stops there.
pub fn read_bounded<R: Read>(reader: R, max: u64) -> Result<Vec<u8>, ReadError> {
    read_capped(reader, max, |e| ReadError::Io(e.to_string()))
}

fn read_capped<R: Read>(
    reader: R,
    max: u64,
    on_error: impl Fn(std::io::Error) -> ReadError,
) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(on_error)?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > max {
        return Err(ReadError::TooLarge { max });
    }
    Ok(out)
}

/// Reads `reader`, gunzipping every member as it streams when it starts with the gzip magic,
/// and refuses more than `max` bytes of output.
pub fn inflate_reader<R: Read>(reader: R, max: u64) -> Result<Vec<u8>, ReadError> {
    let mut reader = BufReader::new(reader);
    let head = reader
        .fill_buf()
        .map_err(|e| ReadError::Io(e.to_string()))?;
    if head.starts_with(&GZIP_MAGIC) {
        read_capped(flate2::read::MultiGzDecoder::new(reader), max, |e| {
            ReadError::BadGzip(e.to_string())
        })
    } else {
        read_bounded(reader, max)
    }
}

/// [`inflate_reader`] over bytes already in memory; plain bytes are returned as they are when
/// within `max`.
pub fn inflate_bounded(bytes: Vec<u8>, max: u64) -> Result<Vec<u8>, ReadError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        inflate_reader(bytes.as_slice(), max)
    } else if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        Err(ReadError::TooLarge { max })
    } else {
        Ok(bytes)
    }
}

/// Inflates (when gzipped) and splits one object of log data into records within `limits`.
/// `name` is recorded as the records' origin. The records are collected: use
/// [`crate::stream_records`] to hand them over one at a time instead.
pub fn decode_limited(
    bytes: Vec<u8>,
    name: &Path,
    limits: &ReadLimits,
) -> Result<crate::FileRecords, ReadError> {
    collect(bytes.as_slice(), name, limits)
}

/// Reads one file within `limits`, inflating it as it streams from disk, and collects its
/// records (see [`crate::stream_records`] to hand them over one at a time instead).
pub fn read_file_limited(
    path: &Path,
    limits: &ReadLimits,
) -> Result<crate::FileRecords, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(e.to_string()))?;
    collect(file, path, limits)
}

fn collect<R: Read>(
    reader: R,
    name: &Path,
    limits: &ReadLimits,
) -> Result<crate::FileRecords, ReadError> {
    let mut out = crate::FileRecords::default();
    crate::stream::stream_records(reader, name, limits, &mut |item| match item {
        crate::Item::Record(r) => out.records.push(r),
        crate::Item::Malformed(m) => out.malformed.push(m),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn a_bomb_is_refused_at_the_cap_not_inflated_whole() {
        // 16 MiB of zeros compresses to about 16 KiB.
        let bomb = gzip(&vec![0_u8; 16 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024);
        let err = inflate_bounded(bomb.clone(), 1024 * 1024).unwrap_err();
        assert_eq!(err, ReadError::TooLarge { max: 1024 * 1024 });
        assert!(err.is_over_limit());
        let err = decode_limited(
            bomb,
            Path::new("bomb.json.gz"),
            &ReadLimits {
                max_inflated_bytes: 1024 * 1024,
                max_records: 10,
                ..ReadLimits::PUSH
            },
        )
        .unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }));
    }

    #[test]
    fn within_the_caps_everything_is_read() {
        let data = b"{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n";
        assert_eq!(inflate_bounded(gzip(data), 100).unwrap(), data);
        // Exactly at the cap is allowed; one byte less is not.
        let n = data.len() as u64;
        assert!(inflate_bounded(gzip(data), n).is_ok());
        assert_eq!(
            inflate_bounded(gzip(data), n - 1),
            Err(ReadError::TooLarge { max: n - 1 })
        );
        assert_eq!(
            inflate_bounded(data.to_vec(), n - 1),
            Err(ReadError::TooLarge { max: n - 1 })
        );
        // Several gzip members are one stream.
        let mut two = gzip(b"{\"eventName\":\"A\"}\n");
        two.extend(gzip(b"{\"eventName\":\"B\"}\n"));
        let limits = ReadLimits {
            max_inflated_bytes: 1000,
            max_records: 2,
            ..ReadLimits::PUSH
        };
        let out = decode_limited(two, Path::new("t"), &limits).unwrap();
        assert_eq!(out.records.len(), 2);
    }

    #[test]
    fn too_many_records_are_refused_in_every_shape() {
        let a = r#"{"eventName":"A"}"#;
        let limits = ReadLimits {
            max_inflated_bytes: 1 << 20,
            max_records: 2,
            ..ReadLimits::PUSH
        };
        let shapes = [
            format!("[{a},{a},{a}]"),
            format!(r#"{{"Records":[{a},{a},{a}]}}"#),
            format!("{a}\n{a}\n{a}\n"),
            format!("{{\"Records\":[{a},{a}]}}\n{{\"Records\":[{a}]}}"),
            // Malformed lines count too: they cost as much to look at.
            format!("{a}\nx\ny\n"),
        ];
        for shape in shapes {
            let err = decode_limited(shape.clone().into_bytes(), Path::new("t"), &limits);
            assert_eq!(
                err.unwrap_err(),
                ReadError::TooManyRecords { max: 2 },
                "{shape}"
            );
        }
        let ok = decode_limited(format!("[{a},{a}]").into_bytes(), Path::new("t"), &limits);
        assert_eq!(ok.unwrap().records.len(), 2);
    }

    #[test]
    fn damaged_gzip_is_its_own_error() {
        let mut bad = gzip(b"{\"eventName\":\"A\"}");
        bad.truncate(bad.len() / 2);
        assert!(matches!(
            inflate_bounded(bad, 1000),
            Err(ReadError::BadGzip(_))
        ));
    }
}
