package store

import (
	"context"
	"fmt"
	"time"
)

// Environment is a team environment: its namespace, how its quota is sized and how the last
// reconcile went.
type Environment struct {
	ID, TeamID, TeamName, Name, Namespace string
	// Cluster is the registered cluster the environment is placed on; "" is Berth's own.
	Cluster string
	// Tier names a built-in quota size; when Budget > 0 the budget sizes the quota instead.
	Tier                         string
	Budget, CPUShare, LimitRatio float64
	Phase, Message               string
	AppliedAt, DriftRepairedAt   time.Time
	CreatedAt, UpdatedAt         time.Time
}

type environmentRow struct {
	ID               string `db:"id"`
	TeamID           string `db:"team_id"`
	TeamName         string `db:"team_name"`
	Name             string `db:"name"`
	Namespace        string `db:"namespace"`
	Cluster          string `db:"cluster"`
	Tier             string `db:"tier"`
	BudgetMicros     int64  `db:"budget_micros"`
	CPUShareMicros   int64  `db:"cpu_share_micros"`
	LimitRatioMicros int64  `db:"limit_ratio_micros"`
	Phase            string `db:"phase"`
	Message          string `db:"message"`
	AppliedAt        int64  `db:"applied_at"`
	DriftRepairedAt  int64  `db:"drift_repaired_at"`
	CreatedAt        int64  `db:"created_at"`
	UpdatedAt        int64  `db:"updated_at"`
}

func toMicros(f float64) int64       { return int64(f*1e6 + 0.5) }
func fromMillionths(n int64) float64 { return float64(n) / 1e6 }

func optTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func (r environmentRow) env() Environment {
	return Environment{ID: r.ID, TeamID: r.TeamID, TeamName: r.TeamName, Name: r.Name, Namespace: r.Namespace, Cluster: r.Cluster, Tier: r.Tier,
		Budget: fromMillionths(r.BudgetMicros), CPUShare: fromMillionths(r.CPUShareMicros), LimitRatio: fromMillionths(r.LimitRatioMicros),
		Phase: r.Phase, Message: r.Message, AppliedAt: optTime(r.AppliedAt), DriftRepairedAt: optTime(r.DriftRepairedAt),
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
}

const envSelect = "SELECT e.id, e.team_id, t.name AS team_name, e.name, e.namespace, e.cluster, e.tier, e.budget_micros, e.cpu_share_micros, e.limit_ratio_micros, e.phase, e.message, e.applied_at, e.drift_repaired_at, e.created_at, e.updated_at FROM environments e JOIN teams t ON t.id = e.team_id"

// CreateEnvironment inserts e; a taken name in the team or a taken namespace is ErrConflict.
func (q Queries) CreateEnvironment(ctx context.Context, e Environment) error {
	_, err := q.exec(ctx, "INSERT INTO environments (id, team_id, name, namespace, cluster, tier, budget_micros, cpu_share_micros, limit_ratio_micros, phase, message, applied_at, drift_repaired_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.TeamID, e.Name, e.Namespace, e.Cluster, e.Tier, toMicros(e.Budget), toMicros(e.CPUShare), toMicros(e.LimitRatio), e.Phase, e.Message,
		optMicros(e.AppliedAt), optMicros(e.DriftRepairedAt), micros(e.CreatedAt), micros(e.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create environment %s: %w", e.Name, err)
	}
	return nil
}

// UpdateEnvironmentQuota changes how an environment's quota is sized.
func (q Queries) UpdateEnvironmentQuota(ctx context.Context, e Environment) error {
	_, err := q.exec(ctx, "UPDATE environments SET tier = ?, budget_micros = ?, cpu_share_micros = ?, limit_ratio_micros = ?, phase = ?, updated_at = ? WHERE id = ?",
		e.Tier, toMicros(e.Budget), toMicros(e.CPUShare), toMicros(e.LimitRatio), e.Phase, micros(e.UpdatedAt), e.ID)
	if err != nil {
		return fmt.Errorf("update environment %s: %w", e.Name, err)
	}
	return nil
}

// SetEnvironmentStatus records the outcome of a reconcile.
func (q Queries) SetEnvironmentStatus(ctx context.Context, id, phase, message string, appliedAt, driftRepairedAt time.Time) error {
	_, err := q.exec(ctx, "UPDATE environments SET phase = ?, message = ?, applied_at = ?, drift_repaired_at = ? WHERE id = ?",
		phase, message, optMicros(appliedAt), optMicros(driftRepairedAt), id)
	if err != nil {
		return fmt.Errorf("environment status: %w", err)
	}
	return nil
}

// DeleteEnvironment removes an environment.
func (q Queries) DeleteEnvironment(ctx context.Context, id string) error {
	_, err := q.exec(ctx, "DELETE FROM environments WHERE id = ?", id)
	return err
}

// EnvironmentByName returns a team's environment or ErrNotFound.
func (q Queries) EnvironmentByName(ctx context.Context, teamID, name string) (Environment, error) {
	var r environmentRow
	if err := q.get(ctx, &r, envSelect+" WHERE e.team_id = ? AND e.name = ?", teamID, name); err != nil {
		return Environment{}, fmt.Errorf("environment %s: %w", name, err)
	}
	return r.env(), nil
}

// EnvironmentByNamespace returns the environment that owns a namespace or ErrNotFound.
func (q Queries) EnvironmentByNamespace(ctx context.Context, ns string) (Environment, error) {
	var r environmentRow
	if err := q.get(ctx, &r, envSelect+" WHERE e.namespace = ?", ns); err != nil {
		return Environment{}, fmt.Errorf("environment of namespace %s: %w", ns, err)
	}
	return r.env(), nil
}

// ListEnvironments returns a team's environments ("" for every team's) ordered by team and name.
func (q Queries) ListEnvironments(ctx context.Context, teamID string) ([]Environment, error) {
	query, args := envSelect, []any{}
	if teamID != "" {
		query += " WHERE e.team_id = ?"
		args = append(args, teamID)
	}
	var rows []environmentRow
	if err := q.selectAll(ctx, &rows, query+" ORDER BY t.name, e.created_at, e.name", args...); err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	out := make([]Environment, len(rows))
	for i, r := range rows {
		out[i] = r.env()
	}
	return out, nil
}

// AllMembers returns every member of a team.
func (q Queries) AllMembers(ctx context.Context, teamID string) ([]Member, error) {
	var rows []memberRow
	if err := q.selectAll(ctx, &rows, memberSelect+" WHERE m.team_id = ? ORDER BY m.kind, m.name", teamID); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = r.member()
	}
	return out, nil
}
