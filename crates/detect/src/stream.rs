//! Streaming reader of log data: records are parsed one at a time from any [`Read`] and handed
//! to a sink, so memory stays bounded whatever the size of the file or object.
//!
//! - Gzip (one or several members) is inflated as it streams.
//! - NDJSON is read line by line; a line longer than [`ReadLimits::max_record_bytes`] is
//!   skipped whole (never buffered) and reported as malformed.
//! - One JSON document (a CloudTrail `{"Records":[...]}` envelope, an Azure
//!   `{"records":[...]}` export, an array, a single pretty-printed record) is walked with a
//!   `serde` visitor that hands over each item of the envelope or array as soon as it is
//!   parsed; a single item larger than `max_record_bytes` stops the object with
//!   [`ReadError::RecordTooLarge`].
//!
//! Which of the two it is: content starting with `[` or `{"Records": [` is a document;
//! other content starting with `{` is NDJSON when its first line is a complete JSON value
//! other than an envelope, else a document (a record over several lines, one line too long
//! for a record).

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::limits::{ReadError, ReadLimits, GZIP_MAGIC};
use crate::reader::MalformedRecord;
use crate::record::{Record, RecordOrigin};

/// One item read from log data.
// Items are handed to the sink one at a time, never stored side by side: boxing the record
// would only add an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Item {
    /// A record, ready for matching.
    Record(Record),
    /// A record (or line) that could not be read; reading went on.
    Malformed(MalformedRecord),
}

/// Read-ahead of the buffered readers: the most bytes held beyond the record being parsed.
const CHUNK: usize = 64 * 1024;

/// Counts the (inflated) bytes read: refuses more than the object's limit and, while a record
/// of a document is being parsed, more than the record limit.
struct Meter<R> {
    inner: R,
    state: Rc<MeterState>,
    max_total: u64,
    max_record: u64,
}

struct MeterState {
    total: Cell<u64>,
    /// `Some(total)` when the current document item began; `None` in line mode.
    record_start: Cell<Option<u64>>,
}

impl<R: Read> Read for Meter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self
            .state
            .total
            .get()
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        self.state.total.set(total);
        if total > self.max_total {
            return Err(io::Error::other(ReadError::TooLarge {
                max: self.max_total,
            }));
        }
        if let Some(start) = self.state.record_start.get() {
            // Up to one buffer of read-ahead may belong to the next record, so a record is
            // refused only once it is certainly over the limit.
            let slack = u64::try_from(2 * CHUNK).unwrap_or(u64::MAX);
            if total.saturating_sub(start) > self.max_record.saturating_add(slack) {
                return Err(io::Error::other(ReadError::RecordTooLarge {
                    max: self.max_record,
                }));
            }
        }
        Ok(n)
    }
}

/// Reads the records of one file or object from `reader` within `limits`, handing each to
/// `sink` as soon as it is parsed (see the module docs). `name` is recorded as the records'
/// origin.
///
/// Returns an error when the data cannot be read further (over a limit, damaged gzip, a
/// document that stops being JSON is reported as one malformed entry instead); the items
/// handed over before it stay handed over.
pub fn stream_records<R: Read>(
    mut reader: R,
    name: &Path,
    limits: &ReadLimits,
    sink: &mut dyn FnMut(Item),
) -> Result<(), ReadError> {
    // The gzip magic, read without relying on one `read` returning both bytes.
    let mut magic = [0_u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match reader.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    }
    let head = io::Cursor::new(magic).take(u64::try_from(got).unwrap_or(0));
    let source = head.chain(reader);
    if got == 2 && magic == GZIP_MAGIC {
        let gz = flate2::read::MultiGzDecoder::new(source);
        stream_plain(gz, true, name, limits, sink)
    } else {
        stream_plain(source, false, name, limits, sink)
    }
}

/// [`stream_records`] over bytes already in memory.
pub fn stream_bytes(
    bytes: &[u8],
    name: &Path,
    limits: &ReadLimits,
    sink: &mut dyn FnMut(Item),
) -> Result<(), ReadError> {
    stream_records(bytes, name, limits, sink)
}

struct Ctx<'a> {
    name: &'a Path,
    sink: &'a mut dyn FnMut(Item),
    seen: usize,
    max_records: usize,
    state: Rc<MeterState>,
    /// A limit hit inside the visitor (serde errors carry only text).
    stop: Option<ReadError>,
}

impl Ctx<'_> {
    fn count(&mut self) -> Result<(), ReadError> {
        self.seen = self.seen.saturating_add(1);
        if self.seen > self.max_records {
            return Err(ReadError::TooManyRecords {
                max: self.max_records,
            });
        }
        Ok(())
    }

    fn malformed(&mut self, index: Option<usize>, reason: String) {
        (self.sink)(Item::Malformed(MalformedRecord {
            path: self.name.to_path_buf(),
            index,
            reason,
        }));
    }

    fn emit(&mut self, value: Value, index: usize, not_object: &str) -> Result<(), ReadError> {
        self.count()?;
        if value.is_object() {
            let origin = RecordOrigin {
                path: self.name.to_path_buf(),
                index,
            };
            (self.sink)(Item::Record(Record::from_json(value, origin)));
        } else {
            self.malformed(Some(index), not_object.to_string());
        }
        Ok(())
    }

    /// For the visitor: emits, turning a limit into a serde error (kept in `stop`).
    fn emit_de<E: de::Error>(&mut self, value: Value, index: usize) -> Result<(), E> {
        self.emit(value, index, "record is not a JSON object")
            .map_err(|e| {
                let text = e.to_string();
                self.stop = Some(e);
                E::custom(text)
            })
    }

    fn begin_record(&self) {
        self.state.record_start.set(Some(self.state.total.get()));
    }
}

fn map_io(e: io::Error, gz: bool) -> ReadError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ReadError>()) {
        return inner.clone();
    }
    if gz {
        ReadError::BadGzip(e.to_string())
    } else {
        ReadError::Io(e.to_string())
    }
}

fn stream_plain<R: Read>(
    reader: R,
    gz: bool,
    name: &Path,
    limits: &ReadLimits,
    sink: &mut dyn FnMut(Item),
) -> Result<(), ReadError> {
    let state = Rc::new(MeterState {
        total: Cell::new(0),
        record_start: Cell::new(None),
    });
    let meter = Meter {
        inner: reader,
        state: Rc::clone(&state),
        max_total: limits.max_inflated_bytes,
        max_record: limits.max_record_bytes,
    };
    let mut input = BufReader::with_capacity(CHUNK, meter);
    let max_line = usize::try_from(limits.max_record_bytes).unwrap_or(usize::MAX);
    let mut ctx = Ctx {
        name,
        sink,
        seen: 0,
        max_records: limits.max_records,
        state,
        stop: None,
    };
    // Leading whitespace, counting lines so that NDJSON indexes stay line numbers.
    let mut line_index = 0_usize;
    let first = loop {
        let buf = input.fill_buf().map_err(|e| map_io(e, gz))?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                line_index += buf[..i].iter().filter(|b| **b == b'\n').count();
                let first = buf[i];
                input.consume(i);
                break first;
            }
            None => {
                let n = buf.len();
                line_index += buf.iter().filter(|b| **b == b'\n').count();
                input.consume(n);
            }
        }
    };
    let mut line = Vec::new();
    match first {
        b'[' => return document(input, gz, &mut ctx),
        b'{' if starts_envelope(input.buffer()) => return document(input, gz, &mut ctx),
        b'{' => {
            let kind =
                next_line(&mut input, &mut line, max_line, true).map_err(|e| map_io(e, gz))?;
            // NDJSON when the first line is one complete record (or not JSON at all).
            let ndjson = kind != Line::TooLong
                && match serde_json::from_slice::<Value>(line.trim_ascii()) {
                    Ok(Value::Object(map)) => !ENVELOPE_KEYS
                        .iter()
                        .any(|k| matches!(map.get(*k), Some(Value::Array(_)))),
                    Ok(_) => true,
                    Err(e) => !e.is_eof(),
                };
            if !ndjson {
                // A document spanning lines, one line longer than a record may be, or an
                // envelope: its items are numbered within it.
                let head = io::Cursor::new(std::mem::take(&mut line));
                return document(head.chain(input), gz, &mut ctx);
            }
            ndjson_line(&line, line_index, &mut ctx)?;
            line_index += 1;
        }
        _ => {}
    }
    loop {
        // A line wholly in the read-ahead is parsed where it is, without a copy.
        let avail = input.fill_buf().map_err(|e| map_io(e, gz))?;
        if let Some(end) = memchr::memchr(b'\n', avail).filter(|end| *end <= max_line) {
            ndjson_line(&avail[..end], line_index, &mut ctx)?;
            input.consume(end + 1);
            line_index += 1;
            continue;
        }
        match next_line(&mut input, &mut line, max_line, false).map_err(|e| map_io(e, gz))? {
            Line::Eof => return Ok(()),
            Line::Complete => ndjson_line(&line, line_index, &mut ctx)?,
            Line::TooLong => {
                ctx.count()?;
                ctx.malformed(
                    Some(line_index),
                    format!("line longer than {} bytes", limits.max_record_bytes),
                );
            }
        }
        line_index += 1;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Eof,
    Complete,
    TooLong,
}

/// Reads one line (without its `\n`) into `buf`, holding at most `cap` bytes of it. A longer
/// line is skipped to its end without being held, unless `keep` is set: then reading stops at
/// the cap with what was read left in `buf`.
fn next_line<B: BufRead>(
    input: &mut B,
    buf: &mut Vec<u8>,
    cap: usize,
    keep: bool,
) -> io::Result<Line> {
    buf.clear();
    let mut any = false;
    let mut too_long = false;
    loop {
        let avail = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(match (any, too_long) {
                (_, true) => Line::TooLong,
                (true, false) => Line::Complete,
                (false, false) => Line::Eof,
            });
        }
        any = true;
        let end = memchr::memchr(b'\n', avail);
        let part = &avail[..end.unwrap_or(avail.len())];
        if !too_long {
            if buf.len().saturating_add(part.len()) > cap {
                too_long = true;
                if keep {
                    buf.extend_from_slice(part);
                    let n = part.len();
                    input.consume(n);
                    return Ok(Line::TooLong);
                }
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        match end {
            Some(i) => {
                input.consume(i + 1);
                return Ok(if too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                });
            }
            None => {
                let n = avail.len();
                input.consume(n);
            }
        }
    }
}

/// One NDJSON line: a record, or a CloudTrail / Azure envelope (one object per line).
fn ndjson_line(line: &[u8], index: usize, ctx: &mut Ctx<'_>) -> Result<(), ReadError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Ok(());
    }
    // One UTF-8 check of the whole line is cheaper than one per string, which is what
    // `from_slice` does.
    let parsed = match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str::<Value>(text),
        Err(_) => {
            ctx.count()?;
            ctx.malformed(Some(index), "invalid JSON: the line is not UTF-8".into());
            return Ok(());
        }
    };
    match parsed {
        Ok(Value::Object(mut map)) => match take_envelope(&mut map) {
            Some(items) => {
                for item in items {
                    ctx.emit(item, index, "record is not a JSON object")?;
                }
                Ok(())
            }
            None => ctx.emit(Value::Object(map), index, ""),
        },
        Ok(_) => {
            ctx.count()?;
            ctx.malformed(Some(index), "line is not a JSON object".into());
            Ok(())
        }
        Err(e) => {
            ctx.count()?;
            ctx.malformed(Some(index), format!("invalid JSON: {e}"));
            Ok(())
        }
    }
}

/// `{"Records": [...]}` (CloudTrail) or `{"records": [...]}` (Azure diagnostic export).
fn take_envelope(map: &mut serde_json::Map<String, Value>) -> Option<Vec<Value>> {
    for key in ENVELOPE_KEYS {
        if matches!(map.get(key), Some(Value::Array(_))) {
            if let Some(Value::Array(items)) = map.remove(key) {
                return Some(items);
            }
        }
    }
    None
}

const ENVELOPE_KEYS: [&str; 2] = ["Records", "records"];

/// Whether `buf` starts as an envelope does: `{"Records": [` (CloudTrail writes that key
/// first) or `{"records": [`, whitespace allowed. Such a document is streamed item by item at
/// once instead of being looked at line by line.
fn starts_envelope(buf: &[u8]) -> bool {
    fn skip_ws(b: &[u8]) -> &[u8] {
        let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
        &b[n..]
    }
    let Some(rest) = buf.strip_prefix(b"{") else {
        return false;
    };
    let rest = skip_ws(rest);
    let Some(rest) = ENVELOPE_KEYS.iter().find_map(|k| {
        rest.strip_prefix(b"\"")
            .and_then(|r| r.strip_prefix(k.as_bytes()))
            .and_then(|r| r.strip_prefix(b"\""))
    }) else {
        return false;
    };
    let Some(rest) = skip_ws(rest).strip_prefix(b":") else {
        return false;
    };
    skip_ws(rest).starts_with(b"[")
}

/// One or more whitespace-separated JSON documents, walked item by item.
fn document<R: Read>(input: R, gz: bool, ctx: &mut Ctx<'_>) -> Result<(), ReadError> {
    ctx.begin_record();
    let mut de = serde_json::Deserializer::from_reader(input);
    loop {
        let walked = Top { ctx: &mut *ctx }.deserialize(&mut de);
        let fail = match walked {
            Ok(()) => match de.end() {
                Ok(()) => return Ok(()),
                // Another document follows (concatenated envelopes).
                Err(e) if e.is_syntax() => {
                    ctx.begin_record();
                    continue;
                }
                Err(e) => e,
            },
            Err(e) => e,
        };
        if let Some(stop) = ctx.stop.take() {
            return Err(stop);
        }
        if fail.is_io() {
            return Err(map_io(fail.into(), gz));
        }
        // Damaged JSON: what came before it was handed over; the rest cannot be found.
        ctx.count()?;
        let index = ctx.seen.saturating_sub(1);
        ctx.malformed(Some(index), format!("invalid JSON: {fail}"));
        return Ok(());
    }
}

/// The top-level value of a document.
struct Top<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Streams the items of an array to the sink.
fn stream_seq<'de, A: SeqAccess<'de>>(ctx: &mut Ctx<'_>, mut seq: A) -> Result<(), A::Error> {
    let mut index = 0_usize;
    loop {
        ctx.begin_record();
        match seq.next_element::<Value>()? {
            Some(item) => ctx.emit_de(item, index)?,
            None => return Ok(()),
        }
        index += 1;
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream_seq(self.ctx, seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = serde_json::Map::new();
        let mut envelope = false;
        while let Some(key) = map.next_key::<String>()? {
            if !envelope && ENVELOPE_KEYS.contains(&key.as_str()) {
                match map.next_value_seed(Envelope {
                    ctx: &mut *self.ctx,
                })? {
                    None => envelope = true,
                    Some(value) => {
                        rest.insert(key, value);
                    }
                }
            } else if envelope {
                map.next_value::<de::IgnoredAny>()?;
            } else {
                let value: Value = map.next_value()?;
                rest.insert(key, value);
            }
        }
        if !envelope {
            self.ctx.emit_de(Value::Object(rest), 0)?;
        }
        Ok(())
    }

    // Scalars hold no records.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The value of a `Records` / `records` key: streamed when it is an array (`None`), kept as
/// an ordinary field otherwise.
struct Envelope<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for Envelope<'_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Envelope<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<Value>, A::Error> {
        stream_seq(self.ctx, seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
}
