-- +goose Up
-- Audit events name their team by id as well as by name: a team created later under an old
-- name starts with an empty log. Events of teams that no longer exist keep an empty id and are
-- for platform admins only.
ALTER TABLE audit_events ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
UPDATE audit_events SET team_id = COALESCE((SELECT id FROM teams WHERE teams.name = audit_events.team), '');
CREATE INDEX audit_events_team_id ON audit_events (team_id, time);

-- Public hosts, one row per service environment: a host belongs to one service at a time.
CREATE TABLE hosts (
    host        TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    service_id  TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    environment TEXT NOT NULL
);
CREATE INDEX hosts_service ON hosts (service_id);

-- +goose Down
DROP TABLE hosts;
DROP INDEX audit_events_team_id;
ALTER TABLE audit_events DROP COLUMN team_id;
