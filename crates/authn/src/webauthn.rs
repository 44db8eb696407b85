//! Passkeys (WebAuthn Level 2/3) over `webauthn-rs`.
//!
//! Everything crosses this module as JSON text or values, so the caller can keep ceremony
//! state between the two HTTP requests of a ceremony (in its session store, server side, used
//! once) and keep passkeys in a text column. The browser-facing challenge is a JSON value to
//! hand to `navigator.credentials.create()` / `.get()` (after base64url decoding of the binary
//! fields, as usual).
//!
//! On top of `webauthn-rs`, the signature counter of an assertion is checked against the
//! passkey the caller stores *now* (not the copy captured when the challenge was made), so a
//! replayed assertion or a cloned authenticator is refused even if a state is reused.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use crate::AuthnError;
use data_encoding::BASE64URL_NOPAD;

/// The relying party: this server as passkeys see it.
#[derive(Clone)]
pub struct Relying {
    rp_id: String,
    rp_origin: String,
    rp_name: String,
    webauthn: Webauthn,
}

impl std::fmt::Debug for Relying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relying")
            .field("rp_id", &self.rp_id)
            .field("rp_origin", &self.rp_origin)
            .field("rp_name", &self.rp_name)
            .finish()
    }
}

/// A passkey to store after registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// The credential id, base64url without padding (unique across all accounts: check it).
    pub credential_id: String,
    /// The public key, counter and flags, as `webauthn-rs` serialises them.
    pub passkey_json: String,
}

/// A successful passkey sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedPasskey {
    /// Which credential signed, base64url without padding.
    pub credential_id: String,
    /// The user handle the authenticator returned (the user's UUID), if any.
    pub user_handle: Option<Uuid>,
    /// The passkey with its counter and backup flags moved on: store it in place of the old one
    /// when present.
    pub updated_passkey_json: Option<String>,
    /// The authenticator verified the user (PIN or biometrics); always true for passkeys here,
    /// since user verification is required, so a passkey sign-in counts as two factors.
    pub user_verified: bool,
}

/// What is kept between the two requests of a ceremony.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
enum CeremonyState {
    Registration(PasskeyRegistration),
    Authentication(PasskeyAuthentication),
    Discoverable(DiscoverableAuthentication),
}

impl CeremonyState {
    fn to_json(&self) -> Result<String, AuthnError> {
        serde_json::to_string(self).map_err(|_| AuthnError::MalformedState)
    }

    fn from_json(text: &str) -> Result<Self, AuthnError> {
        serde_json::from_str(text).map_err(|_| AuthnError::MalformedState)
    }
}

fn webauthn_error(e: impl std::fmt::Display) -> AuthnError {
    AuthnError::Webauthn(e.to_string())
}

fn to_value(value: &impl Serialize) -> Result<serde_json::Value, AuthnError> {
    serde_json::to_value(value).map_err(webauthn_error)
}

fn parse_passkey(json: &str) -> Result<Passkey, AuthnError> {
    serde_json::from_str(json).map_err(|_| AuthnError::MalformedPasskey)
}

fn credential_id_text(id: &CredentialID) -> String {
    BASE64URL_NOPAD.encode(id.as_slice())
}

/// The stored signature counter of a passkey. `Passkey` keeps it private; its serialised form
/// is the stable place to read it.
fn stored_counter(passkey_json: &str) -> Result<u32, AuthnError> {
    let value: serde_json::Value =
        serde_json::from_str(passkey_json).map_err(|_| AuthnError::MalformedPasskey)?;
    value
        .pointer("/cred/counter")
        .and_then(serde_json::Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or(AuthnError::MalformedPasskey)
}

impl Relying {
    /// Settings for `rp_id` (a registrable domain, e.g. `example.com`), the origin pages are
    /// served from (e.g. `https://login.example.com`, which must be `rp_id` or under it) and a
    /// name shown by authenticators.
    pub fn new(rp_id: &str, rp_origin: &str, rp_name: &str) -> Result<Self, AuthnError> {
        let origin =
            Url::parse(rp_origin).map_err(|e| AuthnError::WebauthnConfig(e.to_string()))?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .and_then(|b| b.rp_name(rp_name).build())
            .map_err(|e| AuthnError::WebauthnConfig(e.to_string()))?;
        Ok(Self {
            rp_id: rp_id.to_string(),
            rp_origin: rp_origin.to_string(),
            rp_name: rp_name.to_string(),
            webauthn,
        })
    }

    /// The relying party id.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// The origin pages are served from.
    pub fn rp_origin(&self) -> &str {
        &self.rp_origin
    }

    /// The name authenticators show.
    pub fn rp_name(&self) -> &str {
        &self.rp_name
    }

    /// Begin registering a passkey for a user. `existing_credential_ids` (base64url) are the
    /// user's current passkeys, which the authenticator will refuse to register twice.
    ///
    /// Returns the challenge for the browser and the state to keep for
    /// [`finish_registration`](Self::finish_registration). User verification is required and
    /// attestation "none" is accepted; a discoverable (resident) credential is preferred so the
    /// passkey can later sign in without a user name.
    pub fn start_registration(
        &self,
        user_uuid: Uuid,
        user_name: &str,
        display_name: &str,
        existing_credential_ids: &[String],
    ) -> Result<(serde_json::Value, String), AuthnError> {
        let exclude = existing_credential_ids
            .iter()
            .map(|id| {
                BASE64URL_NOPAD
                    .decode(id.trim_end_matches('=').as_bytes())
                    .map_err(|_| AuthnError::MalformedPasskey)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let exclude = (!exclude.is_empty()).then_some(exclude);
        let (challenge, state) = self
            .webauthn
            .start_passkey_registration(user_uuid, user_name, display_name, exclude)
            .map_err(webauthn_error)?;
        let mut challenge = to_value(&challenge)?;
        // webauthn-rs leaves resident keys "discouraged" for passkeys; ask for "preferred" so
        // usernameless sign-in works where the authenticator can store the key, without
        // failing on security keys that cannot.
        if let Some(selection) = challenge
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(serde_json::Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "preferred".into());
        }
        Ok((challenge, CeremonyState::Registration(state).to_json()?))
    }

    /// Finish a registration with the browser's response (the JSON of the
    /// `PublicKeyCredential` from `navigator.credentials.create()`).
    pub fn finish_registration(
        &self,
        state_json: &str,
        response_json: &str,
    ) -> Result<StoredPasskey, AuthnError> {
        let CeremonyState::Registration(state) = CeremonyState::from_json(state_json)? else {
            return Err(AuthnError::MalformedState);
        };
        let response: RegisterPublicKeyCredential = serde_json::from_str(response_json)
            .map_err(|e| AuthnError::MalformedResponse(e.to_string()))?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(webauthn_error)?;
        Ok(StoredPasskey {
            credential_id: credential_id_text(passkey.cred_id()),
            passkey_json: serde_json::to_string(&passkey)
                .map_err(|_| AuthnError::MalformedPasskey)?,
        })
    }

    /// Begin a sign-in for a known user with their stored passkeys (`passkey_json` values).
    pub fn start_authentication(
        &self,
        passkeys: &[String],
    ) -> Result<(serde_json::Value, String), AuthnError> {
        let keys = passkeys
            .iter()
            .map(|p| parse_passkey(p))
            .collect::<Result<Vec<_>, _>>()?;
        let (challenge, state) = self
            .webauthn
            .start_passkey_authentication(&keys)
            .map_err(webauthn_error)?;
        Ok((
            to_value(&challenge)?,
            CeremonyState::Authentication(state).to_json()?,
        ))
    }

    /// Begin a usernameless sign-in: the authenticator picks a discoverable credential and
    /// returns the user handle. The challenge asks for conditional mediation (autofill UI).
    pub fn start_discoverable_authentication(
        &self,
    ) -> Result<(serde_json::Value, String), AuthnError> {
        let (challenge, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(webauthn_error)?;
        Ok((
            to_value(&challenge)?,
            CeremonyState::Discoverable(state).to_json()?,
        ))
    }

    /// For a usernameless sign-in: read who the response claims to be (user UUID and the
    /// credential id, base64url) so the caller can load that user's passkeys before calling
    /// [`finish_authentication`](Self::finish_authentication). Nothing is verified yet.
    pub fn identify_discoverable(&self, response_json: &str) -> Result<(Uuid, String), AuthnError> {
        let response: PublicKeyCredential = serde_json::from_str(response_json)
            .map_err(|e| AuthnError::MalformedResponse(e.to_string()))?;
        let (user, cred_id) = self
            .webauthn
            .identify_discoverable_authentication(&response)
            .map_err(webauthn_error)?;
        Ok((user, BASE64URL_NOPAD.encode(cred_id)))
    }

    /// Finish a sign-in (either kind) with the browser's response and the account's stored
    /// passkeys as they are now. Fails on any mismatch (origin, challenge, signature, user
    /// verification) and when the signature counter does not move past the stored one.
    pub fn finish_authentication(
        &self,
        state_json: &str,
        response_json: &str,
        passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, AuthnError> {
        let state = CeremonyState::from_json(state_json)?;
        let response: PublicKeyCredential = serde_json::from_str(response_json)
            .map_err(|e| AuthnError::MalformedResponse(e.to_string()))?;
        let used_id: Vec<u8> = response.raw_id.to_vec();
        // The account's passkey that signed, as stored now.
        let mut stored = None;
        for json in passkeys {
            let key = parse_passkey(json)?;
            if key.cred_id().as_slice() == used_id.as_slice() {
                stored = Some((key, json.as_str()));
            }
        }
        let (mut key, key_json) = stored.ok_or(AuthnError::UnknownCredential)?;
        let result = match state {
            CeremonyState::Authentication(state) => self
                .webauthn
                .finish_passkey_authentication(&response, &state),
            CeremonyState::Discoverable(state) => self
                .webauthn
                .finish_discoverable_authentication_v2(&response, state, &key),
            CeremonyState::Registration(_) => return Err(AuthnError::MalformedState),
        }
        .map_err(|e| match e {
            WebauthnError::CredentialPossibleCompromise => AuthnError::CounterRegression,
            other => webauthn_error(other),
        })?;
        // WebAuthn §7.2 step 21 against the counter stored now.
        let previous = stored_counter(key_json)?;
        if (result.counter() > 0 || previous > 0) && result.counter() <= previous {
            return Err(AuthnError::CounterRegression);
        }
        let user_handle = response
            .response
            .user_handle
            .as_ref()
            .and_then(|h| Uuid::from_slice(h.as_ref()).ok());
        let updated_passkey_json = match key.update_credential(&result) {
            Some(true) => {
                Some(serde_json::to_string(&key).map_err(|_| AuthnError::MalformedPasskey)?)
            }
            _ => None,
        };
        Ok(AuthenticatedPasskey {
            credential_id: BASE64URL_NOPAD.encode(&used_id),
            user_handle,
            updated_passkey_json,
            user_verified: result.user_verified(),
        })
    }
}
