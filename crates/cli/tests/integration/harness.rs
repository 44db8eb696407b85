//! Runs the real `trustplane` binary against a real database: a fresh SQLite folder, or a
//! fresh database on the PostgreSQL server named by `TRUSTPLANE_TEST_POSTGRES_URL`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;

pub const BIN: &str = env!("CARGO_BIN_EXE_trustplane");
pub const TOKEN: &str = "tp_integration_test_token_0123456789abcdefghijklmnop";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of one test, with its scratch folder.
pub struct Db {
    pub dir: tempfile::TempDir,
    /// For PostgreSQL: the database URL. For SQLite: None (the node gets `--data-dir`).
    pub pg_url: Option<String>,
}

impl Db {
    /// A new empty database, or None when PostgreSQL tests are skipped on purpose.
    pub async fn new(backend: Backend) -> Option<Db> {
        let dir = tempfile::tempdir().unwrap();
        let pg_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let Ok(admin) = std::env::var("TRUSTPLANE_TEST_POSTGRES_URL") else {
                    if std::env::var("TRUSTPLANE_SKIP_POSTGRES").as_deref() == Ok("1") {
                        return None;
                    }
                    panic!("TRUSTPLANE_TEST_POSTGRES_URL is not set (TRUSTPLANE_SKIP_POSTGRES=1 skips)");
                };
                Some(create_database(&admin).await)
            }
        };
        Some(Db { dir, pg_url })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The flags that point a command at this database.
    pub fn db_args(&self) -> Vec<String> {
        match &self.pg_url {
            Some(url) => vec!["--database-url".into(), url.clone()],
            None => vec!["--data-dir".into(), self.data_dir().display().to_string()],
        }
    }

    /// The sqlx URL, for tests that edit rows behind the server's back.
    pub fn sql_url(&self) -> String {
        match &self.pg_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/trustplane.db", self.data_dir().display()),
        }
    }

    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.sql_url()).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    pub async fn start(&self) -> Node {
        Node::start(self, &[], &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)]).await
    }
}

/// Creates a uniquely named database on the server of `admin_url` and returns its URL.
pub async fn create_database(admin_url: &str) -> String {
    let name = format!("tp_{}", uuid_like());
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0;
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    let mut b = [0_u8; 12];
    getrandom_fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn getrandom_fill(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(buf)
        .unwrap();
}

/// A running `trustplane serve`.
pub struct Node {
    pub child: Child,
    pub base: String,
    /// Lines printed on standard output before "listening".
    pub banner: Vec<String>,
}

impl Node {
    pub async fn start(db: &Db, extra_args: &[&str], env: &[(&str, &str)]) -> Node {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(db.dir.path().join("server.log"))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(db.db_args())
            .args(extra_args);
        cmd.env_remove("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .stdin(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        loop {
            let line = match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(db.dir.path().join("server.log"))
                        .unwrap_or_default();
                    panic!("server did not start; log:\n{log}");
                }
            };
            if let Some(addr) = line.strip_prefix("trustplane listening on ") {
                return Node {
                    child,
                    base: addr.trim().to_string(),
                    banner,
                };
            }
            banner.push(line);
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Sends a request with the admin token; returns status and JSON body (Null when empty).
pub async fn call(
    node: &Node,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    token: &str,
) -> (u16, Value) {
    let mut req = http().request(method, node.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn get(node: &Node, path: &str) -> (u16, Value) {
    call(node, reqwest::Method::GET, path, None, TOKEN).await
}

pub async fn post(node: &Node, path: &str, body: Value) -> (u16, Value) {
    call(node, reqwest::Method::POST, path, Some(body), TOKEN).await
}

/// Runs the CLI; returns exit code, stdout and stderr.
pub fn cli(node: Option<&Node>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("TRUSTPLANE_URL")
        .env_remove("TRUSTPLANE_TOKEN");
    cmd.env("TRUSTPLANE_PROFILE", "/nonexistent/profile.toml");
    if let Some(n) = node {
        cmd.env("TRUSTPLANE_URL", &n.base)
            .env("TRUSTPLANE_TOKEN", TOKEN);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the CLI with `--output json` and parses what it printed.
pub fn cli_json(node: &Node, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = cli(Some(node), &all);
    assert_eq!(code, 0, "trustplane {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

pub fn audit_verify(db: &Db) -> (i32, String) {
    let mut args = vec!["audit".to_string(), "verify".to_string()];
    args.extend(db.db_args());
    // The node keyed the chain with its master key; PostgreSQL runs name no data folder.
    let key = db.data_dir().join("master.key");
    if key.is_file() {
        args.extend(["--master-key-file".to_string(), key.display().to_string()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = cli(None, &refs);
    (code, format!("{out}{err}"))
}

#[allow(dead_code)]
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs each test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
                if let Some(db) = $crate::harness::Db::new($crate::harness::Backend::Sqlite).await { super::$name(db).await }
            } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
                if let Some(db) = $crate::harness::Db::new($crate::harness::Backend::Postgres).await { super::$name(db).await }
            } )*
        }
    };
}
