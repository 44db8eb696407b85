-- Directory sources: Active Directory and LDAP connections (settings without secrets, the bind
-- password sealed with the master key, the last run's outcome and the uSNChanged high-water
-- mark), and which imported user or group came from which connection, by immutable anchor.

CREATE TABLE directory_connections (
    id TEXT PRIMARY KEY,
    directory_type TEXT NOT NULL,
    display_name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    sealed_bind_password TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    high_water_usn BIGINT,
    last_run_at BIGINT,
    last_full_run_at BIGINT,
    last_result TEXT,
    last_error TEXT,
    last_counts TEXT
);

CREATE TABLE directory_sources (
    object_id TEXT PRIMARY KEY,
    object_type TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    anchor TEXT NOT NULL,
    dn TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (connection_id, object_type, anchor)
);
CREATE INDEX directory_sources_by_connection ON directory_sources (connection_id);
