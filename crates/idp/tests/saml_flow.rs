//! The single sign-on flow without HTTP: an IdP-initiated start is sealed into the resume URL,
//! which asks for a sign-in, refuses anything altered, and expires with the clock.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Map};
use trustplane_authn::{Relying, SessionPolicy};
use trustplane_idp::ca::ConditionalAccess;
use trustplane_idp::saml_app::{Saml, Step};
use trustplane_idp::signin::SignIn;
use trustplane_idp::{RequestContext, SignInLimits};
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, ManualClock};
use trustplane_store::{NewApplication, Store};

const T0: i64 = 1_790_000_000_000;
const ORIGIN: &str = "https://id.example.com";

struct Fixture {
    _dir: tempfile::TempDir,
    clock: ManualClock,
    saml: Arc<Saml>,
    signin: Arc<SignIn>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let sealer = Sealer::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let ca = Arc::new(ConditionalAccess::new(store.clone(), None).unwrap());
    let signin = SignIn::new(
        store.clone(),
        sealer.clone(),
        Relying::new("id.example.com", ORIGIN, "Trustplane").unwrap(),
        "Trustplane".into(),
        SessionPolicy::default(),
        ca,
        SignInLimits::default(),
    );
    let mut settings = Map::new();
    settings.insert(
        "saml".into(),
        json!({"assertionConsumerServices": [{"url": "https://wiki.example.com/acs", "isDefault": true}]}),
    );
    store
        .create_application(
            &Actor::system(),
            NewApplication {
                display_name: "Wiki".into(),
                description: None,
                app_id: Some("https://wiki.example.com".into()),
                settings,
            },
        )
        .await
        .unwrap();
    Fixture {
        saml: Saml::new(store, sealer, ORIGIN),
        _dir: dir,
        clock,
        signin,
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        ip: Some("192.0.2.7".parse().unwrap()),
        user_agent: None,
        device_platform: "linux",
    }
}

fn sealed(step: &Step) -> String {
    match step {
        Step::Continue(path) => path
            .strip_prefix("/saml/resume?r=")
            .map(|r| {
                url::form_urlencoded::parse(format!("r={r}").as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned()
            })
            .unwrap_or_else(|| panic!("not a resume path: {path}")),
        other => panic!("expected the resume URL, got {other:?}"),
    }
}

#[tokio::test]
async fn a_started_sign_on_waits_for_a_sign_in_and_expires() {
    let f = fixture().await;
    let started = f
        .saml
        .start("https://wiki.example.com", Some("/page".into()), None)
        .await
        .unwrap();
    let r = sealed(&started);

    // Nobody signed in yet: off to sign in, and back to the same resume URL.
    let step = f.saml.resume(&f.signin, &ctx(), &r, None).await.unwrap();
    let Step::SignIn { next } = step else {
        panic!("expected a sign-in, got {step:?}");
    };
    assert!(next.starts_with("/saml/resume?r="), "{next}");

    // An unknown session is no session.
    let step = f
        .saml
        .resume(&f.signin, &ctx(), &r, Some("not-a-session"))
        .await
        .unwrap();
    assert!(matches!(step, Step::SignIn { .. }), "{step:?}");

    // Ten minutes later the link is dead.
    f.clock.advance_ms(601_000);
    let step = f.saml.resume(&f.signin, &ctx(), &r, None).await.unwrap();
    assert!(
        matches!(step, Step::Refuse { status: 400, ref message } if message.contains("too long")),
        "{step:?}"
    );
}

#[tokio::test]
async fn an_altered_resume_link_or_unknown_application_is_refused() {
    let f = fixture().await;
    let r = sealed(
        &f.saml
            .start("https://wiki.example.com", None, None)
            .await
            .unwrap(),
    );
    let mut altered = r.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let step = f
        .saml
        .resume(&f.signin, &ctx(), &altered, None)
        .await
        .unwrap();
    assert!(
        matches!(step, Step::Refuse { status: 400, ref message } if message.contains("not valid")),
        "{step:?}"
    );

    let step = f
        .saml
        .start("https://nowhere.example.com", None, None)
        .await
        .unwrap();
    assert!(matches!(step, Step::Refuse { status: 404, .. }), "{step:?}");

    let long = "x".repeat(1025);
    let step = f
        .saml
        .start("https://wiki.example.com", Some(long), None)
        .await
        .unwrap();
    assert!(matches!(step, Step::Refuse { status: 400, .. }), "{step:?}");
}
