//! Every command in README.md and docs/*.md runs as written against a fresh server: the
//! `sh` blocks are read, and each `trustplane`, `echo … | trustplane` or `curl` line is run
//! by bash in a folder holding the files the examples name. Lines (or the rest of a block)
//! marked "needs cloud credentials", "needs your database", "needs your directory" (an
//! Active Directory or LDAP server of one's own) or "needs your identity provider" (an
//! OpenID Connect provider reachable from the server) are skipped, as are those that
//! "run until stopped"; those marked "server stopped" run after the server is stopped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

/// One command of the documentation.
#[derive(Debug)]
struct Example {
    place: String,
    command: String,
    after_stop: bool,
}

const SKIP_MARKS: [&str; 5] = [
    "needs cloud credentials",
    "needs your database",
    "needs your directory",
    "needs your identity provider",
    "runs until stopped",
];

/// The commands of one Markdown file's `sh` blocks.
fn examples(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut skip_rest = false;
    let mut pending = String::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim_start_matches('`').starts_with("sh");
            skip_rest = false;
            continue;
        }
        if !in_sh {
            continue;
        }
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('#') {
            skip_rest |= SKIP_MARKS.iter().any(|m| trimmed.contains(m));
            continue;
        }
        if pending.is_empty() {
            start = i + 1;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let whole = std::mem::take(&mut pending);
        let (command, comment) = match whole.find(" # ") {
            Some(at) => (whole[..at].trim().to_string(), whole[at..].to_string()),
            None => (whole.trim().to_string(), String::new()),
        };
        let ours = command.starts_with("trustplane ")
            || command.starts_with("curl ")
            || (command.starts_with("echo ") && command.contains("trustplane "));
        if skip_rest || !ours || SKIP_MARKS.iter().any(|m| comment.contains(m)) {
            continue;
        }
        out.push(Example {
            place: format!("{name}:{start}"),
            command,
            after_stop: comment.contains("server stopped"),
        });
    }
    out
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// The files and folders the examples name, from the shared real data.
fn fixtures(work: &Path, db: &Db) {
    let data = repo_root().join("../shared/data");
    let baseline = data.join("conditional-access/j0eyv-baseline");
    link(&db.data_dir(), &work.join("trustplane-data"));
    link(
        &baseline.join("ConditionalAccess"),
        &work.join("exported-policies"),
    );
    link(&baseline.join("ConditionalAccess"), &work.join("policies"));
    link(&baseline.join("NamedLocations"), &work.join("locations"));
    link(
        &data.join("sigma/rules/cloud"),
        &work.join("sigma/rules/cloud"),
    );
    let trail = data.join("logs/invictus-ir-aws");
    link(&trail, &work.join("cloudtrail"));
    link(
        &repo_root().join("crates/posture/tests/fixtures/aws"),
        &work.join("inventory"),
    );
    link(
        &repo_root().join("crates/discovery/tests/data/squid-access.log"),
        &work.join("access.log"),
    );
    // The session policy docs/proxy.md writes with a here-document.
    std::fs::write(
        work.join("wiki-policy.json"),
        r#"{"monitor": true, "stepUpPaths": ["/admin"],
            "blockUploads": {"extensions": ["exe", "msi"], "maxBytes": 104857600},
            "downloads": {"mimeTypes": ["application/pdf"], "minBytes": 10485760}}"#,
    )
    .unwrap();
    // A call by Ada's role session, for the incident examples.
    std::fs::write(
        work.join("ada-cloudtrail.json"),
        crate::trail::envelope(&[crate::trail::stop_logging(
            "ada@example.com",
            "111122223333",
            "2026-11-28T10:00:00Z",
        )]),
    )
    .unwrap();
    std::fs::write(
        work.join("signin.json"),
        r#"{"userId": "11111111-1111-1111-1111-111111111111", "clientApp": "browser", "country": "NL"}"#,
    )
    .unwrap();
    // One CloudTrail file, gzipped as CloudTrail delivers it.
    let first = std::fs::read_dir(&trail)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .min()
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(first).unwrap()).unwrap();
    std::fs::write(work.join("CloudTrail.json.gz"), gz.finish().unwrap()).unwrap();
}

fn run(example: &Example, work: &Path, subst: &[(&str, String)], env: &[(&str, String)]) {
    let mut command = example.command.clone();
    for (from, to) in subst {
        command = command.replace(from, to);
    }
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", &command])
        .current_dir(work)
        .env("PATH", path)
        .env("HOME", work)
        .env_remove("TRUSTPLANE_URL")
        .env_remove("TRUSTPLANE_TOKEN")
        .env_remove("TRUSTPLANE_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}: `{}` exited {:?}\n{}{}",
        example.place,
        command,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_of_the_readme_and_docs_runs_as_written() {
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    fixtures(work, &db);
    let anchors: PathBuf = work.join("anchors.jsonl");
    let anchor_arg = anchors.display().to_string();
    let node = Node::start(
        &db,
        &["--audit-anchor-file", &anchor_arg],
        &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    let mut files = vec![repo_root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let all: Vec<Example> = files.iter().flat_map(|f| examples(f)).collect();
    assert!(all.len() >= 25, "too few commands found: {all:?}");
    let subst = [
        ("http://127.0.0.1:8080", node.base.clone()),
        ("tp_...", TOKEN.to_string()),
        ("/var/log/trustplane/anchors.jsonl", anchor_arg.clone()),
        ("/var/lib/trustplane", db.data_dir().display().to_string()),
    ];
    let env = [("URL", node.base.clone()), ("TOKEN", TOKEN.to_string())];
    for example in all.iter().filter(|e| !e.after_stop) {
        run(example, work, &subst, &env);
    }
    drop(node);
    for example in all.iter().filter(|e| e.after_stop) {
        run(example, work, &subst, &env);
    }
}
