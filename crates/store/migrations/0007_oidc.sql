-- OpenID Connect provider: client secrets, authorization codes, grants and their refresh
-- tokens, and access tokens revoked before they expire. Secrets, codes and refresh tokens are
-- stored only as SHA-256 hashes (they are 256-bit random values, so a fast hash suffices).

-- Client secrets of confidential clients (Graph's passwordCredentials).
CREATE TABLE oidc_client_secrets (
    key_id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    hint TEXT NOT NULL,
    display_name TEXT,
    start_at BIGINT NOT NULL,
    end_at BIGINT
);
CREATE INDEX oidc_client_secrets_by_app ON oidc_client_secrets (application_id);

-- One grant per authorization: the family of every token issued from one code (or one legacy
-- password sign-in). Revoking it ends all of them at once.
CREATE TABLE oidc_grants (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time BIGINT NOT NULL,
    -- JSON array of RFC 8176 method references
    amr TEXT NOT NULL,
    mfa_at BIGINT,
    client_app TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX oidc_grants_by_user ON oidc_grants (user_id);

-- Authorization codes: single use, short-lived. A used code is kept until it expires, so a
-- second redemption is recognised and revokes what the first one issued.
CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    mfa_at BIGINT,
    client_app TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oidc_codes_by_expiry ON oidc_codes (expires_at);

-- Refresh tokens, rotated at every use: presenting one that was already rotated revokes its
-- whole grant.
CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX oidc_refresh_tokens_by_grant ON oidc_refresh_tokens (grant_id);

-- Access tokens (JWTs, by `jti`) revoked before their expiry; kept until they expire anyway.
CREATE TABLE oidc_revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_revoked_tokens_by_expiry ON oidc_revoked_tokens (expires_at);
