package store

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jmoiron/sqlx"
	"time"
)

// Service is a team's service as it was asked for.
type Service struct {
	ID, TeamID, TeamName, Name, Blueprint string
	Image, Tag, Repo                      string
	Parameters                            map[string]any
	Environments                          []string
	CreatedBy                             string
	CreatedAt, UpdatedAt                  time.Time
}

type serviceRow struct {
	ID           string `db:"id"`
	TeamID       string `db:"team_id"`
	TeamName     string `db:"team_name"`
	Name         string `db:"name"`
	Blueprint    string `db:"blueprint"`
	Image        string `db:"image"`
	Tag          string `db:"tag"`
	Repo         string `db:"repo"`
	Parameters   string `db:"parameters"`
	Environments string `db:"environments"`
	CreatedBy    string `db:"created_by"`
	CreatedAt    int64  `db:"created_at"`
	UpdatedAt    int64  `db:"updated_at"`
}

func (r serviceRow) service() (Service, error) {
	s := Service{ID: r.ID, TeamID: r.TeamID, TeamName: r.TeamName, Name: r.Name, Blueprint: r.Blueprint, Image: r.Image, Tag: r.Tag,
		Repo: r.Repo, CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
	if err := json.Unmarshal([]byte(r.Parameters), &s.Parameters); err != nil {
		return s, fmt.Errorf("service %s parameters: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(r.Environments), &s.Environments); err != nil {
		return s, fmt.Errorf("service %s environments: %w", r.Name, err)
	}
	return s, nil
}

const serviceSelect = "SELECT s.id, s.team_id, t.name AS team_name, s.name, s.blueprint, s.image, s.tag, s.repo, s.parameters, s.environments, s.created_by, s.created_at, s.updated_at FROM services s JOIN teams t ON t.id = s.team_id"

// CreateService inserts s; a taken name in the team is ErrConflict.
func (q Queries) CreateService(ctx context.Context, s Service) error {
	params, err := json.Marshal(s.Parameters)
	if err != nil {
		return err
	}
	envs, err := json.Marshal(s.Environments)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, "INSERT INTO services (id, team_id, name, blueprint, image, tag, repo, parameters, environments, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.TeamID, s.Name, s.Blueprint, s.Image, s.Tag, s.Repo, string(params), string(envs), s.CreatedBy, micros(s.CreatedAt), micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create service %s: %w", s.Name, err)
	}
	return nil
}

// ServiceByID returns a service or ErrNotFound.
func (q Queries) ServiceByID(ctx context.Context, id string) (Service, error) {
	var r serviceRow
	if err := q.get(ctx, &r, serviceSelect+" WHERE s.id = ?", id); err != nil {
		return Service{}, fmt.Errorf("service %s: %w", id, err)
	}
	return r.service()
}

// ServiceByName returns a team's service or ErrNotFound.
func (q Queries) ServiceByName(ctx context.Context, teamID, name string) (Service, error) {
	var r serviceRow
	if err := q.get(ctx, &r, serviceSelect+" WHERE s.team_id = ? AND s.name = ?", teamID, name); err != nil {
		return Service{}, fmt.Errorf("service %s: %w", name, err)
	}
	return r.service()
}

// ListServices returns a team's services by name.
func (q Queries) ListServices(ctx context.Context, teamID string) ([]Service, error) {
	var rows []serviceRow
	if err := q.selectAll(ctx, &rows, serviceSelect+" WHERE s.team_id = ? ORDER BY s.name", teamID); err != nil {
		return nil, err
	}
	return servicesOf(rows)
}

// AllServices returns every team's services, by team and name (for repository migrations).
func (q Queries) AllServices(ctx context.Context) ([]Service, error) {
	var rows []serviceRow
	if err := q.selectAll(ctx, &rows, serviceSelect+" ORDER BY t.name, s.name"); err != nil {
		return nil, err
	}
	return servicesOf(rows)
}

func servicesOf(rows []serviceRow) ([]Service, error) {
	out := make([]Service, 0, len(rows))
	for _, r := range rows {
		s, err := r.service()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Run is a provisioning run with its steps.
type Run struct {
	ID, TeamID, ServiceID, Action, Status, RequestedBy, CommitSHA, Error string
	// RequestedGroups are the requester's groups, so that writes made for them later (after a
	// restart, too) carry their identity.
	RequestedGroups []string
	// Tag and Parameters are what the run deploys.
	Tag                              string
	Parameters                       map[string]any
	CreatedAt, StartedAt, FinishedAt time.Time
	Steps                            []RunStep
}

// RunStep is one step of a run.
type RunStep struct {
	Index                 int
	Name, Status, Message string
	StartedAt, FinishedAt time.Time
}

type runRow struct {
	ID          string `db:"id"`
	TeamID      string `db:"team_id"`
	ServiceID   string `db:"service_id"`
	Action      string `db:"action"`
	Status      string `db:"status"`
	RequestedBy string `db:"requested_by"`
	Groups      string `db:"requested_groups"`
	Tag         string `db:"tag"`
	Parameters  string `db:"parameters"`
	CommitSHA   string `db:"commit_sha"`
	Error       string `db:"error"`
	CreatedAt   int64  `db:"created_at"`
	StartedAt   int64  `db:"started_at"`
	FinishedAt  int64  `db:"finished_at"`
}

type stepRow struct {
	RunID      string `db:"run_id"`
	Index      int    `db:"idx"`
	Name       string `db:"name"`
	Status     string `db:"status"`
	Message    string `db:"message"`
	StartedAt  int64  `db:"started_at"`
	FinishedAt int64  `db:"finished_at"`
}

// CreateRun inserts a run and its steps.
func (q Queries) CreateRun(ctx context.Context, r Run) error {
	groups, _ := json.Marshal(r.RequestedGroups)
	params, err := json.Marshal(r.Parameters)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, "INSERT INTO runs (id, team_id, service_id, action, status, requested_by, requested_groups, tag, parameters, commit_sha, error, created_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		r.ID, r.TeamID, r.ServiceID, r.Action, r.Status, r.RequestedBy, string(groups), r.Tag, string(params), r.CommitSHA, r.Error, micros(r.CreatedAt), optMicros(r.StartedAt), optMicros(r.FinishedAt))
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	for _, s := range r.Steps {
		if _, err := q.exec(ctx, "INSERT INTO run_steps (run_id, idx, name, status, message, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			r.ID, s.Index, s.Name, s.Status, s.Message, optMicros(s.StartedAt), optMicros(s.FinishedAt)); err != nil {
			return fmt.Errorf("create run step: %w", err)
		}
	}
	return nil
}

const runCols = "id, team_id, service_id, action, status, requested_by, requested_groups, tag, parameters, commit_sha, error, created_at, started_at, finished_at"

func (r runRow) run() (Run, error) {
	run := Run{ID: r.ID, TeamID: r.TeamID, ServiceID: r.ServiceID, Action: r.Action, Status: r.Status, RequestedBy: r.RequestedBy,
		Tag: r.Tag, CommitSHA: r.CommitSHA, Error: r.Error, CreatedAt: fromMicros(r.CreatedAt), StartedAt: optTime(r.StartedAt), FinishedAt: optTime(r.FinishedAt)}
	if err := json.Unmarshal([]byte(r.Groups), &run.RequestedGroups); err != nil {
		return Run{}, fmt.Errorf("run %s groups: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Parameters), &run.Parameters); err != nil {
		return Run{}, fmt.Errorf("run %s parameters: %w", r.ID, err)
	}
	return run, nil
}

// RunByID returns a run with its steps or ErrNotFound.
func (q Queries) RunByID(ctx context.Context, id string) (Run, error) {
	var r runRow
	if err := q.get(ctx, &r, "SELECT "+runCols+" FROM runs WHERE id = ?", id); err != nil {
		return Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	runs, err := q.withSteps(ctx, []runRow{r})
	if err != nil {
		return Run{}, err
	}
	return runs[0], nil
}

// withSteps converts rows to runs and loads all their steps in one query.
func (q Queries) withSteps(ctx context.Context, rows []runRow) ([]Run, error) {
	out := make([]Run, len(rows))
	at := map[string]int{}
	ids := make([]string, len(rows))
	for i, r := range rows {
		run, err := r.run()
		if err != nil {
			return nil, err
		}
		out[i], at[r.ID], ids[i] = run, i, r.ID
	}
	if len(rows) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In("SELECT run_id, idx, name, status, message, started_at, finished_at FROM run_steps WHERE run_id IN (?) ORDER BY run_id, idx", ids)
	if err != nil {
		return nil, err
	}
	var steps []stepRow
	if err := q.selectAll(ctx, &steps, query, args...); err != nil {
		return nil, err
	}
	for _, s := range steps {
		i := at[s.RunID]
		out[i].Steps = append(out[i].Steps, RunStep{Index: s.Index, Name: s.Name, Status: s.Status, Message: s.Message, StartedAt: optTime(s.StartedAt), FinishedAt: optTime(s.FinishedAt)})
	}
	return out, nil
}

// UpdateRun records a run's status, commit and error.
func (q Queries) UpdateRun(ctx context.Context, r Run) error {
	_, err := q.exec(ctx, "UPDATE runs SET status = ?, commit_sha = ?, error = ?, started_at = ?, finished_at = ? WHERE id = ?",
		r.Status, r.CommitSHA, r.Error, optMicros(r.StartedAt), optMicros(r.FinishedAt), r.ID)
	return err
}

// UpdateRunStep records a step's state.
func (q Queries) UpdateRunStep(ctx context.Context, runID string, s RunStep) error {
	_, err := q.exec(ctx, "UPDATE run_steps SET status = ?, message = ?, started_at = ?, finished_at = ? WHERE run_id = ? AND idx = ?",
		s.Status, s.Message, optMicros(s.StartedAt), optMicros(s.FinishedAt), runID, s.Index)
	return err
}

// UnfinishedRuns returns the ids of runs queued or running (to resume after a restart).
func (q Queries) UnfinishedRuns(ctx context.Context) ([]string, error) {
	var ids []string
	err := q.selectAll(ctx, &ids, "SELECT id FROM runs WHERE status IN ('queued', 'running') ORDER BY created_at")
	return ids, err
}

// ListServiceRuns returns a service's runs, newest first.
func (q Queries) ListServiceRuns(ctx context.Context, serviceID string, limit int) ([]Run, error) {
	var rows []runRow
	if err := q.selectAll(ctx, &rows, "SELECT "+runCols+" FROM runs WHERE service_id = ? ORDER BY created_at DESC LIMIT ?", serviceID, limit); err != nil {
		return nil, err
	}
	return q.withSteps(ctx, rows)
}

// UpdateServiceRelease records what a service now deploys.
func (q Queries) UpdateServiceRelease(ctx context.Context, id, tag string, params map[string]any, at time.Time) error {
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, "UPDATE services SET tag = ?, parameters = ?, updated_at = ? WHERE id = ?", tag, string(b), micros(at), id)
	return err
}

// SetServiceEnvironments records the environments a service deploys to.
func (q Queries) SetServiceEnvironments(ctx context.Context, id string, envs []string, at time.Time) error {
	b, err := json.Marshal(envs)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, "UPDATE services SET environments = ?, updated_at = ? WHERE id = ?", string(b), micros(at), id)
	return err
}

// Deployed is a service in one of its environments (Env is zero when the service names an
// environment its team no longer has).
type Deployed struct {
	Service Service
	EnvName string
	Env     Environment
	Found   bool
}

// AllDeployed lists every service in each environment it names, for the loops that visit
// them all (the findings record, the cost sampler).
func (q Queries) AllDeployed(ctx context.Context) ([]Deployed, error) {
	services, err := q.AllServices(ctx)
	if err != nil {
		return nil, err
	}
	envs, err := q.ListEnvironments(ctx, "")
	if err != nil {
		return nil, err
	}
	byName := map[[2]string]Environment{}
	for _, e := range envs {
		byName[[2]string{e.TeamID, e.Name}] = e
	}
	var out []Deployed
	for _, svc := range services {
		for _, name := range svc.Environments {
			env, ok := byName[[2]string{svc.TeamID, name}]
			out = append(out, Deployed{Service: svc, EnvName: name, Env: env, Found: ok})
		}
	}
	return out, nil
}
