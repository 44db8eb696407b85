-- Inbound provisioning (SCIM 2.0): which connection owns a user or group, and the id its
-- client knows it by. Objects made by an administrator have neither (NULL), and NULLs never
-- collide in the unique indexes, on SQLite as on PostgreSQL.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN provisioned_by TEXT;
CREATE UNIQUE INDEX users_provisioned_external ON users (provisioned_by, external_id);
CREATE INDEX users_provisioned_order ON users (provisioned_by, created_at, id);
CREATE INDEX users_provisioned_display ON users (provisioned_by, display_name);

ALTER TABLE groups ADD COLUMN external_id TEXT;
ALTER TABLE groups ADD COLUMN provisioned_by TEXT;
ALTER TABLE groups ADD COLUMN updated_at BIGINT;
UPDATE groups SET updated_at = created_at;
CREATE UNIQUE INDEX groups_provisioned_external ON groups (provisioned_by, external_id);
CREATE INDEX groups_provisioned_order ON groups (provisioned_by, created_at, id);

-- Provisioning connections: inbound SCIM (a bearer token, kept as its SHA-256 only, as API
-- tokens are) and, later, outbound ones. The status columns are what the last run or the last
-- inbound change left.
CREATE TABLE provisioning_connections (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    last_run_at BIGINT,
    last_status TEXT,
    last_error TEXT,
    last_change_at BIGINT,
    changes BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    drift BIGINT
);
