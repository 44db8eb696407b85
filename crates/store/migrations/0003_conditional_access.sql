-- Conditional access: policies and named locations, kept as the Graph JSON they came in
-- (unknown fields included), with the few columns lists and caches need.

CREATE TABLE ca_policies (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);

CREATE TABLE ca_named_locations (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);

-- A session may be limited to registering a second factor, when a policy requires MFA of a
-- user who has none yet.
ALTER TABLE sessions ADD COLUMN restriction TEXT;
