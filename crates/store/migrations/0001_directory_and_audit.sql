-- Portable SQL: every statement here runs unchanged on SQLite and PostgreSQL.
-- Times are milliseconds since the Unix epoch; JSON is stored as text; booleans are 0 or 1
-- (the `Any` driver cannot read SQLite booleans).

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    upn TEXT NOT NULL,
    upn_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    mail TEXT,
    given_name TEXT,
    surname TEXT,
    account_enabled BIGINT NOT NULL,
    attributes TEXT NOT NULL,
    password_hash TEXT,
    password_must_change BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_order ON users (created_at, id);

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT,
    is_assignable_to_role BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX groups_order ON groups (created_at, id);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_by_member ON group_members (member_id);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX applications_order ON applications (created_at, id);

CREATE TABLE role_definitions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE role_assignments (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    role_definition_id TEXT NOT NULL REFERENCES role_definitions (id),
    directory_scope_id TEXT NOT NULL,
    assignment_type TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (principal_id, role_definition_id, directory_scope_id, assignment_type)
);
CREATE INDEX role_assignments_by_principal ON role_assignments (principal_id);
CREATE INDEX role_assignments_order ON role_assignments (created_at, id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

-- The audit trail: append-only, each entry carrying the hash of the one before.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    category TEXT NOT NULL,
    activity TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    target_id TEXT,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);

-- One row: the last entry of the chain. Writers lock it, which orders all appends.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    node TEXT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
