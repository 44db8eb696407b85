-- Authentication: methods, sessions, pending sign-ins, per-account throttling.

CREATE TABLE auth_methods (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'totp', 'passkey' or 'recoveryCode'
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    -- totp: the sealed secret; passkey: the sealed credential; recoveryCode: its hash
    secret TEXT NOT NULL,
    -- passkey: the credential id, for sign-in without a user name
    lookup_key TEXT UNIQUE,
    -- totp: the last time step accepted, so a code works once
    last_step BIGINT,
    -- recoveryCode: when it was spent
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX auth_methods_by_user ON auth_methods (user_id, kind);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    -- when the user last proved a second factor in this session (step-up, amr)
    mfa_at BIGINT,
    -- JSON array of RFC 8176 method references, e.g. ["pwd","otp","mfa"]
    amr TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    client_app TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Short-lived state between the steps of a sign-in or a WebAuthn ceremony.
CREATE TABLE pending_steps (
    id_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE account_throttle (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

CREATE INDEX audit_log_category ON audit_log (category, seq);
