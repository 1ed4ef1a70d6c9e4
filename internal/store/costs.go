package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Periods of cost_usage rows.
const (
	PeriodHour = "hour"
	PeriodDay  = "day"
)

// Usage is what one service environment took over a period: millicore-seconds and
// byte-seconds billed (the larger of request and usage), requested and used, pod-seconds,
// MiB-seconds of bound volumes and seconds of load balancers.
type Usage struct {
	CPUBilled, CPURequest, CPUUsage int64
	RAMBilled, RAMRequest, RAMUsage int64
	PodSeconds                      int64
	PVMiBSeconds, LBSeconds         int64
}

// Add sums u and o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.CPUBilled + o.CPUBilled, u.CPURequest + o.CPURequest, u.CPUUsage + o.CPUUsage,
		u.RAMBilled + o.RAMBilled, u.RAMRequest + o.RAMRequest, u.RAMUsage + o.RAMUsage, u.PodSeconds + o.PodSeconds,
		u.PVMiBSeconds + o.PVMiBSeconds, u.LBSeconds + o.LBSeconds}
}

// Zero is true when u counts nothing.
func (u Usage) Zero() bool { return u == Usage{} }

// UsageSample is one slot's usage of a service environment, added to its hour.
type UsageSample struct {
	ServiceID, Environment string
	Hour                   time.Time
	Slot                   int64
	Usage
}

// usageUpsert adds a row's amounts to the row of its period; a 'day' row is the sum of its
// hours, kept as they are added.
const usageUpsert = `INSERT INTO cost_usage (service_id, environment, period, start_at, cpu_billed, cpu_request, cpu_usage, ram_billed, ram_request, ram_usage, pod_seconds, pv_mib_seconds, lb_seconds, last_slot)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (service_id, environment, period, start_at) DO UPDATE SET
			cpu_billed = cost_usage.cpu_billed + excluded.cpu_billed, cpu_request = cost_usage.cpu_request + excluded.cpu_request,
			cpu_usage = cost_usage.cpu_usage + excluded.cpu_usage, ram_billed = cost_usage.ram_billed + excluded.ram_billed,
			ram_request = cost_usage.ram_request + excluded.ram_request, ram_usage = cost_usage.ram_usage + excluded.ram_usage,
			pod_seconds = cost_usage.pod_seconds + excluded.pod_seconds, pv_mib_seconds = cost_usage.pv_mib_seconds + excluded.pv_mib_seconds,
			lb_seconds = cost_usage.lb_seconds + excluded.lb_seconds, last_slot = excluded.last_slot`

// AddUsage adds a slot's sample to its hour and its day, once: a slot already counted (by
// this Berth or another replica) changes nothing. Call it in a transaction, so the day never
// counts an hour's sample the hour does not.
func (q Queries) AddUsage(ctx context.Context, s UsageSample) error {
	args := func(period string, start, slot int64) []any {
		return []any{s.ServiceID, s.Environment, period, start, s.CPUBilled, s.CPURequest, s.CPUUsage, s.RAMBilled, s.RAMRequest, s.RAMUsage, s.PodSeconds,
			s.PVMiBSeconds, s.LBSeconds, slot}
	}
	n, err := q.exec(ctx, usageUpsert+` WHERE cost_usage.last_slot < excluded.last_slot`, args(PeriodHour, s.Hour.Unix(), s.Slot)...)
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	if n == 0 {
		return nil // counted already
	}
	if _, err := q.exec(ctx, usageUpsert, args(PeriodDay, s.Hour.Truncate(24*time.Hour).Unix(), 0)...); err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	return nil
}

// DailyUsage is a service environment's usage on one UTC day.
type DailyUsage struct {
	ServiceID, Environment string
	Day                    time.Time
	Usage
}

type usageRow struct {
	ServiceID   string `db:"service_id"`
	Environment string `db:"environment"`
	Day         int64  `db:"day"`
	CPUBilled   int64  `db:"cpu_billed"`
	CPURequest  int64  `db:"cpu_request"`
	CPUUsage    int64  `db:"cpu_usage"`
	RAMBilled   int64  `db:"ram_billed"`
	RAMRequest  int64  `db:"ram_request"`
	RAMUsage    int64  `db:"ram_usage"`
	PodSeconds  int64  `db:"pod_seconds"`
	PVMiBSecs   int64  `db:"pv_mib_seconds"`
	LBSeconds   int64  `db:"lb_seconds"`
}

func (r usageRow) usage() Usage {
	return Usage{r.CPUBilled, r.CPURequest, r.CPUUsage, r.RAMBilled, r.RAMRequest, r.RAMUsage, r.PodSeconds, r.PVMiBSecs, r.LBSeconds}
}

// UsageByDay sums the usage of serviceIDs (all their environments) from start to end, by
// service, environment and UTC day: whole days from the days' rows, the hours of a day the
// window cuts from the hours' rows (kept for --cost-compact-after). start and end fall on hours.
func (q Queries) UsageByDay(ctx context.Context, serviceIDs []string, start, end time.Time) ([]DailyUsage, error) {
	if len(serviceIDs) == 0 {
		return nil, nil
	}
	days, last := start.Truncate(24*time.Hour), end.Truncate(24*time.Hour)
	if days.Before(start) {
		days = days.Add(24 * time.Hour)
	}
	if !days.Before(last) { // no whole day: the hours of the window
		days, last = end, end
	}
	query, args, err := sqlx.In(`SELECT service_id, environment, (start_at / 86400) * 86400 AS day,
			SUM(cpu_billed) AS cpu_billed, SUM(cpu_request) AS cpu_request, SUM(cpu_usage) AS cpu_usage,
			SUM(ram_billed) AS ram_billed, SUM(ram_request) AS ram_request, SUM(ram_usage) AS ram_usage, SUM(pod_seconds) AS pod_seconds,
			SUM(pv_mib_seconds) AS pv_mib_seconds, SUM(lb_seconds) AS lb_seconds
		FROM cost_usage WHERE service_id IN (?) AND (
			(period = 'day' AND start_at >= ? AND start_at < ?) OR
			(period = 'hour' AND ((start_at >= ? AND start_at < ?) OR (start_at >= ? AND start_at < ?))))
		GROUP BY service_id, environment, (start_at / 86400) * 86400 ORDER BY day, service_id, environment`,
		serviceIDs, days.Unix(), last.Unix(), start.Unix(), days.Unix(), last.Unix(), end.Unix())
	if err != nil {
		return nil, err
	}
	var rows []usageRow
	if err := q.selectAll(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("usage by day: %w", err)
	}
	out := make([]DailyUsage, len(rows))
	for i, r := range rows {
		out[i] = DailyUsage{ServiceID: r.ServiceID, Environment: r.Environment, Day: time.Unix(r.Day, 0).UTC(), Usage: r.usage()}
	}
	return out, nil
}

// CompactUsage forgets the hours of days before cutoff (their days keep their sums), so that
// what is kept grows with services and days, not hours.
func (q Queries) CompactUsage(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := q.exec(ctx, `DELETE FROM cost_usage WHERE period = 'hour' AND start_at < ?`, cutoff.Truncate(24*time.Hour).Unix())
	if err != nil {
		return 0, fmt.Errorf("compact usage: %w", err)
	}
	return int(n), nil
}

// CostAlert is a month's alert of an environment whose forecast crossed its budget.
type CostAlert struct {
	EnvironmentID, Month string
	Forecast, Budget     float64
	AlertedAt            time.Time
	Attempts             int  // webhook deliveries tried
	Delivered            bool // the webhook took it
}

// ClaimCostAlert records env's alert for month unless it has one: true when this call made it.
func (q Queries) ClaimCostAlert(ctx context.Context, a CostAlert) (bool, error) {
	n, err := q.exec(ctx, `INSERT INTO cost_alerts (environment_id, month, forecast_micros, budget_micros, alerted_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (environment_id, month) DO NOTHING`, a.EnvironmentID, a.Month, int64(a.Forecast*1e6), int64(a.Budget*1e6), micros(a.AlertedAt))
	if err != nil {
		return false, fmt.Errorf("claim cost alert: %w", err)
	}
	return n == 1, nil
}

// ClaimCostAlertDeliveries takes the alerts the webhook has not taken yet (tried fewer than
// maxAttempts times and not being sent by anyone else) for lease: one replica sends each.
func (q Queries) ClaimCostAlertDeliveries(ctx context.Context, now time.Time, lease time.Duration, maxAttempts int) ([]CostAlert, error) {
	var rows []struct {
		EnvironmentID string `db:"environment_id"`
		Month         string `db:"month"`
		Forecast      int64  `db:"forecast_micros"`
		Budget        int64  `db:"budget_micros"`
		AlertedAt     int64  `db:"alerted_at"`
		Attempts      int    `db:"attempts"`
	}
	if err := q.selectAll(ctx, &rows, `UPDATE cost_alerts SET attempts = attempts + 1, leased_until = ?
		WHERE delivered_at = 0 AND attempts < ? AND leased_until < ?
		RETURNING environment_id, month, forecast_micros, budget_micros, alerted_at, attempts`, micros(now.Add(lease)), maxAttempts, micros(now)); err != nil {
		return nil, fmt.Errorf("claim cost alert deliveries: %w", err)
	}
	out := make([]CostAlert, len(rows))
	for i, r := range rows {
		out[i] = CostAlert{EnvironmentID: r.EnvironmentID, Month: r.Month, Forecast: float64(r.Forecast) / 1e6, Budget: float64(r.Budget) / 1e6,
			AlertedAt: fromMicros(r.AlertedAt), Attempts: r.Attempts}
	}
	return out, nil
}

// CostAlertDelivered records that the webhook took env's alert for month.
func (q Queries) CostAlertDelivered(ctx context.Context, envID, month string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE cost_alerts SET delivered_at = ? WHERE environment_id = ? AND month = ?`, micros(at), envID, month)
	if err != nil {
		return fmt.Errorf("cost alert delivered: %w", err)
	}
	return nil
}

// CostAlerts lists every alert of an environment, newest month first.
func (q Queries) CostAlerts(ctx context.Context, envID string) ([]CostAlert, error) {
	var rows []struct {
		EnvironmentID string `db:"environment_id"`
		Month         string `db:"month"`
		Forecast      int64  `db:"forecast_micros"`
		Budget        int64  `db:"budget_micros"`
		AlertedAt     int64  `db:"alerted_at"`
		Delivered     int64  `db:"delivered_at"`
		Attempts      int    `db:"attempts"`
	}
	if err := q.selectAll(ctx, &rows, `SELECT environment_id, month, forecast_micros, budget_micros, alerted_at, delivered_at, attempts
		FROM cost_alerts WHERE environment_id = ? ORDER BY month DESC`, envID); err != nil {
		return nil, fmt.Errorf("cost alerts: %w", err)
	}
	out := make([]CostAlert, len(rows))
	for i, r := range rows {
		out[i] = CostAlert{EnvironmentID: r.EnvironmentID, Month: r.Month, Forecast: float64(r.Forecast) / 1e6, Budget: float64(r.Budget) / 1e6,
			AlertedAt: fromMicros(r.AlertedAt), Attempts: r.Attempts, Delivered: r.Delivered != 0}
	}
	return out, nil
}

// UsageFootprint is how many rows the cost model keeps and the bytes they and their indexes
// take on disk. With compact, the table is rewritten first (VACUUM FULL on PostgreSQL, which
// locks it: for benchmarks, not for a serving Berth), so the bytes are the data's, not the
// room MVCC keeps for rows updated in place.
func (s *Store) UsageFootprint(ctx context.Context, compact bool) (rows int, bytes int64, err error) {
	if err := s.db.GetContext(ctx, &rows, `SELECT COUNT(*) FROM cost_usage`); err != nil {
		return 0, 0, fmt.Errorf("usage footprint: %w", err)
	}
	switch s.driver {
	case "pgx":
		if compact {
			if _, err := s.db.ExecContext(ctx, `VACUUM FULL cost_usage`); err != nil {
				return 0, 0, fmt.Errorf("usage footprint: %w", err)
			}
		}
		err = s.db.GetContext(ctx, &bytes, `SELECT pg_total_relation_size('cost_usage')`)
	default:
		if compact {
			if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
				return 0, 0, fmt.Errorf("usage footprint: %w", err)
			}
		}
		err = s.db.GetContext(ctx, &bytes, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat
			WHERE name IN ('cost_usage', 'cost_usage_period') OR name LIKE 'sqlite_autoindex_cost_usage%'`)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("usage footprint: %w", err)
	}
	return rows, bytes, nil
}
