package store

import (
	"context"
	"fmt"
	"time"
)

// EnvironmentSchedule is an environment's sleep schedule and what the sleeper made of it.
type EnvironmentSchedule struct {
	EnvironmentID string
	// Spec is the schedule as JSON (time zone, windows, holidays).
	Spec          string
	OverrideState string // "" without an override
	OverrideUntil time.Time
	// State is awake, asleep, sleeping or waking.
	State        string
	TransitionAt time.Time
	// Transition is the last transition's result as JSON.
	Transition string
	Problem    string
	UpdatedAt  time.Time
	UpdatedBy  string
	// Of the environment, for the sleeper.
	TeamID, TeamName, Environment, Namespace, Cluster string
}

type scheduleRow struct {
	EnvironmentID string `db:"environment_id"`
	Spec          string `db:"spec"`
	OverrideState string `db:"override_state"`
	OverrideUntil int64  `db:"override_until"`
	State         string `db:"state"`
	TransitionAt  int64  `db:"transition_at"`
	Transition    string `db:"transition"`
	Problem       string `db:"problem"`
	UpdatedAt     int64  `db:"updated_at"`
	UpdatedBy     string `db:"updated_by"`
	TeamID        string `db:"team_id"`
	TeamName      string `db:"team_name"`
	Environment   string `db:"name"`
	Namespace     string `db:"namespace"`
	Cluster       string `db:"cluster"`
}

func (r scheduleRow) schedule() EnvironmentSchedule {
	return EnvironmentSchedule{EnvironmentID: r.EnvironmentID, Spec: r.Spec, OverrideState: r.OverrideState, OverrideUntil: fromMicros(r.OverrideUntil),
		State: r.State, TransitionAt: fromMicros(r.TransitionAt), Transition: r.Transition, Problem: r.Problem, UpdatedAt: fromMicros(r.UpdatedAt),
		UpdatedBy: r.UpdatedBy, TeamID: r.TeamID, TeamName: r.TeamName, Environment: r.Environment, Namespace: r.Namespace, Cluster: r.Cluster}
}

const scheduleSelect = `SELECT s.environment_id, s.spec, s.override_state, s.override_until, s.state, s.transition_at, s.transition, s.problem,
		s.updated_at, s.updated_by, e.team_id, t.name AS team_name, e.name, e.namespace, e.cluster
	FROM environment_schedules s JOIN environments e ON e.id = s.environment_id JOIN teams t ON t.id = e.team_id`

// PutSchedule sets an environment's schedule, keeping its state and override.
func (q Queries) PutSchedule(ctx context.Context, envID, spec, by string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO environment_schedules (environment_id, spec, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (environment_id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		envID, spec, micros(at), by)
	if err != nil {
		return fmt.Errorf("put schedule: %w", err)
	}
	return nil
}

// SetScheduleOverride sets (state "" clears) the override of an environment that has a
// schedule: false when it has none.
func (q Queries) SetScheduleOverride(ctx context.Context, envID, state string, until time.Time, by string, at time.Time) (bool, error) {
	u := int64(0)
	if state != "" {
		u = micros(until)
	}
	n, err := q.exec(ctx, `UPDATE environment_schedules SET override_state = ?, override_until = ?, updated_at = ?, updated_by = ? WHERE environment_id = ?`,
		state, u, micros(at), by, envID)
	if err != nil {
		return false, fmt.Errorf("set schedule override: %w", err)
	}
	return n == 1, nil
}

// ScheduleOf is an environment's schedule (ErrNotFound: none).
func (q Queries) ScheduleOf(ctx context.Context, envID string) (EnvironmentSchedule, error) {
	var r scheduleRow
	if err := q.get(ctx, &r, scheduleSelect+` WHERE s.environment_id = ?`, envID); err != nil {
		return EnvironmentSchedule{}, fmt.Errorf("schedule: %w", err)
	}
	return r.schedule(), nil
}

// AllSchedules are every environment's schedule, for the sleeper.
func (q Queries) AllSchedules(ctx context.Context) ([]EnvironmentSchedule, error) {
	var rows []scheduleRow
	if err := q.selectAll(ctx, &rows, scheduleSelect+` ORDER BY s.environment_id`); err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	out := make([]EnvironmentSchedule, len(rows))
	for i, r := range rows {
		out[i] = r.schedule()
	}
	return out, nil
}

// SetScheduleState records the sleeper's state of an environment, with the transition that
// reached it (transition "" keeps the last one) and the problem of a failed attempt.
func (q Queries) SetScheduleState(ctx context.Context, envID, state, transition, problem string, at time.Time) error {
	var err error
	if transition == "" {
		_, err = q.exec(ctx, `UPDATE environment_schedules SET state = ?, problem = ? WHERE environment_id = ?`, state, problem, envID)
	} else {
		_, err = q.exec(ctx, `UPDATE environment_schedules SET state = ?, problem = ?, transition = ?, transition_at = ? WHERE environment_id = ?`,
			state, problem, transition, micros(at), envID)
	}
	if err != nil {
		return fmt.Errorf("set schedule state: %w", err)
	}
	return nil
}

// DeleteSchedule removes an environment's schedule.
func (q Queries) DeleteSchedule(ctx context.Context, envID string) error {
	_, err := q.exec(ctx, `DELETE FROM environment_schedules WHERE environment_id = ?`, envID)
	return err
}
