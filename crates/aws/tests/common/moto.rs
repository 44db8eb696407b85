//! A moto server on a free loopback port, killed on drop (other crates' tests include this
//! file by path).
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The emulator's default account.
pub const ACCOUNT: &str = "123456789012";

/// A running `moto.server`, killed on drop.
pub struct Moto {
    child: Child,
    pub url: String,
    pub port: u16,
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The credential chain reads the environment: set it once, before any test builds a client.
pub fn test_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws/config");
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws/credentials",
        );
    });
}

impl Moto {
    /// Starts a server, or returns `None` when `TRUSTPLANE_SKIP_MOTO=1` and no Python is set.
    pub fn start() -> Option<Moto> {
        let python = match std::env::var("TRUSTPLANE_TEST_PYTHON") {
            Ok(p) if !p.is_empty() => p,
            _ if std::env::var("TRUSTPLANE_SKIP_MOTO").as_deref() == Ok("1") => return None,
            _ => panic!(
                "TRUSTPLANE_TEST_PYTHON is not set (a Python with `moto[server]` from \
                 tests/requirements.txt); set TRUSTPLANE_SKIP_MOTO=1 to skip the emulator tests"
            ),
        };
        let port = free_port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} -m moto.server: {e}"));
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if moto.get("/moto-api/").is_some() {
                return Some(moto);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("moto server did not answer on port {port} within 60 s");
    }

    /// A bare HTTP/1.0 request; the answer's status line and body.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.starts_with("HTTP/").then_some(out)
    }

    fn get(&self, path: &str) -> Option<String> {
        self.request("GET", path)
    }

    /// Empties every service of the emulator.
    pub fn reset(&self) {
        self.request("POST", "/moto-api/reset").expect("moto reset");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
