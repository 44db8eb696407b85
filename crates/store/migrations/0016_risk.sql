-- Identity risk. Every sign-in attempt as the risk detectors read it (one row per sign-in log
-- entry, written in the same transaction), the detections raised, and what administrators
-- decided about a person's risk. Times are ms since the epoch.
CREATE TABLE sign_in_attempts (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id TEXT,
    account TEXT NOT NULL,
    ip TEXT,
    network TEXT,
    user_agent TEXT,
    success BIGINT NOT NULL
);
CREATE INDEX sign_in_attempts_user ON sign_in_attempts (user_id, at);
CREATE INDEX sign_in_attempts_network ON sign_in_attempts (network, success, at);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);

CREATE TABLE risk_detections (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    user_principal_name TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL,
    ip TEXT,
    country TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX risk_detections_user ON risk_detections (user_id, state, at);
CREATE INDEX risk_detections_order ON risk_detections (at, id);

CREATE TABLE risky_users (
    user_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    level TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
