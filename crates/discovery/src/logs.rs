//! Reading log files: the format of each file is recognised from its start (or given), and
//! every line or record is read as it streams, so memory does not grow with the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use trustplane_detect::{list_log_files, stream_records, Item, ReadLimits, GZIP_MAGIC};

use crate::discover::Discoverer;
use crate::error::DiscoveryError;
use crate::model::SourceSummary;
use crate::traffic::{parse_cef, parse_squid};

/// Longest text line read; longer lines are skipped whole and counted as unparsed.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most files one run reads.
pub const MAX_FILES: usize = 100_000;
/// Bytes looked at to recognise a format.
const SNIFF_BYTES: usize = 64 * 1024;

/// The log formats discovery reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// CloudTrail (and Azure activity) JSON: `{"Records":[...]}`, arrays, NDJSON, gzipped or
    /// not.
    CloudTrail,
    /// Squid's native `access.log`.
    Squid,
    /// ArcSight Common Event Format (firewalls, web gateways), optionally after a syslog
    /// header.
    Cef,
}

impl LogFormat {
    /// Every known format, by name.
    pub const KNOWN: &'static str =
        "cloudtrail (JSON, also Azure activity logs), squid (native access.log), cef";

    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::CloudTrail => "cloudtrail",
            LogFormat::Squid => "squid",
            LogFormat::Cef => "cef",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s {
            "cloudtrail" | "json" => Some(LogFormat::CloudTrail),
            "squid" => Some(LogFormat::Squid),
            "cef" => Some(LogFormat::Cef),
            _ => None,
        }
    }
}

/// Recognises the format of content starting with `head`; `None` when it is none of
/// [`LogFormat::KNOWN`]. Empty content is CloudTrail (it holds nothing either way).
pub fn sniff(head: &[u8]) -> Option<LogFormat> {
    if head.starts_with(&GZIP_MAGIC) {
        return Some(LogFormat::CloudTrail);
    }
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Some(LogFormat::CloudTrail),
        Some(b'{') | Some(b'[') => return Some(LogFormat::CloudTrail),
        _ => {}
    }
    let text = String::from_utf8_lossy(head);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .collect();
    if lines
        .iter()
        .any(|l| l.contains("CEF:") && parse_cef(l).is_ok())
    {
        return Some(LogFormat::Cef);
    }
    if lines.iter().any(|l| parse_squid(l).is_ok()) {
        return Some(LogFormat::Squid);
    }
    None
}

impl Discoverer {
    /// Reads log files and folders (walked in path order). Each file's format is recognised
    /// from its start unless `format` is given; a file in no known format refuses the run
    /// before anything is read. Unreadable lines are counted, never a stop.
    pub fn read_logs(
        &mut self,
        inputs: &[PathBuf],
        format: Option<LogFormat>,
    ) -> Result<(), DiscoveryError> {
        let mut files = Vec::new();
        for input in inputs {
            // One input at a time, so that an error names the input at fault.
            let found = list_log_files(std::slice::from_ref(input)).map_err(|e| match e {
                trustplane_detect::DetectError::Io { path, source } => DiscoveryError::Io {
                    path,
                    error: source,
                },
                other => DiscoveryError::Log {
                    path: input.clone(),
                    reason: other.to_string(),
                },
            })?;
            files.extend(found);
            if files.len() > MAX_FILES {
                break;
            }
        }
        if files.len() > MAX_FILES {
            return Err(DiscoveryError::TooLarge(format!(
                "{} log files; at most {MAX_FILES} are read in one run",
                files.len()
            )));
        }
        // Every file's format first, so that an unknown one refuses the run up front.
        let mut plan = Vec::with_capacity(files.len());
        for f in files {
            let fmt = match format {
                Some(f) => f,
                None => {
                    let head = read_head(&f)?;
                    sniff(&head).ok_or_else(|| DiscoveryError::UnknownFormat {
                        path: f.clone(),
                        known: LogFormat::KNOWN.into(),
                    })?
                }
            };
            plan.push((f, fmt));
        }
        for (f, fmt) in plan {
            let file = File::open(&f).map_err(|error| DiscoveryError::Io {
                path: f.clone(),
                error,
            })?;
            self.read_log(file, &f, fmt);
        }
        Ok(())
    }

    /// Reads one log from `reader` in `format`; `path` names it in the report.
    pub fn read_log<R: Read>(&mut self, reader: R, path: &Path, format: LogFormat) {
        let name = path.display().to_string();
        let before = self.unparsed.count;
        let read = match format {
            LogFormat::CloudTrail => self.read_cloud(reader, path, &name),
            LogFormat::Squid | LogFormat::Cef => self.read_lines(reader, &name, format),
        };
        self.sources.push(SourceSummary {
            path: name,
            format: format.as_str().into(),
            read,
            unparsed: self.unparsed.count - before,
        });
    }

    fn read_cloud<R: Read>(&mut self, reader: R, path: &Path, name: &str) -> u64 {
        let mut read = 0_u64;
        let mut sink = |item: Item| {
            read += 1;
            match item {
                Item::Record(r) => {
                    self.add_cloud_record(&r.original);
                }
                Item::Malformed(m) => {
                    self.unparsed(name, m.index.map(|i| i as u64), &m.reason, None);
                }
            }
        };
        let result = stream_records(reader, path, &ReadLimits::FILE, &mut sink);
        if let Err(e) = result {
            self.unparsed(name, None, &format!("reading stopped: {e}"), None);
        }
        read
    }

    fn read_lines<R: Read>(&mut self, reader: R, name: &str, format: LogFormat) -> u64 {
        let mut input = BufReader::with_capacity(64 * 1024, reader);
        let mut buf = Vec::with_capacity(1024);
        let mut n = 0_u64;
        loop {
            buf.clear();
            let line = match read_bounded_line(&mut input, &mut buf, MAX_LINE_BYTES) {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    self.unparsed(name, Some(n + 1), &format!("reading stopped: {e}"), None);
                    break;
                }
            };
            n += 1;
            if line == Line::TooLong {
                self.unparsed(
                    name,
                    Some(n),
                    &format!("line longer than {MAX_LINE_BYTES} bytes"),
                    None,
                );
                continue;
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                self.unparsed(name, Some(n), "not UTF-8", None);
                continue;
            };
            let text = text.trim_end_matches(['\r', '\n']);
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            let parsed = match format {
                LogFormat::Cef => parse_cef(text),
                _ => parse_squid(text),
            };
            match parsed {
                Ok(e) => self.add_traffic(&e),
                Err(reason) => self.unparsed(name, Some(n), &reason, Some(text)),
            }
        }
        n
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Ok,
    TooLong,
}

/// Reads one line into `buf` (at most `max` bytes kept; a longer line is consumed whole and
/// reported as [`Line::TooLong`]). `None` at the end.
fn read_bounded_line<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<Line>> {
    let mut any = false;
    let mut too_long = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(if too_long { Line::TooLong } else { Line::Ok }));
        }
        any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > max + 1 {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(take);
        if done {
            return Ok(Some(if too_long { Line::TooLong } else { Line::Ok }));
        }
    }
}

fn read_head(path: &Path) -> Result<Vec<u8>, DiscoveryError> {
    let file = File::open(path).map_err(|error| DiscoveryError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|error| DiscoveryError::Io {
            path: path.to_path_buf(),
            error,
        })?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_are_recognised() {
        assert_eq!(sniff(b"  {\"Records\":[]}"), Some(LogFormat::CloudTrail));
        assert_eq!(sniff(&[0x1f, 0x8b, 0]), Some(LogFormat::CloudTrail));
        assert_eq!(
            sniff(b"1700000000.1 5 10.0.0.1 TCP_MISS/200 10 GET http://a.b/ - DIRECT/x -\n"),
            Some(LogFormat::Squid)
        );
        assert_eq!(
            sniff(b"Dec 1 fw CEF:0|a|b|c|d|e|1|dhost=a.b\n"),
            Some(LogFormat::Cef)
        );
        assert_eq!(sniff(b"date,time,src,dst\n1,2,3,4\n"), None);
        assert_eq!(sniff(b"\xff\xfe garbage"), None);
    }

    #[test]
    fn long_lines_are_skipped_whole() {
        let mut data = b"short\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100));
        data.extend(b"\nlast");
        let mut r = std::io::BufReader::with_capacity(8, &data[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            Some(Line::Ok)
        );
        assert_eq!(buf, b"short\n");
        buf.clear();
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            Some(Line::TooLong)
        );
        buf.clear();
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            Some(Line::Ok)
        );
        assert_eq!(buf, b"last");
        buf.clear();
        assert_eq!(read_bounded_line(&mut r, &mut buf, 10).unwrap(), None);
    }
}
