-- +goose Up
-- How each library policy runs: cluster-wide (team '') and per-team overrides. A policy
-- without a row runs in its library default.
CREATE TABLE policy_settings (
    policy TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL,
    parameter TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (policy, team)
);

-- +goose Down
DROP TABLE policy_settings;
