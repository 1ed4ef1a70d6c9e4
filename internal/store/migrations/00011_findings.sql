-- +goose Up
-- The record of diagnosis findings: when Berth first saw each cause of a service environment
-- and when it resolved. It keeps a cause's age past the API server's one-hour event TTL and
-- lets answers show what recovered, marked as such. One row per cause (its fingerprint is the
-- code and the resource down to the container); a cause that comes back starts a new episode.
CREATE TABLE findings (
    service_id    TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    environment   TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    code          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    container     TEXT NOT NULL,
    summary       TEXT NOT NULL,
    first_seen    BIGINT NOT NULL,
    resolved_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (service_id, environment, fingerprint)
);
CREATE INDEX findings_resolved ON findings (resolved_at);

-- +goose Down
DROP TABLE findings;
