-- +goose Up
-- Budget alerts: one per environment and month once its cost forecast crosses its budget. The
-- row is claimed in the transaction that writes the audit event, so one Berth replica alerts;
-- delivered_at stays 0 until the webhook took it, and undelivered alerts are sent again, each by
-- the one replica holding its lease (leased_until).
CREATE TABLE cost_alerts (
    environment_id  TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    month           TEXT NOT NULL,
    forecast_micros BIGINT NOT NULL,
    budget_micros   BIGINT NOT NULL,
    alerted_at      BIGINT NOT NULL,
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    leased_until    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, month)
);

-- +goose Down
DROP TABLE cost_alerts;
