//! Interoperability with an independent TOTP implementation: Python's `pyotp` reads our
//! `otpauth://` URI (issuers and accounts with characters that need percent-encoding) and
//! computes codes that our verifier must accept. A second reader, which decodes the URI once as
//! RFC 3986 says, must see the same issuer in the label and in the parameter as pyotp does.
//!
//! Needs the Python named by `TRUSTPLANE_TEST_PYTHON` with `pyotp` (scripts/test.sh creates it).
//! Without it the test is skipped with a message, except under CI (`CI` set), where it fails so
//! a missing install is noticed. `python3` from `PATH` is never used: a peer comes from what the
//! test script installs, not from whatever the machine happens to have.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use trustplane_authn::totp::{self, authenticator_account, authenticator_issuer, TotpSecret};

const SCRIPT: &str = r#"
import sys, pyotp
from urllib.parse import urlsplit, unquote, parse_qs
uri = sys.argv[1]
otp = pyotp.parse_uri(uri)
print(otp.name)
print(otp.issuer)
print(otp.digits, otp.interval)
# A reader that decodes once: label issuer and parameter issuer must agree.
parts = urlsplit(uri)
label = unquote(parts.path[1:])
label_issuer, _, label_account = label.partition(":")
param_issuer = parse_qs(parts.query)["issuer"][0]
print(label_issuer)
print(param_issuer)
print(label_account)
for t in sys.argv[2:]:
    print(otp.at(int(t)))
"#;

fn python() -> Option<String> {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").ok();
    let ok = python.as_deref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import pyotp"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "TRUSTPLANE_TEST_PYTHON must name a Python with pyotp under CI (scripts/test.sh sets it)"
        );
        eprintln!("SKIPPED: TRUSTPLANE_TEST_PYTHON with pyotp not set (run scripts/test.sh)");
        return None;
    }
    python
}

#[test]
fn pyotp_reads_our_uri_and_its_codes_verify() {
    let Some(python) = python() else {
        return;
    };
    let cases = [
        ("Trustplane (Acme & Co) é", "alice+ops@example.com"),
        ("Trustplane", "ada@example.com"),
        ("Contoso: 100% #1?", "bob%41#x?y:z@example.com"),
        ("R&D=Lab + Ops", "o'brien&co=1@example.com"),
        ("日本 トラスト", "ユーザー@例え.jp"),
        ("  spaced\tissuer  ", "with space@example.com"),
    ];
    let times: Vec<u64> = vec![
        0,
        59,
        1_111_111_109,
        1_700_000_000,
        1_700_000_029,
        2_000_000_000,
    ];
    for (issuer, account) in cases {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri(issuer, account);
        let mut args = vec!["-c".to_string(), SCRIPT.to_string(), uri.clone()];
        args.extend(times.iter().map(u64::to_string));
        let out = Command::new(&python).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{uri}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        let shown_issuer = authenticator_issuer(issuer);
        let shown_account = authenticator_account(account);
        assert_eq!(lines[0], shown_account, "{uri}");
        assert_eq!(lines[1], shown_issuer, "{uri}");
        assert_eq!(lines[2], "6 30");
        assert_eq!(lines[3], shown_issuer, "label issuer, decoded once: {uri}");
        assert_eq!(
            lines[4], shown_issuer,
            "issuer parameter, decoded once: {uri}"
        );
        assert_eq!(
            lines[5], shown_account,
            "label account, decoded once: {uri}"
        );
        for (t, code) in times.iter().zip(&lines[6..]) {
            assert_eq!(*code, secret.code_at(*t), "T = {t}");
            assert_eq!(totp::verify(&secret, code, *t, None), Ok(t / 30), "T = {t}");
            // A code from pyotp is accepted once only.
            assert_eq!(
                totp::verify(&secret, code, *t, Some(t / 30)),
                Err(totp::TotpError::Replayed)
            );
        }
    }
}
