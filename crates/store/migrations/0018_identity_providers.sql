-- Upstream identity providers (OpenID Connect) people sign in through: the issuer and client
-- (secret sealed with the master key), the settings (scopes, claim mapping, linking, trust in
-- the provider's MFA), the domains whose people home-realm discovery sends there, and which
-- external identity (provider, immutable subject) is which Trustplane user.

CREATE TABLE identity_providers (
    id TEXT PRIMARY KEY,
    provider_type TEXT NOT NULL,
    display_name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    sealed_client_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE identity_provider_domains (
    domain TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL
);
CREATE INDEX identity_provider_domains_by_provider ON identity_provider_domains (provider_id);

CREATE TABLE external_identities (
    provider_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX external_identities_by_user ON external_identities (user_id);
