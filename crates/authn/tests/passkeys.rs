//! Passkey ceremonies driven by an authenticator that is not ours: the `SoftPasskey` of the
//! `webauthn-authenticator-rs` crate (the Kanidm project's software FIDO2 authenticator). It
//! runs the client side of WebAuthn (builds clientDataJSON with the origin it is given, checks
//! the RP id against that origin) and signs with a real P-256 key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use trustplane_authn::{AuthnError, Relying, StoredPasskey};
use uuid::Uuid;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

const ORIGIN: &str = "https://login.example.com";

fn relying() -> Relying {
    Relying::new("example.com", ORIGIN, "Trustplane").unwrap()
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// `SoftPasskey::new(true)`: the soft token has no PIN, so it claims user verification, which
/// passkey ceremonies require.
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

fn register(rp: &Relying, soft: &mut SoftPasskey, user: Uuid) -> StoredPasskey {
    let (challenge, state) = rp
        .start_registration(user, "alice@example.com", "Alice", &[])
        .unwrap();
    let options: CreationChallengeResponse = serde_json::from_value(challenge).unwrap();
    let response = soft.do_registration(url(ORIGIN), options).unwrap();
    rp.finish_registration(&state, &serde_json::to_string(&response).unwrap())
        .unwrap()
}

/// One assertion from the soft authenticator at `origin` for a fresh known-user challenge.
fn assert_at(
    rp: &Relying,
    soft: &mut SoftPasskey,
    passkeys: &[String],
    origin: &str,
) -> (String, String) {
    let (challenge, state) = rp.start_authentication(passkeys).unwrap();
    let options: RequestChallengeResponse = serde_json::from_value(challenge).unwrap();
    let response = soft.do_authentication(url(origin), options).unwrap();
    (state, serde_json::to_string(&response).unwrap())
}

#[test]
fn register_then_sign_in() {
    let rp = relying();
    let mut soft = authenticator();
    let user = Uuid::new_v4();
    let pk = register(&rp, &mut soft, user);
    assert!(!pk.credential_id.is_empty() && !pk.credential_id.contains('='));

    let (state, response) = assert_at(
        &rp,
        &mut soft,
        std::slice::from_ref(&pk.passkey_json),
        ORIGIN,
    );
    let ok = rp
        .finish_authentication(&state, &response, std::slice::from_ref(&pk.passkey_json))
        .unwrap();
    assert_eq!(ok.credential_id, pk.credential_id);
    assert!(ok.user_verified);
    // The soft authenticator counts signatures, so the stored counter must move.
    let updated = ok.updated_passkey_json.expect("counter moved");

    // A second sign-in with the updated passkey works.
    let (state, response) = assert_at(&rp, &mut soft, std::slice::from_ref(&updated), ORIGIN);
    rp.finish_authentication(&state, &response, &[updated])
        .unwrap();
}

#[test]
fn challenge_asks_for_user_verification_and_a_discoverable_key() {
    let rp = relying();
    let existing = "AAECAwQFBgcICQ".to_string();
    let (challenge, _) = rp
        .start_registration(
            Uuid::new_v4(),
            "bob",
            "Bob",
            std::slice::from_ref(&existing),
        )
        .unwrap();
    let pk = &challenge["publicKey"];
    assert_eq!(pk["rp"]["id"], "example.com");
    assert_eq!(pk["rp"]["name"], "Trustplane");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(pk["attestation"], "none");
    assert_eq!(pk["excludeCredentials"][0]["id"], existing);
}

#[test]
fn wrong_origin_is_refused_at_sign_in() {
    let rp = relying();
    let mut soft = authenticator();
    let pk = register(&rp, &mut soft, Uuid::new_v4());
    // A phishing page on a sibling sub-domain: the browser lets it use RP id example.com, but
    // the origin in clientDataJSON is not ours.
    let (state, response) = assert_at(
        &rp,
        &mut soft,
        std::slice::from_ref(&pk.passkey_json),
        "https://login-example.example.com",
    );
    let err = rp
        .finish_authentication(&state, &response, &[pk.passkey_json])
        .unwrap_err();
    assert!(matches!(err, AuthnError::Webauthn(_)), "{err:?}");
}

#[test]
fn wrong_origin_is_refused_at_registration() {
    let rp = relying();
    let mut soft = authenticator();
    let (challenge, state) = rp
        .start_registration(Uuid::new_v4(), "alice", "Alice", &[])
        .unwrap();
    let options: CreationChallengeResponse = serde_json::from_value(challenge).unwrap();
    let response = soft
        .do_registration(url("https://evil.example.com"), options)
        .unwrap();
    let err = rp
        .finish_registration(&state, &serde_json::to_string(&response).unwrap())
        .unwrap_err();
    assert!(matches!(err, AuthnError::Webauthn(_)), "{err:?}");
}

#[test]
fn replayed_assertion_is_refused() {
    let rp = relying();
    let mut soft = authenticator();
    let pk = register(&rp, &mut soft, Uuid::new_v4());
    let (state, response) = assert_at(
        &rp,
        &mut soft,
        std::slice::from_ref(&pk.passkey_json),
        ORIGIN,
    );
    let first = rp
        .finish_authentication(&state, &response, std::slice::from_ref(&pk.passkey_json))
        .unwrap();
    let stored_now = first.updated_passkey_json.unwrap();
    // The same state and response again (a caller that failed to consume the state, or an
    // attacker who captured both): the counter stored now has caught up, so it is refused.
    let err = rp
        .finish_authentication(&state, &response, &[stored_now])
        .unwrap_err();
    assert!(matches!(err, AuthnError::CounterRegression), "{err:?}");
}

#[test]
fn regressed_counter_is_refused() {
    let rp = relying();
    let mut soft = authenticator();
    let pk = register(&rp, &mut soft, Uuid::new_v4());
    // The stored passkey says a (cloned) copy of the key already signed 50 times; this
    // authenticator's counter is at 1.
    let mut value: serde_json::Value = serde_json::from_str(&pk.passkey_json).unwrap();
    value["cred"]["counter"] = 50.into();
    let ahead = value.to_string();
    let (state, response) = assert_at(&rp, &mut soft, std::slice::from_ref(&ahead), ORIGIN);
    let err = rp
        .finish_authentication(&state, &response, &[ahead])
        .unwrap_err();
    assert!(matches!(err, AuthnError::CounterRegression), "{err:?}");
}

#[test]
fn unknown_credential_and_wrong_state_kind() {
    let rp = relying();
    let mut soft = authenticator();
    let pk = register(&rp, &mut soft, Uuid::new_v4());
    let other = register(&rp, &mut authenticator(), Uuid::new_v4());
    let (state, response) = assert_at(
        &rp,
        &mut soft,
        std::slice::from_ref(&pk.passkey_json),
        ORIGIN,
    );
    assert!(matches!(
        rp.finish_authentication(&state, &response, std::slice::from_ref(&other.passkey_json)),
        Err(AuthnError::UnknownCredential)
    ));
    let (_, registration_state) = rp
        .start_registration(Uuid::new_v4(), "x", "x", &[])
        .unwrap();
    assert!(matches!(
        rp.finish_authentication(
            &registration_state,
            &response,
            std::slice::from_ref(&pk.passkey_json)
        ),
        Err(AuthnError::MalformedState)
    ));
    assert!(matches!(
        rp.finish_authentication("{}", &response, &[pk.passkey_json]),
        Err(AuthnError::MalformedState)
    ));
}

#[test]
fn state_from_another_relying_party_is_refused() {
    let rp = relying();
    let other_rp = Relying::new("example.org", "https://example.org", "Other").unwrap();
    let mut soft = authenticator();
    let pk = register(&rp, &mut soft, Uuid::new_v4());
    let (state, response) = assert_at(
        &rp,
        &mut soft,
        std::slice::from_ref(&pk.passkey_json),
        ORIGIN,
    );
    assert!(other_rp
        .finish_authentication(&state, &response, &[pk.passkey_json])
        .is_err());
}

#[test]
fn usernameless_sign_in() {
    let rp = relying();
    let mut soft = authenticator();
    let user = Uuid::new_v4();
    let pk = register(&rp, &mut soft, user);
    let (challenge, state) = rp.start_discoverable_authentication().unwrap();
    assert_eq!(challenge["mediation"], "conditional");
    assert_eq!(
        challenge["publicKey"]["allowCredentials"]
            .as_array()
            .map_or(0, Vec::len),
        0
    );
    // SoftPasskey cannot store resident keys, so it cannot discover its credential nor return
    // a user handle. Stand in for that one step: name the credential in the options it is given
    // (the challenge bytes are unchanged) and put the user handle, which is not signed, in its
    // response. Everything that is verified is still the soft authenticator's own work.
    let mut options = challenge.clone();
    options["publicKey"]["allowCredentials"] =
        serde_json::json!([{ "type": "public-key", "id": pk.credential_id }]);
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let response = soft.do_authentication(url(ORIGIN), options).unwrap();
    let mut response = serde_json::to_value(&response).unwrap();
    response["response"]["userHandle"] = data_encoding::BASE64URL_NOPAD
        .encode(user.as_bytes())
        .into();
    let response = response.to_string();

    let (claimed_user, claimed_cred) = rp.identify_discoverable(&response).unwrap();
    assert_eq!(claimed_user, user);
    assert_eq!(claimed_cred, pk.credential_id);
    let ok = rp
        .finish_authentication(&state, &response, std::slice::from_ref(&pk.passkey_json))
        .unwrap();
    assert_eq!(ok.user_handle, Some(user));
    assert_eq!(ok.credential_id, pk.credential_id);

    // Replaying it against the updated passkey fails.
    let stored_now = ok.updated_passkey_json.unwrap();
    assert!(matches!(
        rp.finish_authentication(&state, &response, &[stored_now]),
        Err(AuthnError::CounterRegression)
    ));
}

#[test]
fn bad_relying_party_settings() {
    assert!(matches!(
        Relying::new("example.com", "not a url", "x"),
        Err(AuthnError::WebauthnConfig(_))
    ));
    // The origin must be the RP id or under it.
    assert!(matches!(
        Relying::new("example.com", "https://example.net", "x"),
        Err(AuthnError::WebauthnConfig(_))
    ));
}

#[test]
fn debug_of_relying_is_short() {
    let shown = format!("{:?}", relying());
    assert!(shown.contains("example.com"), "{shown}");
}
