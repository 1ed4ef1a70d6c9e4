package provision

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// Run executes queued runs until ctx ends, workers at a time (at most Deps.RunsPerTeam of one
// team; teams take turns). Runs left queued or running by a previous process are resumed
// first: every step is idempotent, so a run killed midway finishes without duplicates. A run
// whose step waits (for its namespaces, for Argo CD's rollout) gives its slot back and is
// woken by the Application's change or a timer.
func (s *Service) Run(ctx context.Context, workers int) error {
	// Before any run writes the new layout, an old repository moves to it.
	if moved, err := s.MigrateLayout(ctx); err != nil {
		s.deps.Log.Error("GitOps layout migration failed; it is tried again at the next start", "error", err)
	} else if moved {
		s.deps.Log.Info("GitOps repository moved to the team-scoped layout (teams/<team>/services/<service>)")
	}
	if workers > 0 {
		s.sched.mu.Lock()
		s.sched.total = workers
		s.sched.mu.Unlock()
	}
	if s.deps.Argo != nil {
		s.deps.Argo.OnChange(s.appChanged)
	}
	if err := s.requeue(ctx); err != nil {
		return err
	}
	go s.sweep(ctx)
	done := make(chan struct{}, 1)
	running := 0
	for {
		for {
			team, id, ok := s.sched.take()
			if !ok {
				break
			}
			running++
			go func() {
				s.executeScheduled(ctx, team, id)
				done <- struct{}{}
			}()
		}
		select {
		case <-ctx.Done():
			// Executing runs finish the step they are in (a stopping Berth leaves the run to resume).
			for ; running > 0; running-- {
				<-done
			}
			return nil
		case <-done:
			running--
		case <-s.sched.wake:
		}
	}
}

func (s *Service) executeScheduled(ctx context.Context, team, id string) {
	w, err := s.claimed(ctx, id, func(ctx context.Context) (*waiting, error) { return s.execute(ctx, id) })
	s.sched.done(team, id)
	if err != nil && ctx.Err() == nil {
		s.deps.Log.Warn("run failed", "run", id, "error", err)
	}
	if w != nil && ctx.Err() == nil {
		s.park(team, id, w)
	}
}

// requeue queues every unfinished run this process is not executing or parking.
func (s *Service) requeue(ctx context.Context) error {
	runs, err := s.deps.Store.Q().UnfinishedRuns(ctx)
	if err != nil {
		return err
	}
	for _, id := range runs {
		if !s.sched.has(id) && !s.parked(id) {
			s.enqueue(id)
		}
	}
	return nil
}

// sweep re-queues unfinished runs now and then (every claim lease, at most 30 s): those a dead
// replica held (taken once its claim runs out), and any a lost wake-up would strand.
func (s *Service) sweep(ctx context.Context) {
	t := time.NewTicker(min(30*time.Second, s.deps.ClaimLease))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = s.requeue(ctx)
	}
}

// waiting is what a step returns when it cannot finish yet: the run gives its slot back and is
// queued again after `after`, or sooner when one of apps (Argo CD Applications) changes.
type waiting struct {
	after   time.Duration
	apps    []string
	message string
}

func (w *waiting) Error() string { return w.message }

// park keeps a waiting run out of the schedule until its timer or an Application wakes it.
func (s *Service) park(team, id string, w *waiting) {
	s.mu.Lock()
	s.parkedRuns[id] = team
	for _, app := range w.apps {
		s.waitingFor[app] = append(s.waitingFor[app], id)
	}
	s.mu.Unlock()
	time.AfterFunc(w.after, func() { s.unpark(id) })
}

func (s *Service) parked(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.parkedRuns[id]
	return ok
}

// unpark queues a parked run again (once, however many wake-ups arrive).
func (s *Service) unpark(id string) {
	s.mu.Lock()
	team, ok := s.parkedRuns[id]
	delete(s.parkedRuns, id)
	s.mu.Unlock()
	if ok {
		s.sched.add(team, id)
	}
}

// appChanged wakes the runs waiting for an Application.
func (s *Service) appChanged(app string) {
	s.mu.Lock()
	ids := s.waitingFor[app]
	delete(s.waitingFor, app)
	s.mu.Unlock()
	for _, id := range ids {
		s.unpark(id)
	}
}

// state is what a run's steps pass along; every field can be recomputed from the database,
// which is what makes a resumed run correct.
type state struct {
	run      store.Run
	svc      store.Service
	bp       *blueprint.Blueprint
	values   blueprint.Values
	envs     []store.Environment
	rendered blueprint.Rendered
	// stepStarted is when the current step first started (waiting steps measure their
	// deadlines from it, across wake-ups and restarts); appsWritten when the argocd step
	// started writing the Applications (syncs before it are not this run's).
	stepStarted, appsWritten time.Time
}

// computed are the steps that only compute: they run again whenever a run is executed (later
// steps need what they produce), without being stored again.
var computed = []string{"validate", "environments", "render"}

// execute carries a run forward from its first unfinished step until it ends, or until a
// step waits (returned: the run stays running and is woken later).
func (s *Service) execute(ctx context.Context, id string) (*waiting, error) {
	q := s.deps.Store.Q()
	// Every stored change wakes the run's followers.
	saveRun := func(ctx context.Context, r store.Run) error {
		defer s.changes.notify()
		return q.UpdateRun(ctx, r)
	}
	saveStep := func(ctx context.Context, st store.RunStep) error {
		defer s.changes.notify()
		return q.UpdateRunStep(ctx, id, st)
	}
	run, err := q.RunByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.Status != StatusQueued && run.Status != StatusRunning {
		return nil, nil
	}
	svc, err := q.ServiceByID(ctx, run.ServiceID)
	if err != nil {
		return nil, err
	}
	// A run deploys what it was asked to, even if the service has changed since.
	if run.Tag != "" {
		svc.Tag, svc.Parameters = run.Tag, run.Parameters
	}
	st := &state{run: run, svc: svc}
	for _, step := range run.Steps {
		if step.Name == "argocd" {
			st.appsWritten = step.StartedAt
		}
	}
	if run.Status != StatusRunning {
		run.Status = StatusRunning
		if run.StartedAt.IsZero() {
			run.StartedAt = s.now()
		}
		if err := saveRun(ctx, run); err != nil {
			return nil, err
		}
	}
	steps := map[string]func(context.Context, *state) (string, error){
		"validate": s.validate, "environments": s.environments, "render": s.render, "preflight": s.preflight,
		"commit": s.commit, "credentials": s.credentials, "argocd": s.argocd, "refresh": s.refresh, "rollout": s.rollout,
	}
	for _, step := range run.Steps {
		fn := steps[step.Name]
		if step.Status == StatusSucceeded {
			if !slices.Contains(computed, step.Name) {
				continue // effects are not repeated
			}
			st.stepStarted = step.StartedAt
			if _, err := fn(ctx, st); err != nil {
				if ctx.Err() != nil { // stopping, or the claim lost: the run resumes elsewhere
					return nil, ctx.Err()
				}
				return nil, s.fail(ctx, run, st, step, err, saveRun, saveStep)
			}
			continue
		}
		if step.Status != StatusRunning || step.StartedAt.IsZero() {
			step.Status, step.StartedAt, step.FinishedAt, step.Message = StatusRunning, s.now(), time.Time{}, ""
			if err := saveStep(ctx, step); err != nil {
				return nil, err
			}
		}
		st.stepStarted = step.StartedAt
		msg, err := fn(ctx, st)
		if err != nil && ctx.Err() != nil {
			// Berth is stopping: the run stays running and resumes at the next start.
			return nil, ctx.Err()
		}
		err = s.outage(err, run.ID, step.Name, st.stepStarted)
		var w *waiting
		if errors.As(err, &w) {
			if step.Message != w.message {
				step.Message = w.message
				if err := saveStep(ctx, step); err != nil {
					return nil, err
				}
			}
			return w, nil
		}
		step.FinishedAt, step.Message = s.now(), msg
		if err != nil {
			return nil, s.fail(ctx, run, st, step, err, saveRun, saveStep)
		}
		if s.afterStep != nil {
			s.afterStep(step.Name)
		}
		step.Status = StatusSucceeded
		if err := saveStep(ctx, step); err != nil {
			return nil, err
		}
		if st.run.CommitSHA != run.CommitSHA {
			run.CommitSHA = st.run.CommitSHA
			if err := saveRun(ctx, run); err != nil {
				return nil, err
			}
		}
	}
	run.Status, run.FinishedAt = StatusSucceeded, s.now()
	if err := saveRun(ctx, run); err != nil {
		return nil, err
	}
	// Only now, with this run finished, may another start.
	s.followMove(ctx, st)
	return nil, nil
}

// fail stores a run's failure at step; a run with an environment that moved meanwhile is
// followed by a move run.
func (s *Service) fail(ctx context.Context, run store.Run, st *state, step store.RunStep, err error,
	saveRun func(context.Context, store.Run) error, saveStep func(context.Context, store.RunStep) error) error {
	ctx = context.WithoutCancel(ctx)
	// The team reads both; the whole error goes to the log with what this returns.
	said := errs.WithoutURL(err)
	step.Status, step.Message, step.FinishedAt = StatusFailed, said, s.now()
	run.Status, run.Error, run.FinishedAt = StatusFailed, step.Name+": "+said, s.now()
	run.CommitSHA = st.run.CommitSHA
	if uerr := saveStep(ctx, step); uerr != nil {
		return uerr
	}
	serr := saveRun(ctx, run)
	if serr == nil {
		s.followMove(ctx, st)
	}
	return errors.Join(err, serr)
}
