//! TOTP codes computed by an independent implementation, Python's `pyotp`, from the otpauth
//! URI Trustplane showed. Shared by the server's and the cloud crate's tests.

/// The code of `uri` at `at_ms` (the test's moved clock).
pub fn pyotp(uri: &str, at_ms: i64) -> String {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("TRUSTPLANE_TEST_PYTHON must name a Python with pyotp (scripts/test.sh sets it)")
    });
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            uri,
            &(at_ms / 1000).to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
