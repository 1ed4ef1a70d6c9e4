-- +goose Up
-- What a run deploys (tag and parameters), so that an update or a rollback is exactly
-- reproducible, and a resumed run deploys what was asked, not what the service became.
ALTER TABLE runs ADD COLUMN tag TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parameters TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE runs DROP COLUMN parameters;
ALTER TABLE runs DROP COLUMN tag;
