//! First start: the first administrator, a one-time password and an admin API token.

use base64::Engine;
use trustplane_store::{NewUser, Store, StoreError};

/// What the first start prints, once.
#[derive(Clone)]
pub struct BootstrapCredentials {
    /// The administrator's user principal name.
    pub user_principal_name: String,
    /// A one-time password, to be changed at the first sign-in.
    pub one_time_password: String,
    /// The admin API token, unless it came from `TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN`.
    pub api_token: Option<String>,
}

impl std::fmt::Debug for BootstrapCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapCredentials")
            .field("user_principal_name", &self.user_principal_name)
            .finish_non_exhaustive()
    }
}

/// `bytes` random bytes from the operating system, base64url-encoded.
pub fn random_secret(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0_u8; bytes];
    getrandom::getrandom(&mut buf)
        .map_err(|e| StoreError::Corrupt(format!("no randomness available: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// Creates the first administrator if the store has never been bootstrapped.
pub(crate) async fn run(
    store: &Store,
    upn: &str,
    preset_token: Option<&str>,
) -> Result<Option<BootstrapCredentials>, StoreError> {
    if let Some(t) = preset_token {
        if t.len() < 32 {
            return Err(StoreError::Invalid {
                field: "TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN",
                message: "must be at least 32 characters".into(),
            });
        }
    }
    let token = match preset_token {
        Some(t) => t.to_string(),
        None => format!("tp_{}", random_secret(32)?),
    };
    let (password, hash) = one_time_password().await?;
    let admin = NewUser {
        user_principal_name: upn.to_string(),
        display_name: "Administrator".into(),
        account_enabled: true,
        password_hash: Some(hash),
        password_must_change: true,
        ..Default::default()
    };
    let created = store
        .bootstrap(admin, &trustplane_authn::hash_session_token(&token))
        .await?;
    Ok(created.map(|user| BootstrapCredentials {
        user_principal_name: user.user_principal_name,
        one_time_password: password,
        api_token: preset_token.is_none().then_some(token),
    }))
}

/// A fresh one-time password and its hash.
async fn one_time_password() -> Result<(String, String), StoreError> {
    let password = random_secret(18)?;
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || trustplane_authn::hash_password(&pw))
        .await
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((password, hash))
}

/// Break-glass recovery with local database access (`trustplane admin recover`): the named
/// user is enabled (or created), given a one-time password to change at the next sign-in and
/// a permanent active Global Administrator assignment, and the recovery is audited. Returns
/// the user's principal name and the password, which is stored only as a hash.
pub async fn recover_admin(store: &Store, upn: &str) -> Result<(String, String), StoreError> {
    let (password, hash) = one_time_password().await?;
    let user = store.recover_admin(upn, &hash).await?;
    Ok((user.user_principal_name, password))
}
