-- Cloud discovery: apps and access paths a discovery run found (imported from
-- `trustplane discover --output json`), each with its review. The entry as discovered is kept
-- as JSON; the review columns are the administrators'. Every import and review is audited.
CREATE TABLE discovery_apps (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    state TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    owner TEXT,
    comment TEXT,
    reviewed_at BIGINT,
    reviewed_by TEXT
);
CREATE INDEX discovery_apps_state ON discovery_apps (state, id);
