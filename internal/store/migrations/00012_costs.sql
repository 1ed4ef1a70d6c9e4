-- +goose Up
-- Berth's own cost model: what each service environment's running pods requested (and used,
-- where usage is known), integrated per hour. One row per service environment and hour (a
-- day once compacted, period = 'day'). A sample covers one slot of the sampling interval, and
-- last_slot makes each slot count once, whichever Berth replica writes it first. Amounts are
-- integers so both databases keep them exactly: millicore-seconds and byte-seconds of what is
-- billed (the larger of request and usage), of the request, and of the usage.
CREATE TABLE cost_usage (
    service_id        TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    environment       TEXT NOT NULL,
    period            TEXT NOT NULL,
    start_at          BIGINT NOT NULL,
    cpu_billed        BIGINT NOT NULL,
    cpu_request       BIGINT NOT NULL,
    cpu_usage         BIGINT NOT NULL,
    ram_billed        BIGINT NOT NULL,
    ram_request       BIGINT NOT NULL,
    ram_usage         BIGINT NOT NULL,
    pod_seconds       BIGINT NOT NULL,
    last_slot         BIGINT NOT NULL,
    PRIMARY KEY (service_id, environment, period, start_at)
);
CREATE INDEX cost_usage_period ON cost_usage (period, start_at);

-- +goose Down
DROP TABLE cost_usage;
