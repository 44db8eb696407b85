-- Privileged identity management: activation rules per role and scope, activation requests,
-- what Trustplane has granted (so that a grant is known before the cloud is asked for it),
-- notifications waiting to be sent, access reviews, and grants found outside Trustplane.

CREATE TABLE pim_settings (
    role_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (role_id, scope)
);

CREATE TABLE pim_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    eligibility_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    justification TEXT,
    ticket TEXT,
    duration_secs BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    start_at BIGINT,
    activated_at BIGINT,
    end_at BIGINT,
    decided_by TEXT,
    mfa BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX pim_requests_by_state ON pim_requests (state, end_at);
CREATE INDEX pim_requests_by_user ON pim_requests (user_id, role_id);

-- One row per thing granted: `directory` rows stand for the active role assignment of a
-- user, `cloud` rows for an account assignment or Azure role assignment (target holds what
-- the cloud call needs). A row is written before the cloud is called and removed only after
-- the cloud confirmed the removal.
CREATE TABLE pim_grants (
    grant_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    until_at BIGINT NOT NULL,
    last_error TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE pim_outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    attempts BIGINT NOT NULL,
    last_error TEXT
);
CREATE INDEX pim_outbox_unsent ON pim_outbox (sent_at, created_at);

CREATE TABLE pim_reviews (
    id TEXT PRIMARY KEY,
    role_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    reviewers TEXT NOT NULL,
    default_decision TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    completed_at BIGINT
);

CREATE TABLE pim_review_items (
    review_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    decision TEXT,
    reviewer_id TEXT,
    comment TEXT,
    decided_at BIGINT,
    outcome TEXT,
    PRIMARY KEY (review_id, assignment_id)
);

CREATE TABLE pim_drift (
    drift_key TEXT PRIMARY KEY,
    role_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    detail TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    removed_at BIGINT,
    resolved_at BIGINT
);
