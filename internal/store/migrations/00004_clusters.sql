-- +goose Up
-- Registered clusters (cluster-per-team). Credentials are sealed with the configured key;
-- environments name the cluster they are placed on ('' is Berth's own cluster).
CREATE TABLE clusters (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    server      TEXT NOT NULL,
    ca_data     TEXT NOT NULL,
    credentials TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

ALTER TABLE environments ADD COLUMN cluster TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE environments DROP COLUMN cluster;
DROP TABLE clusters;
