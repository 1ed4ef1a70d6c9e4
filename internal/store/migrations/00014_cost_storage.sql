-- +goose Up
-- Storage and load balancers in Berth's cost model: MiB-seconds of the service's bound
-- PersistentVolumeClaims (their capacity) and seconds of its LoadBalancer Services, billed
-- whether or not a pod runs, as a cloud bills them.
ALTER TABLE cost_usage ADD COLUMN pv_mib_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cost_usage ADD COLUMN lb_seconds BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE cost_usage DROP COLUMN lb_seconds;
ALTER TABLE cost_usage DROP COLUMN pv_mib_seconds;
