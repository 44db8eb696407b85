//! The SCIM peer of the outbound tests (`../scim_peer.py`: `scim2-server` behind a fault
//! layer), shared by this crate's tests and `trustplane-cloud`'s end-to-end test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The bearer token the peer accepts.
pub const TOKEN: &str = "peer-token-0123456789";

pub struct Peer {
    child: Child,
    /// `http://127.0.0.1:PORT` (the SCIM base is this plus `/v2`).
    pub base: String,
    /// A client for checks.
    pub http: reqwest::Client,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the peer on a free port (the script lives next to this crate's tests).
pub fn peer() -> Peer {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON")
        .expect("TRUSTPLANE_TEST_PYTHON: a Python with scim2-server from tests/requirements.txt");
    let port = free_port();
    let script = std::path::Path::new(file!())
        .parent()
        .and_then(|p| p.parent())
        .map(|tests| tests.join("scim_peer.py"))
        .unwrap();
    // file!() is relative to the workspace; tests run in their crate's directory.
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(script);
    let mut child = Command::new(python)
        .arg(script)
        .args([&port.to_string(), TOKEN])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the SCIM peer");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    }
}

impl Peer {
    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/v2{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn faults(&self, faults: Value) {
        let r = self
            .http
            .post(format!("{}/faults", self.base))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    pub async fn users(&self) -> Vec<Value> {
        self.get("/Users?count=1000").await["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn user(&self, user_name: &str) -> Value {
        let all = self.users().await;
        let found: Vec<&Value> = all.iter().filter(|u| u["userName"] == user_name).collect();
        assert_eq!(found.len(), 1, "exactly one {user_name}: {all:?}");
        found[0].clone()
    }

    pub async fn member_names(&self, group: &str) -> Vec<String> {
        let groups = self.get("/Groups?count=1000").await;
        let g = groups["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["displayName"] == group)
            .cloned()
            .unwrap_or_else(|| panic!("no group {group}: {groups}"));
        let users = self.users().await;
        let mut names: Vec<String> = g["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                users
                    .iter()
                    .find(|u| u["id"] == m["value"])
                    .map(|u| u["userName"].as_str().unwrap().to_string())
            })
            .collect();
        names.sort();
        names
    }
}
