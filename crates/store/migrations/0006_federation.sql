-- Federation: the keys Trustplane signs SAML assertions and OIDC tokens with. Private keys are
-- sealed with the master key before they get here. One key per purpose signs (the one not
-- retired); retired keys stay published until `published_until`, so relying parties that
-- cached the old key keep verifying during a rollover.

CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    published_until BIGINT
);
-- At most one signing key per purpose and algorithm, even when nodes start together.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (purpose, algorithm) WHERE retired_at IS NULL;

-- One-time values already used (SAML request ids, authorization codes...), kept until they
-- could no longer be accepted anyway, so a replay is refused.
CREATE TABLE used_once (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_once_by_expiry ON used_once (expires_at);
