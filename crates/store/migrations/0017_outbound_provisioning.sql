-- Outbound provisioning (IAM Identity Center over its Identity Store API or its SCIM
-- endpoint). A connection may keep one sealed secret (the SCIM endpoint's bearer token), the
-- report of its last run, and a run held back by accidental-delete prevention.
ALTER TABLE provisioning_connections ADD COLUMN secret TEXT;
ALTER TABLE provisioning_connections ADD COLUMN last_report TEXT;
ALTER TABLE provisioning_connections ADD COLUMN held TEXT;

-- What a connection has pushed: for each directory user, group and membership, the target's
-- id for it and a fingerprint of the attributes sent. Comparing the directory with this table
-- is the outbox: a difference is a change still to push.
CREATE TABLE provisioning_targets (
    connection_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, kind, object_id)
);
