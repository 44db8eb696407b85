//! Interoperability with an independent TOTP implementation: Python's `pyotp` reads our
//! `otpauth://` URI (issuer and account with characters that need percent-encoding) and
//! computes codes that our verifier must accept.
//!
//! Needs `python3` with `pyotp` (`pip install pyotp`). Without it the test is skipped with a
//! message, except under CI (`CI` set), where it fails so a missing install is noticed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use trustplane_authn::totp::{self, TotpSecret};

const SCRIPT: &str = r#"
import sys, pyotp
otp = pyotp.parse_uri(sys.argv[1])
print(otp.name)
print(otp.issuer)
print(otp.digits, otp.interval)
for t in sys.argv[2:]:
    print(otp.at(int(t)))
"#;

fn pyotp_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyotp"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "pyotp is required under CI: pip install pyotp"
        );
        eprintln!("SKIPPED: python3 with pyotp not found (pip install pyotp)");
    }
    ok
}

#[test]
fn pyotp_reads_our_uri_and_its_codes_verify() {
    if !pyotp_available() {
        return;
    }
    let secret = TotpSecret::generate();
    let issuer = "Trustplane (Acme & Co) é";
    let account = "alice+ops@example.com";
    let uri = secret.otpauth_uri(issuer, account);
    let times: Vec<u64> = vec![
        0,
        59,
        1_111_111_109,
        1_700_000_000,
        1_700_000_029,
        2_000_000_000,
    ];
    let mut args = vec!["-c".to_string(), SCRIPT.to_string(), uri];
    args.extend(times.iter().map(u64::to_string));
    let out = Command::new("python3").args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], account);
    assert_eq!(lines[1], issuer);
    assert_eq!(lines[2], "6 30");
    for (t, code) in times.iter().zip(&lines[3..]) {
        assert_eq!(*code, secret.code_at(*t), "T = {t}");
        assert_eq!(totp::verify(&secret, code, *t, None), Ok(t / 30), "T = {t}");
        // A code from pyotp is accepted once only.
        assert_eq!(
            totp::verify(&secret, code, *t, Some(t / 30)),
            Err(totp::TotpError::Replayed)
        );
    }
}
