-- Detection: alerts (deduplicated per rule and person), response policies, a per-person
-- timeline of cloud activity, and the addresses each person signed in from.

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL,
    rule_id TEXT,
    rule_title TEXT NOT NULL,
    rule_author TEXT,
    level TEXT NOT NULL,
    person_id TEXT,
    person_upn TEXT,
    status TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    records TEXT NOT NULL,
    responses TEXT NOT NULL
);
CREATE INDEX alerts_by_key ON alerts (dedup_key, last_seen);
CREATE INDEX alerts_by_person ON alerts (person_id, last_seen);
CREATE INDEX alerts_order ON alerts (first_seen, id);

CREATE TABLE response_policies (
    id TEXT PRIMARY KEY,
    min_level TEXT NOT NULL,
    rule_id TEXT,
    action TEXT NOT NULL,
    automatic BIGINT NOT NULL,
    webhook_url TEXT,
    webhook_secret TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE person_events (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    provider TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX person_events_by_person ON person_events (person_id, at);

CREATE TABLE person_ips (
    person_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (person_id, ip)
);
