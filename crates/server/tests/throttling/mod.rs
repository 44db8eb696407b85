//! Bounded password hashing and the limits on guessing: with the node's hashing slots and
//! queue full, every caller of argon2id is answered 503 with `Retry-After` at once (unknown
//! users included) instead of piling up memory; second-factor codes at step-up and the current
//! password at a password change are throttled and lock the account as sign-in does; and the
//! per-address limit counts failures only. The gate is filled by work the test holds, never by
//! timing.

use std::sync::mpsc;

use super::conditional_access_support::{admin_token, ADMIN_TOKEN};
use super::*;

/// A six-digit code that is none of the codes the authenticator would accept now (the step
/// before, this one and the next).
pub(super) fn wrong_code(s: &Server, otpauth: &str) -> String {
    let now = s.clock.now_ms();
    let valid: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| pyotp(otpauth, now + d))
        .collect();
    (0..4)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// Takes `n` slots of the node's hashing gate with work that lasts until the returned sender
/// is dropped; returns once all `n` are inside the gate.
async fn hold(s: &Server, n: usize) -> (mpsc::Sender<()>, Vec<tokio::task::JoinHandle<()>>) {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let target = s.hashes.in_use() + n;
    let tasks = (0..n)
        .map(|_| {
            let (gate, rx) = (s.hashes.clone(), rx.clone());
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = rx.lock().unwrap().recv();
                })
                .await
                .unwrap();
            })
        })
        .collect();
    until_in_use(s, target).await;
    (tx, tasks)
}

/// Waits (yielding, never sleeping) until exactly `n` callers are inside the gate.
async fn until_in_use(s: &Server, n: usize) {
    while s.hashes.in_use() != n {
        tokio::task::yield_now().await;
    }
}

fn sign_in_request(s: &Server, upn: &str, from: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/signIn", s.base))
        .header("x-forwarded-for", from)
        .json(&json!({"username": upn, "password": "not the password at all"}))
}

/// Asserts a 503 problem document that says when to retry.
async fn assert_busy(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert_eq!(r.headers()["retry-after"], "1", "{what}");
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 503, "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_is_bounded_and_past_the_queue_every_caller_gets_503_with_retry_after() {
    let limits = SignInLimits {
        max_concurrent_password_hashes: 2,
        password_hash_queue: 2,
        ..SignInLimits::default()
    };
    let s = server_with(T0, limits).await;
    let ada = user(&s, "ada@example.com").await;
    admin_token(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let csrf = Browser::csrf(&b.get("/account/password").await);

    // Both running slots are taken, then two wrong passwords wait for a turn: one for a user
    // who exists, one for nobody (whose stand-in check takes a slot like any other).
    let (release, held) = hold(&s, 2).await;
    let queued: Vec<_> = [
        ("ada@example.com", "198.51.100.1"),
        ("nobody@example.com", "198.51.100.2"),
    ]
    .into_iter()
    .map(|(upn, from)| tokio::spawn(sign_in_request(&s, upn, from).send()))
    .collect();
    until_in_use(&s, 4).await;

    // Full: the next is refused at once, for an unknown user as for a known one.
    let r = sign_in_request(&s, "someone-else@example.com", "198.51.100.3")
        .send()
        .await
        .unwrap();
    assert_busy(r, "unknown user").await;
    let r = sign_in_request(&s, "ada@example.com", "198.51.100.4")
        .send()
        .await
        .unwrap();
    assert_busy(r, "known user").await;
    // The sign-in page answers with a page.
    let mut other = Browser::new(&s);
    let page = other.password("ada@example.com", PASSWORD).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert_eq!(page.retry_after.as_deref(), Some("1"));
    assert!(page.body.contains("busy"), "{}", page.body);
    // A password change checks and hashes passwords: refused too, and nothing changes.
    let page = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", "river stone lantern 42"),
                ("confirm", "river stone lantern 42"),
            ],
        )
        .await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert_eq!(page.retry_after.as_deref(), Some("1"));
    // So does an administrator setting a password.
    let r = reqwest::Client::new()
        .patch(format!("{}/api/v1/users/{ada}", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"passwordProfile": {"password": "river stone lantern 42"}}))
        .send()
        .await
        .unwrap();
    assert_busy(r, "admin password set").await;
    assert_eq!(s.hashes.in_use(), 4, "refusals take no slot");
    let log = sign_ins(&s).await;
    assert!(log.last().unwrap()["resultReason"]
        .as_str()
        .unwrap()
        .contains("too many passwords"));

    // Once the held work ends, the queued attempts are judged (and fail, being wrong).
    drop(release);
    for h in held {
        h.await.unwrap();
    }
    for q in queued {
        assert_eq!(q.await.unwrap().unwrap().status(), 401);
    }
    until_in_use(&s, 0).await;
    // The refused change left the password as it was.
    Browser::new(&s).sign_in("ada@example.com").await;
}

#[tokio::test]
async fn successes_do_not_use_up_the_address_limit_only_failures_do() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    // Thirty people behind one office address sign in at the same instant: all get in
    // (counting every attempt refused the eleventh).
    for i in 0..30 {
        let r = Browser::new(&s).password("ada@example.com", PASSWORD).await;
        assert_eq!(r.status, 303, "sign-in {i}: {}", r.body);
    }
    // Failures still count: ten, then the address waits, for a right password too.
    for i in 0..10 {
        let r = Browser::new(&s)
            .password("nobody@example.com", "whatever password")
            .await;
        assert_eq!(r.status, 401, "failure {i}");
    }
    let r = Browser::new(&s)
        .password("nobody@example.com", "whatever password")
        .await;
    assert_eq!(r.status, 429);
    assert!(r.retry_after.is_some());
    let r = Browser::new(&s).password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 429);
}

#[tokio::test]
async fn step_up_codes_are_throttled_then_locked_and_then_the_right_code_is_refused_too() {
    let s = server().await;
    let id = user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut b, &s).await;
    // Eleven minutes on, changing security info needs a fresh second factor.
    s.clock.advance_ms(11 * 60_000);
    let csrf = Browser::csrf(&b.get("/account/security").await);
    let form = |code: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("method", "totp".to_string()),
            ("code", code.to_string()),
        ]
    };
    async fn verify(b: &mut Browser, form: Vec<(&str, String)>) -> Page {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.post("/account/verify", &form).await
    }

    for i in 0..5 {
        let r = verify(&mut b, form(&wrong_code(&s, &uri))).await;
        assert_eq!(r.status, 401, "wrong code {i}");
    }
    // Five failures: while the delay lasts the right code is refused too, saying when to retry.
    let right = pyotp(&uri, s.clock.now_ms());
    let r = verify(&mut b, form(&right)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.retry_after.as_deref(), Some("2"));
    assert!(r.body.contains("too many attempts"), "{}", r.body);
    let r = b.post("/account/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!(
        r.location.as_deref(),
        Some("/account/verify"),
        "nothing was stepped up"
    );
    // One count per account: the password is refused at sign-in meanwhile as well.
    assert_eq!(s.store.account_failures(&id).await.unwrap().0, 5);
    let r = Browser::new(&s).password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 401);

    // After the delay the right code works, and a success clears the count.
    s.clock.advance_ms(1_000);
    let r = verify(&mut b, form(&right)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(s.store.account_failures(&id).await.unwrap().0, 0);

    // A hundred consecutive failures lock the account: the hundredth here, by a wrong code.
    for _ in 0..99 {
        s.store.record_account_failure(&id).await.unwrap();
    }
    s.clock.advance_ms(15 * 60_000);
    let r = verify(&mut b, form(&wrong_code(&s, &uri))).await;
    assert_eq!(r.status, 401);
    // Then no wait helps: the right code is refused, and so is the password at sign-in.
    s.clock.advance_ms(20 * 60_000);
    let right = pyotp(&uri, s.clock.now_ms());
    let r = verify(&mut b, form(&right)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("locked"), "{}", r.body);
    assert!(r.retry_after.is_none());
    let r = Browser::new(&s).password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 401);
    assert!(sign_ins(&s).await.last().unwrap()["resultReason"]
        .as_str()
        .unwrap()
        .contains("locked"));
    // Until an administrator unlocks it.
    s.store.reset_account_failures(&id).await.unwrap();
    let r = verify(&mut b, form(&right)).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_per_account_and_per_address() {
    const NEW: &str = "river stone lantern 42";
    let s = server().await;
    let id = user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let csrf = Browser::csrf(&b.get("/account/password").await);
    let change = |current: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("current", current.to_string()),
            ("new", NEW.to_string()),
            ("confirm", NEW.to_string()),
        ]
    };
    async fn post(b: &mut Browser, form: [(&str, String); 4]) -> Page {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.post("/account/password", &form).await
    }

    for i in 0..5 {
        let r = post(&mut b, change("not my password at all")).await;
        assert_eq!(r.status, 401, "wrong current password {i}");
    }
    // The right current password is refused while the delay lasts, and nothing changes.
    let r = post(&mut b, change(PASSWORD)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.retry_after.as_deref(), Some("2"));
    assert_eq!(s.store.account_failures(&id).await.unwrap().0, 5);
    s.clock.advance_ms(1_000);
    let r = post(&mut b, change(PASSWORD)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = Browser::new(&s).password("ada@example.com", NEW).await;
    assert_eq!(r.status, 303, "the new password is in place");

    // Per address: once this address has used up its failures (on sign-in here), the current
    // password is not even checked from it.
    let mut refused = false;
    for _ in 0..20 {
        let r = Browser::new(&s)
            .password("nobody@example.com", "whatever password")
            .await;
        if r.status == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused);
    let r = post(
        &mut b,
        [
            ("csrf", csrf.clone()),
            ("current", NEW.to_string()),
            ("new", "another river stone 43".to_string()),
            ("confirm", "another river stone 43".to_string()),
        ],
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.retry_after.is_some());
}
