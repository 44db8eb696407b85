-- Posture: findings of every scan, kept with when they were first and last seen and when
-- they were resolved (passed again, or the resource went away).

CREATE TABLE findings (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    account TEXT NOT NULL,
    check_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    body TEXT NOT NULL
);
CREATE INDEX findings_by_account ON findings (account, status);
CREATE INDEX findings_by_check ON findings (check_id);
