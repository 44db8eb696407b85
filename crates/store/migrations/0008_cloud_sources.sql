-- Connected clouds: AWS accounts and Azure subscriptions scanned on a schedule (with each
-- scheduled scan's outcome), and S3 prefixes of CloudTrail objects polled for detection
-- (with the last key read, so nothing is read twice or skipped across restarts).

CREATE TABLE cloud_accounts (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    account TEXT NOT NULL,
    display_name TEXT NOT NULL,
    settings TEXT NOT NULL,
    secret TEXT,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_scan_at BIGINT,
    last_status TEXT,
    UNIQUE (provider, account)
);

CREATE TABLE cloud_scans (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    summary TEXT
);
CREATE INDEX cloud_scans_by_account ON cloud_scans (account_id, started_at);

CREATE TABLE log_sources (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL,
    region TEXT NOT NULL,
    role_arn TEXT,
    endpoint_url TEXT,
    poll_interval_secs BIGINT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_key TEXT,
    last_polled_at BIGINT,
    objects_read BIGINT NOT NULL,
    objects_failed BIGINT NOT NULL,
    records_read BIGINT NOT NULL,
    failing_key TEXT,
    failing_attempts BIGINT NOT NULL,
    last_error TEXT
);
