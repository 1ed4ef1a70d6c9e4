-- +goose Up
-- A team environment and the namespace it owns. Quota comes from a named tier or from a
-- monthly budget (stored in millionths, an integer, so both databases keep it exactly).
CREATE TABLE environments (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    namespace         TEXT NOT NULL UNIQUE,
    tier              TEXT NOT NULL,
    budget_micros     BIGINT NOT NULL,
    cpu_share_micros  BIGINT NOT NULL,
    limit_ratio_micros BIGINT NOT NULL,
    phase             TEXT NOT NULL,
    message           TEXT NOT NULL,
    applied_at        BIGINT NOT NULL,
    drift_repaired_at BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

-- +goose Down
DROP TABLE environments;
