-- Incidents: alerts about the same person or from the same address within a window, grouped
-- across Trustplane, AWS and Azure. `incident_keys` holds what an incident is known by
-- (`person:<id>`, `ip:<address>`) and when it was last seen by it. Times are ms.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    assigned_to TEXT,
    persons TEXT NOT NULL,
    addresses TEXT NOT NULL,
    comments TEXT NOT NULL,
    first_activity BIGINT NOT NULL,
    last_activity BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX incidents_by_activity ON incidents (last_activity);

CREATE TABLE incident_alerts (
    alert_id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL
);
CREATE INDEX incident_alerts_by_incident ON incident_alerts (incident_id);

CREATE TABLE incident_keys (
    key TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (key, incident_id)
);
CREATE INDEX incident_keys_recent ON incident_keys (key, last_at);
