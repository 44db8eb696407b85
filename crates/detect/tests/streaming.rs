//! Records stream from any reader: the same matches as matching whole parsed files, in every
//! shape (NDJSON, envelopes, arrays, gzipped or not); an over-long record is refused without
//! being held; gzip is inflated as it is read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use trustplane_detect::{
    list_log_files, stream_records, EngineOptions, Hunter, Item, Match, ReadError, ReadLimits,
    Record, RecordOrigin, RuleSet,
};

fn sample_files() -> Vec<PathBuf> {
    list_log_files(&[
        common::logs("stratus-red-team"),
        common::logs("invictus-ir-aws"),
        common::logs("otrf"),
    ])
    .unwrap()
    .into_iter()
    .filter(|p| p.extension().is_some_and(|e| e == "json"))
    .collect()
}

/// The records of one sample file the way they were read before streaming: the whole file
/// as one `Value` (an envelope, an array or one record), else NDJSON lines.
fn whole_file_records(path: &Path) -> Vec<Value> {
    let text = std::fs::read(path).unwrap();
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(mut map)) => match map.remove("Records").or(map.remove("records")) {
            Some(Value::Array(items)) => items,
            _ => vec![Value::Object(map)],
        },
        Ok(Value::Array(items)) => items,
        Ok(_) => Vec::new(),
        Err(_) => text
            .split(|b| *b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect(),
    }
}

/// (rule title, the record's eventID or whole text) of each match, sorted.
type Key = (String, String);

fn key(title: &str, record: &Value) -> Key {
    let id = record
        .get("eventID")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| record.to_string());
    (title.to_string(), id)
}

fn rules_dir() -> PathBuf {
    common::sigma("rules/cloud")
}

/// Hunts with a sink, as `trustplane detect` does, over `inputs` given as readers.
fn stream_hunt(inputs: Vec<(Box<dyn Read>, String)>) -> (Vec<Key>, usize, usize) {
    let found: Arc<Mutex<Vec<Key>>> = Arc::default();
    let sink_found = Arc::clone(&found);
    let mut hunter = Hunter::new(&[rules_dir()], &EngineOptions::default())
        .unwrap()
        .with_sink(Box::new(move |m: Match| {
            sink_found
                .lock()
                .unwrap()
                .push(key(&m.rule.title, &m.record))
        }));
    for (reader, name) in inputs {
        hunter
            .read(reader, Path::new(&name), &ReadLimits::FILE)
            .unwrap();
    }
    let report = hunter.finish();
    assert!(report.matches.is_empty(), "matches went to the sink");
    let mut found = std::mem::take(&mut *found.lock().unwrap());
    assert_eq!(found.len(), report.match_count);
    found.sort();
    (found, report.records, report.malformed_count)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn streaming_gives_the_matches_of_whole_parsed_files_in_every_shape() {
    let files = sample_files();
    let rules = RuleSet::load(&[rules_dir()], &EngineOptions::default()).unwrap();
    // The oracle: each file parsed whole, each record matched.
    let mut all = Vec::new();
    let mut expected = Vec::new();
    for file in &files {
        for value in whole_file_records(file) {
            let record = Record::from_json(
                value.clone(),
                RecordOrigin {
                    path: file.clone(),
                    index: 0,
                },
            );
            for hit in rules.detect(&record) {
                expected.push(key(&hit.rule.title, &value));
            }
            all.push(value);
        }
    }
    expected.sort();
    assert!(all.len() > 3000, "{}", all.len());
    assert!(expected.len() > 100, "{}", expected.len());

    // The files as they are.
    let as_files = files
        .iter()
        .map(|f| {
            (
                Box::new(std::fs::File::open(f).unwrap()) as Box<dyn Read>,
                f.display().to_string(),
            )
        })
        .collect();
    let (found, records, malformed) = stream_hunt(as_files);
    assert_eq!((records, malformed), (all.len(), 0));
    assert_eq!(found, expected);

    // One NDJSON file, plain and gzipped; one envelope; one array; one pretty envelope.
    let ndjson: Vec<u8> = all
        .iter()
        .flat_map(|v| {
            let mut line = serde_json::to_vec(v).unwrap();
            line.push(b'\n');
            line
        })
        .collect();
    let envelope = serde_json::to_vec(&serde_json::json!({ "Records": all })).unwrap();
    let array = serde_json::to_vec(&all).unwrap();
    let pretty = serde_json::to_vec_pretty(&serde_json::json!({ "Records": all })).unwrap();
    for (name, bytes) in [
        ("all.ndjson", ndjson.clone()),
        ("all.ndjson.gz", gzip(&ndjson)),
        ("all.json", envelope.clone()),
        ("all.json.gz", gzip(&envelope)),
        ("array.json", array),
        ("pretty.json", pretty),
    ] {
        let (found, records, malformed) =
            stream_hunt(vec![(Box::new(std::io::Cursor::new(bytes)), name.into())]);
        assert_eq!((records, malformed), (all.len(), 0), "{name}");
        assert_eq!(found, expected, "{name}");
    }
}

fn collect(bytes: &[u8], limits: &ReadLimits) -> (Vec<Item>, Result<(), ReadError>) {
    let mut items = Vec::new();
    let result = stream_records(bytes, Path::new("t"), limits, &mut |i| items.push(i));
    (items, result)
}

fn names(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            Item::Record(r) => r.original["eventName"].as_str().unwrap_or("?").to_string(),
            Item::Malformed(m) => format!("malformed {:?}: {}", m.index, m.reason),
        })
        .collect()
}

#[test]
fn an_over_long_line_or_record_is_refused_and_reading_goes_on_where_it_can() {
    let limits = ReadLimits {
        max_record_bytes: 1024,
        ..ReadLimits::FILE
    };
    let small = |name: &str| format!(r#"{{"eventSource":"s","eventName":"{name}"}}"#);
    let big = format!(
        r#"{{"eventSource":"s","eventName":"Big","pad":"{}"}}"#,
        "x".repeat(4096)
    );

    // NDJSON: the long line is skipped and named, the lines around it are read.
    let text = format!("{}\n{big}\n{}\n", small("A"), small("B"));
    let (items, result) = collect(text.as_bytes(), &limits);
    result.unwrap();
    assert_eq!(
        names(&items),
        [
            "A".to_string(),
            "malformed Some(1): line longer than 1024 bytes".into(),
            "B".into()
        ]
    );
    // Exactly at the limit is read.
    let at = format!(
        r#"{{"eventSource":"s","eventName":"At","pad":"{}"}}"#,
        "x".repeat(1024 - 45)
    );
    assert_eq!(at.len(), 1024);
    let (items, result) = collect(format!("{}\n{at}\n", small("A")).as_bytes(), &limits);
    result.unwrap();
    assert_eq!(names(&items), ["A", "At"]);

    // A huge first line that is a single record (not an envelope): refused with the limit.
    let huge = format!(
        r#"{{"eventSource":"s","eventName":"Huge","pad":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let (items, result) = collect(format!("{huge}\n{}\n", small("A")).as_bytes(), &limits);
    assert_eq!(result, Err(ReadError::RecordTooLarge { max: 1024 }));
    assert!(result.unwrap_err().is_over_limit());
    assert!(items.is_empty());

    // In an envelope (one long line, as CloudTrail writes it): the items before are handed
    // over, then the object stops with the limit.
    let envelope = format!(
        r#"{{"Records":[{},{},{huge},{}]}}"#,
        small("A"),
        small("B"),
        small("C")
    );
    let (items, result) = collect(envelope.as_bytes(), &limits);
    assert_eq!(result, Err(ReadError::RecordTooLarge { max: 1024 }));
    assert_eq!(names(&items), ["A", "B"]);
    // An envelope far longer than a record is fine when each record is within the limit.
    let many: Vec<String> = (0..2000).map(|i| small(&format!("E{i}"))).collect();
    let envelope = format!(r#"{{"Records":[{}]}}"#, many.join(","));
    assert!(envelope.len() > 50 * 1024);
    let (items, result) = collect(gzip(envelope.as_bytes()).as_slice(), &limits);
    result.unwrap();
    assert_eq!(items.len(), 2000);
    assert_eq!(names(&items)[1999], "E1999");

    // The other limits still apply as the data streams.
    let (_, result) = collect(
        envelope.as_bytes(),
        &ReadLimits {
            max_records: 10,
            ..limits
        },
    );
    assert_eq!(result, Err(ReadError::TooManyRecords { max: 10 }));
    let (_, result) = collect(
        gzip(envelope.as_bytes()).as_slice(),
        &ReadLimits {
            max_inflated_bytes: 4096,
            ..limits
        },
    );
    assert_eq!(result, Err(ReadError::TooLarge { max: 4096 }));
}

/// A reader that tells how much of it has been read.
struct Counting<R> {
    inner: R,
    read: Arc<Mutex<usize>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.read.lock().unwrap() += n;
        Ok(n)
    }
}

#[test]
fn gzip_is_inflated_and_parsed_as_it_streams() {
    // About 8 MB of CloudTrail records (2 MB gzipped), as NDJSON and as one envelope.
    let records: Vec<Value> = sample_files()
        .iter()
        .flat_map(|f| whole_file_records(f))
        .collect();
    let mut ndjson = Vec::new();
    let mut all = Vec::new();
    while ndjson.len() < 8 * 1024 * 1024 {
        for r in &records {
            ndjson.extend(serde_json::to_vec(r).unwrap());
            ndjson.push(b'\n');
            all.push(r.clone());
        }
    }
    let envelope = serde_json::to_vec(&serde_json::json!({ "Records": all })).unwrap();
    for (shape, plain) in [("ndjson", ndjson), ("envelope", envelope)] {
        let zipped = gzip(&plain);
        let total = zipped.len();
        assert!(total > 512 * 1024, "{shape}: {total}");
        let read = Arc::new(Mutex::new(0_usize));
        let reader = Counting {
            inner: zipped.as_slice(),
            read: Arc::clone(&read),
        };
        // How much of the gzipped input had been taken when each record came out.
        let mut taken_at = Vec::new();
        stream_records(reader, Path::new(shape), &ReadLimits::FILE, &mut |item| {
            assert!(matches!(item, Item::Record(_)), "{shape}");
            taken_at.push(*read.lock().unwrap());
        })
        .unwrap();
        assert_eq!(taken_at.len(), all.len(), "{shape}");
        // The first record came out after a small part of the input was read, and the reads
        // went on record after record: nothing waited for the whole object.
        assert!(
            taken_at[0] < total / 10,
            "{shape}: {} of {total}",
            taken_at[0]
        );
        assert!(taken_at[all.len() / 2] < total, "{shape}");
        assert_eq!(*read.lock().unwrap(), total, "{shape}");
    }
}
