//! Real directory peers for the tests: a test CA (openssl), OpenLDAP `slapd` on free loopback
//! ports, and a Samba Active Directory domain controller (fixed ports, one per test run).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashSet;
use std::net::{TcpListener, TcpStream};

use ldap3::LdapConnAsync;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the tests run in CI, where a missing peer is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Finds a program, or says why the test cannot run. In CI a missing peer fails the test.
pub fn require(program: &str, candidates: &[&str]) -> Option<PathBuf> {
    for c in candidates {
        let p = Path::new(c);
        if p.is_file() {
            return Some(p.to_path_buf());
        }
    }
    if in_ci() {
        panic!("{program} is not installed; scripts/test.sh installs it (CI=true: a missing peer fails)");
    }
    eprintln!("skipping: {program} is not installed (outside CI)");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits until something accepts connections on the port, or the process exits.
pub fn wait_for_port(port: u16, child: &mut Child, what: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on {port}: {status}");
        }
        if Instant::now() > deadline {
            panic!("{what} did not listen on {port} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA and a server certificate for 127.0.0.1 and localhost.
pub struct TestPki {
    pub ca_pem: String,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

pub fn make_pki(dir: &Path, name: &str) -> TestPki {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("pki dir");
    let ca_key = d.join("ca.key");
    let ca_file = d.join("ca.pem");
    let key_file = d.join("server.key");
    let csr = d.join("server.csr");
    let cert_file = d.join("server.pem");
    let ext = d.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
        ])
        .arg(format!("/CN=Trustplane test CA {name}"))
        .args([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
        ])
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca_file));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key_file)
        .arg("-out")
        .arg(&csr));
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca_file)
        .arg("-CAkey")
        .arg(&ca_key)
        .args(["-CAcreateserial", "-extfile"])
        .arg(&ext)
        .arg("-out")
        .arg(&cert_file));
    // Samba refuses a private key that others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    TestPki {
        ca_pem: std::fs::read_to_string(&ca_file).expect("ca"),
        ca_file,
        cert_file,
        key_file,
    }
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let p = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process stopped (by its own id) when dropped.
pub struct Peer {
    pub child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const SLAPD_SUFFIX: &str = "dc=example,dc=test";
pub const SLAPD_ROOT_DN: &str = "cn=admin,dc=example,dc=test";
pub const SLAPD_ROOT_PW: &str = "slapd-root-secret";
/// A reader whose paged searches may return 4 entries in all (`size.prtotal`), to make a
/// search fail part way on a real server.
pub const SLAPD_LIMITED_DN: &str = "cn=limited,dc=example,dc=test";
pub const SLAPD_LIMITED_PW: &str = "limited-secret";

/// OpenLDAP with its own configuration: plain and StartTLS on one port, LDAPS on another.
pub struct Slapd {
    pub ldap_port: u16,
    pub ldaps_port: u16,
    pub pki: TestPki,
    _peer: Peer,
    _dir: TempDir,
}

pub fn start_slapd() -> Option<Slapd> {
    let slapd = require("slapd (Debian package slapd)", &["/usr/sbin/slapd"])?;
    let dir = TempDir::new("trustplane-slapd");
    let pki = make_pki(&dir.0, "slapd");
    let db = dir.0.join("db");
    std::fs::create_dir_all(&db).expect("db dir");
    let conf = dir.0.join("slapd.conf");
    std::fs::write(
        &conf,
        format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {dir}/slapd.pid\n\
             TLSCACertificateFile {ca}\n\
             TLSCertificateFile {cert}\n\
             TLSCertificateKeyFile {key}\n\
             database mdb\n\
             maxsize 104857600\n\
             suffix \"{SLAPD_SUFFIX}\"\n\
             rootdn \"{SLAPD_ROOT_DN}\"\n\
             rootpw {SLAPD_ROOT_PW}\n\
             directory {db}\n\
             limits dn.exact=\"{SLAPD_LIMITED_DN}\" size.prtotal=4\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by users read by * none\n",
            dir = dir.0.display(),
            ca = pki.ca_file.display(),
            cert = pki.cert_file.display(),
            key = pki.key_file.display(),
            db = db.display(),
        ),
    )
    .expect("slapd.conf");
    let ldap_port = free_port();
    let ldaps_port = free_port();
    let child = Command::new(slapd)
        .arg("-h")
        .arg(format!(
            "ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
        ))
        .arg("-f")
        .arg(&conf)
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slapd");
    let mut peer = Peer { child };
    wait_for_port(ldap_port, &mut peer.child, "slapd", Duration::from_secs(20));
    wait_for_port(
        ldaps_port,
        &mut peer.child,
        "slapd",
        Duration::from_secs(20),
    );
    Some(Slapd {
        ldap_port,
        ldaps_port,
        pki,
        _peer: peer,
        _dir: dir,
    })
}

pub const AD_REALM: &str = "CORP.EXAMPLE.TEST";
pub const AD_BASE: &str = "DC=corp,DC=example,DC=test";
pub const AD_ADMIN_PW: &str = "Adm1n-Passw0rd!x";
/// Samba binds fixed ports, so its folder is fixed too and one runs at a time.
pub const SAMBA_DIR: &str = "/tmp/trustplane-test-samba-ad";

/// A Samba AD domain controller provisioned into [`SAMBA_DIR`], LDAPS on 636 with the test CA.
pub struct SambaAd {
    pub dir: PathBuf,
    pub pki: TestPki,
    samba_tool: PathBuf,
    _peer: Peer,
}

impl SambaAd {
    /// Runs `samba-tool` against the domain's database.
    pub fn tool(&self, args: &[&str]) -> String {
        let sam = self.dir.join("private/sam.ldb");
        run(Command::new(&self.samba_tool)
            .args(args)
            .arg("-H")
            .arg(&sam)
            .arg("-s")
            .arg(self.dir.join("etc/smb.conf")))
    }
}

impl Drop for SambaAd {
    fn drop(&mut self) {
        let _ = self._peer.child.kill();
        let _ = self._peer.child.wait();
        if !std::thread::panicking() {
            // Kept after a failure, with its samba.log, for a look.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn start_samba() -> Option<SambaAd> {
    let samba_tool = require(
        "samba-tool (Debian package samba)",
        &["/usr/bin/samba-tool"],
    )?;
    let samba = require("samba (Debian package samba)", &["/usr/sbin/samba"])?;
    let dir = PathBuf::from(SAMBA_DIR);
    // A previous run's domain controller may still hold the ports if it was killed hard.
    if let Ok(pid) = std::fs::read_to_string(dir.join("run/samba.pid")) {
        if let Ok(pid) = pid.trim().parse::<u32>() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
    for port in [389, 636] {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            panic!("port {port} is taken on loopback; Samba AD needs it (another slapd or samba running?)");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).expect("samba dir");
    let pki = make_pki(&dir, "tls");
    run(Command::new(&samba_tool)
        .args([
            "domain",
            "provision",
            "--realm",
            AD_REALM,
            "--domain",
            "CORP",
            "--server-role=dc",
            "--dns-backend=NONE",
        ])
        .arg(format!("--adminpass={AD_ADMIN_PW}"))
        .arg(format!("--targetdir={}", dir.display()))
        .args([
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
        ])
        .arg(format!(
            "--option=pid directory={}",
            dir.join("run").display()
        ))
        .arg("--option=tls enabled=yes")
        .arg(format!("--option=tls keyfile={}", pki.key_file.display()))
        .arg(format!("--option=tls certfile={}", pki.cert_file.display()))
        .arg(format!("--option=tls cafile={}", pki.ca_file.display())));
    let log = std::fs::File::create(dir.join("samba.log")).expect("samba log");
    let child = Command::new(samba)
        .args(["-i", "-M", "single", "-s"])
        .arg(dir.join("etc/smb.conf"))
        // Only the LDAP server: no SMB, Kerberos, DNS or winbindd (a separate package).
        .arg("--option=server services=ldap")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start samba");
    let mut peer = Peer { child };
    wait_for_port(636, &mut peer.child, "samba", Duration::from_secs(120));
    Some(SambaAd {
        dir,
        pki,
        samba_tool,
        _peer: peer,
    })
}

// ---- the generic LDAP directory's contents ----

pub async fn slapd_admin(slapd: &Slapd) -> ldap3::Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(&format!("ldap://127.0.0.1:{}", slapd.ldap_port))
        .await
        .expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(SLAPD_ROOT_DN, SLAPD_ROOT_PW)
        .await
        .expect("bind")
        .success()
        .expect("bind ok");
    ldap
}

pub fn set(v: &[&str]) -> HashSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub async fn add(ldap: &mut ldap3::Ldap, dn: &str, attrs: &[(&str, &[&str])]) {
    let attrs: Vec<(String, HashSet<String>)> =
        attrs.iter().map(|(k, v)| (k.to_string(), set(v))).collect();
    ldap.add(dn, attrs)
        .await
        .expect("add")
        .success()
        .unwrap_or_else(|e| panic!("add {dn}: {e}"));
}

pub fn user_dn(n: u32) -> String {
    format!("uid=user{n},ou=people,{SLAPD_SUFFIX}")
}

pub fn group_dn(name: &str) -> String {
    format!("cn={name},ou=groups,{SLAPD_SUFFIX}")
}

pub async fn populate_slapd(slapd: &Slapd) {
    let mut ldap = slapd_admin(slapd).await;
    let suffix: &[(&str, &[&str])] = &[
        ("objectClass", &["dcObject", "organization"]),
        ("dc", &["example"]),
        ("o", &["Example"]),
    ];
    add(&mut ldap, SLAPD_SUFFIX, suffix).await;
    for ou in ["people", "groups"] {
        add(
            &mut ldap,
            &format!("ou={ou},{SLAPD_SUFFIX}"),
            &[("objectClass", &["organizationalUnit"]), ("ou", &[ou])],
        )
        .await;
    }
    add(
        &mut ldap,
        SLAPD_LIMITED_DN,
        &[
            (
                "objectClass",
                &["organizationalRole", "simpleSecurityObject"],
            ),
            ("cn", &["limited"]),
            ("userPassword", &[SLAPD_LIMITED_PW]),
        ],
    )
    .await;
    let manager = user_dn(0);
    for n in 0..7u32 {
        let (uid, mail, cn) = (
            [format!("user{n}")],
            [format!("user{n}@example.test")],
            [format!("User {n}")],
        );
        let (uid, mail, cn) = ([uid[0].as_str()], [mail[0].as_str()], [cn[0].as_str()]);
        let mut attrs: Vec<(&str, &[&str])> = vec![
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &uid),
            ("mail", &mail),
            ("cn", &cn),
            ("sn", &["Tester"]),
            ("departmentNumber", &["R&D"]),
        ];
        let manager_ref = [manager.as_str()];
        if n > 0 {
            attrs.push(("manager", &manager_ref));
        }
        add(&mut ldap, &user_dn(n), &attrs).await;
    }
    let (u0, u1, u2, devs) = (user_dn(0), user_dn(1), user_dn(2), group_dn("devs"));
    add(
        &mut ldap,
        &devs,
        &[
            ("objectClass", &["groupOfNames"]),
            ("cn", &["devs"]),
            ("member", &[u1.as_str(), u2.as_str()]),
        ],
    )
    .await;
    add(
        &mut ldap,
        &group_dn("staff"),
        &[
            ("objectClass", &["groupOfNames"]),
            ("cn", &["staff"]),
            ("member", &[devs.as_str(), u0.as_str()]),
        ],
    )
    .await;
    let _ = ldap.unbind().await;
}
