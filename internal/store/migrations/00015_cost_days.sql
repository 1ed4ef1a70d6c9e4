-- +goose Up
-- Days are now kept as their hours are added (a month's report reads 31 rows per service
-- environment, not 744), and compaction only forgets hours. The hours already kept are added
-- to their days once, here; the days of hours compacted earlier hold those already.
INSERT INTO cost_usage (service_id, environment, period, start_at, cpu_billed, cpu_request, cpu_usage, ram_billed, ram_request, ram_usage, pod_seconds, pv_mib_seconds, lb_seconds, last_slot)
SELECT service_id, environment, 'day', (start_at / 86400) * 86400, SUM(cpu_billed), SUM(cpu_request), SUM(cpu_usage), SUM(ram_billed), SUM(ram_request),
       SUM(ram_usage), SUM(pod_seconds), SUM(pv_mib_seconds), SUM(lb_seconds), 0
FROM cost_usage WHERE period = 'hour'
GROUP BY service_id, environment, (start_at / 86400) * 86400
ON CONFLICT (service_id, environment, period, start_at) DO UPDATE SET
    cpu_billed = cost_usage.cpu_billed + excluded.cpu_billed, cpu_request = cost_usage.cpu_request + excluded.cpu_request,
    cpu_usage = cost_usage.cpu_usage + excluded.cpu_usage, ram_billed = cost_usage.ram_billed + excluded.ram_billed,
    ram_request = cost_usage.ram_request + excluded.ram_request, ram_usage = cost_usage.ram_usage + excluded.ram_usage,
    pod_seconds = cost_usage.pod_seconds + excluded.pod_seconds, pv_mib_seconds = cost_usage.pv_mib_seconds + excluded.pv_mib_seconds,
    lb_seconds = cost_usage.lb_seconds + excluded.lb_seconds;

-- +goose Down
DELETE FROM cost_usage WHERE period = 'day'
    AND EXISTS (SELECT 1 FROM cost_usage h WHERE h.period = 'hour' AND h.service_id = cost_usage.service_id
                AND h.environment = cost_usage.environment AND (h.start_at / 86400) * 86400 = cost_usage.start_at);
