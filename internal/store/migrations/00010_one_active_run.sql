-- +goose Up
-- One release at a time per service, decided by the database: at most one queued or running
-- run per service, so that two concurrent changes (PATCH, rollback, retry) cannot both start.
-- Runs an earlier race left active beside a newer one are failed first; the newest stays.
UPDATE runs SET status = 'failed', error = 'superseded: another run of this service was started at the same time'
WHERE status IN ('queued', 'running') AND EXISTS (
    SELECT 1 FROM runs newer
    WHERE newer.service_id = runs.service_id AND newer.status IN ('queued', 'running')
      AND (newer.created_at > runs.created_at OR (newer.created_at = runs.created_at AND newer.id > runs.id)));
CREATE UNIQUE INDEX runs_one_active ON runs (service_id) WHERE status IN ('queued', 'running');

-- +goose Down
DROP INDEX runs_one_active;
