package store

import (
	"context"
	"fmt"
	"time"
)

// FindingRecord is one cause of a service environment as Berth recorded it.
type FindingRecord struct {
	ServiceID, Environment, Fingerprint string
	Code, Severity                      string
	ResourceKind, ResourceName          string
	Container, Summary                  string
	FirstSeen                           time.Time
	// ResolvedAt is zero while the cause holds.
	ResolvedAt time.Time
}

type findingRow struct {
	ServiceID    string `db:"service_id"`
	Environment  string `db:"environment"`
	Fingerprint  string `db:"fingerprint"`
	Code         string `db:"code"`
	Severity     string `db:"severity"`
	ResourceKind string `db:"resource_kind"`
	ResourceName string `db:"resource_name"`
	Container    string `db:"container"`
	Summary      string `db:"summary"`
	FirstSeen    int64  `db:"first_seen"`
	ResolvedAt   int64  `db:"resolved_at"`
}

// Findings returns the recorded causes of one service environment: those that hold, and those
// resolved since resolvedSince, by first seen.
func (q Queries) Findings(ctx context.Context, serviceID, env string, resolvedSince time.Time) ([]FindingRecord, error) {
	var rows []findingRow
	err := q.selectAll(ctx, &rows, `SELECT service_id, environment, fingerprint, code, severity, resource_kind, resource_name, container, summary, first_seen, resolved_at
		FROM findings WHERE service_id = ? AND environment = ? AND (resolved_at = 0 OR resolved_at >= ?) ORDER BY first_seen, fingerprint`,
		serviceID, env, micros(resolvedSince))
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	out := make([]FindingRecord, len(rows))
	for i, r := range rows {
		out[i] = FindingRecord{ServiceID: r.ServiceID, Environment: r.Environment, Fingerprint: r.Fingerprint, Code: r.Code, Severity: r.Severity,
			ResourceKind: r.ResourceKind, ResourceName: r.ResourceName, Container: r.Container, Summary: r.Summary,
			FirstSeen: fromMicros(r.FirstSeen), ResolvedAt: optTime(r.ResolvedAt)}
	}
	return out, nil
}

// FindingSeen records that a cause holds: a new one (or one that had resolved and came back)
// starts at f.FirstSeen; one that already holds keeps its first seen and takes the newer
// summary. Repeating it changes nothing more.
func (q Queries) FindingSeen(ctx context.Context, f FindingRecord) error {
	_, err := q.exec(ctx, `INSERT INTO findings (service_id, environment, fingerprint, code, severity, resource_kind, resource_name, container, summary, first_seen, resolved_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (service_id, environment, fingerprint) DO UPDATE SET severity = excluded.severity, summary = excluded.summary,
			first_seen = CASE WHEN findings.resolved_at = 0 THEN findings.first_seen ELSE excluded.first_seen END, resolved_at = 0`,
		f.ServiceID, f.Environment, f.Fingerprint, f.Code, f.Severity, f.ResourceKind, f.ResourceName, f.Container, f.Summary, micros(f.FirstSeen))
	if err != nil {
		return fmt.Errorf("finding %s: %w", f.Fingerprint, err)
	}
	return nil
}

// FindingResolved records that a cause no longer holds (once: a resolved one keeps its time).
func (q Queries) FindingResolved(ctx context.Context, serviceID, env, fingerprint string, at time.Time) error {
	_, err := q.exec(ctx, "UPDATE findings SET resolved_at = ? WHERE service_id = ? AND environment = ? AND fingerprint = ? AND resolved_at = 0",
		micros(at), serviceID, env, fingerprint)
	return err
}

// PruneFindings forgets causes resolved before cutoff.
func (q Queries) PruneFindings(ctx context.Context, cutoff time.Time) (int64, error) {
	return q.exec(ctx, "DELETE FROM findings WHERE resolved_at > 0 AND resolved_at < ?", micros(cutoff))
}

// FindingKey names one recorded cause.
type FindingKey struct {
	ServiceID   string `db:"service_id"`
	Environment string `db:"environment"`
	Fingerprint string `db:"fingerprint"`
}

// HoldingFindings returns the key of every recorded cause that has not resolved.
func (q Queries) HoldingFindings(ctx context.Context) ([]FindingKey, error) {
	var out []FindingKey
	if err := q.selectAll(ctx, &out, "SELECT service_id, environment, fingerprint FROM findings WHERE resolved_at = 0"); err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	return out, nil
}
