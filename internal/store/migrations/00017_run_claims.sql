-- +goose Up
-- Which Berth process executes a run, and until when its claim holds without renewal: with
-- several replicas, each run is executed by one at a time, and a dead replica's runs are taken
-- over once its claim runs out.
ALTER TABLE runs ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE runs DROP COLUMN claim_until;
ALTER TABLE runs DROP COLUMN claimed_by;
