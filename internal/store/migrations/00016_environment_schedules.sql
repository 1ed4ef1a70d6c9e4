-- +goose Up
-- Sleep schedules of team environments: the schedule (JSON: time zone, windows, holidays), an
-- expiring override, and what the sleeper made of it: the state (awake, asleep, or sleeping
-- and waking while it acts), its last transition (JSON of what it changed and left) and the
-- problem of a failed attempt.
CREATE TABLE environment_schedules (
    environment_id  TEXT PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    spec            TEXT NOT NULL,
    override_state  TEXT NOT NULL DEFAULT '',
    override_until  BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL DEFAULT 'awake',
    transition_at   BIGINT NOT NULL DEFAULT 0,
    transition      TEXT NOT NULL DEFAULT '',
    problem         TEXT NOT NULL DEFAULT '',
    updated_at      BIGINT NOT NULL,
    updated_by      TEXT NOT NULL
);

-- +goose Down
DROP TABLE environment_schedules;
