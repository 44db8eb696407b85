//! Discovery throughput, one thread: one million CloudTrail records (the shipped Stratus Red
//! Team and invictus-ir captures, repeated into one NDJSON file) and one million Squid lines
//! (generated: 2,000 users, the catalogue's domains and uncatalogued ones), each read from a
//! file through the same path as `trustplane discover --logs`. Run:
//! `cargo bench -p trustplane-discovery`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use trustplane_detect::{list_log_files, read_file};
use trustplane_discovery::{Catalog, Discoverer, DiscoveryOptions, LogFormat};

const N: usize = 1_000_000;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/logs")
}

fn run(path: &std::path::Path, format: LogFormat, what: &str, bytes: u64) {
    let t = Instant::now();
    let mut d = Discoverer::new(Catalog::builtin().unwrap(), DiscoveryOptions::default());
    d.read_logs(&[path.to_path_buf()], Some(format)).unwrap();
    let r = d.finish();
    let secs = t.elapsed().as_secs_f64();
    let read: u64 = r.sources.iter().map(|s| s.read).sum();
    assert_eq!(read, N as u64);
    println!(
        "{what}: {N} in {secs:.2} s = {:.0}/s per core ({:.1} MB/s), {} apps, {} unparsed",
        N as f64 / secs,
        bytes as f64 / secs / 1e6,
        r.apps.len(),
        r.unparsed.count
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let files = list_log_files(&[
        data().join("stratus-red-team"),
        data().join("invictus-ir-aws"),
    ])
    .unwrap();
    let texts: Vec<String> = files
        .iter()
        .flat_map(|f| read_file(f).records)
        .map(|r| r.original.to_string())
        .collect();
    let ct = dir.path().join("cloudtrail.ndjson");
    let mut w = BufWriter::new(std::fs::File::create(&ct).unwrap());
    for i in 0..N {
        w.write_all(texts[i % texts.len()].as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let ct_bytes = std::fs::metadata(&ct).unwrap().len();
    println!(
        "CloudTrail: {} distinct records, {:.0} bytes on average",
        texts.len(),
        ct_bytes as f64 / N as f64
    );

    let catalog = Catalog::builtin().unwrap();
    let domains: Vec<String> = catalog
        .apps()
        .iter()
        .flat_map(|a| a.domains.iter().cloned())
        .chain((0..200).map(|i| format!("site{i}.example.net")))
        .collect();
    let squid = dir.path().join("access.log");
    let mut w = BufWriter::new(std::fs::File::create(&squid).unwrap());
    for i in 0..N {
        let host = &domains[(i * 7919) % domains.len()];
        let user = format!("user{}", (i * 31) % 2000);
        if i % 3 == 0 {
            writeln!(w, "{}.{:03} {:6} 10.0.{}.{} TCP_TUNNEL/200 {} CONNECT {host}:443 {user} HIER_DIRECT/203.0.113.7 -",
                1_700_000_000 + i, i % 1000, i % 500, (i / 250) % 250, i % 250, 1000 + i % 50_000).unwrap();
        } else {
            writeln!(w, "{}.{:03} {:6} 10.0.{}.{} TCP_MISS/200 {} GET https://www.{host}/path/{i}?q=1 {user} HIER_DIRECT/203.0.113.7 text/html",
                1_700_000_000 + i, i % 1000, i % 500, (i / 250) % 250, i % 250, 1000 + i % 50_000).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    let squid_bytes = std::fs::metadata(&squid).unwrap().len();

    run(&ct, LogFormat::CloudTrail, "CloudTrail records", ct_bytes);
    run(&squid, LogFormat::Squid, "Squid lines", squid_bytes);
}
