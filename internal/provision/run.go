package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Run executes queued runs with workers until ctx ends. Runs left queued or running by a
// previous process are resumed first: every step is idempotent, so a run killed midway
// finishes without duplicates.
func (s *Service) Run(ctx context.Context, workers int) error {
	// Before any run writes the new layout, an old repository moves to it.
	if moved, err := s.MigrateLayout(ctx); err != nil {
		s.deps.Log.Error("GitOps layout migration failed; it is tried again at the next start", "error", err)
	} else if moved {
		s.deps.Log.Info("GitOps repository moved to the team-scoped layout (teams/<team>/services/<service>)")
	}
	ids, err := s.deps.Store.Q().UnfinishedRuns(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.enqueue(id)
	}
	go s.sweep(ctx)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-s.queue:
					if err := s.execute(ctx, id); err != nil && ctx.Err() == nil {
						s.deps.Log.Warn("run failed", "run", id, "error", err)
					}
				}
			}
		}()
	}
	// Workers finish the step they are in (a stopping Berth leaves the run to resume).
	wg.Wait()
	return nil
}

// sweep re-queues queued runs now and then: those that did not fit the queue, and those another
// replica left behind. A run already executing here is not run twice (see execute).
func (s *Service) sweep(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids, err := s.deps.Store.Q().UnfinishedRuns(ctx)
		if err != nil {
			continue
		}
		for _, id := range ids {
			s.mu.Lock()
			busy := s.inflight[id]
			s.mu.Unlock()
			if !busy {
				s.enqueue(id)
			}
		}
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
}

func (s *Service) execute(ctx context.Context, id string) error {
	s.mu.Lock()
	if s.inflight[id] {
		s.mu.Unlock()
		return nil
	}
	s.inflight[id] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, id)
		s.mu.Unlock()
	}()
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
		return err
	}
	if run.Status != StatusQueued && run.Status != StatusRunning {
		return nil
	}
	svc, err := q.ServiceByID(ctx, run.ServiceID)
	if err != nil {
		return err
	}
	// A run deploys what it was asked to, even if the service has changed since.
	if run.Tag != "" {
		svc.Tag, svc.Parameters = run.Tag, run.Parameters
	}
	st := &state{run: run, svc: svc}
	run.Status = StatusRunning
	if run.StartedAt.IsZero() {
		run.StartedAt = s.now()
	}
	if err := saveRun(ctx, run); err != nil {
		return err
	}
	steps := map[string]func(context.Context, *state) (string, error){
		"validate": s.validate, "environments": s.environments, "render": s.render, "preflight": s.preflight,
		"commit": s.commit, "credentials": s.credentials, "argocd": s.argocd, "refresh": s.refresh, "rollout": s.rollout,
	}
	for _, step := range run.Steps {
		fn := steps[step.Name]
		// Steps that only compute (validate, environments, render) run again on a resume: later
		// steps need what they produce. Steps with effects that succeeded are not repeated.
		if step.Status == StatusSucceeded && !slices.Contains([]string{"validate", "environments", "render"}, step.Name) {
			continue
		}
		step.Status, step.StartedAt, step.FinishedAt, step.Message = StatusRunning, s.now(), time.Time{}, ""
		if err := saveStep(ctx, step); err != nil {
			return err
		}
		msg, err := fn(ctx, st)
		step.FinishedAt, step.Message = s.now(), msg
		if err != nil && ctx.Err() != nil {
			// Berth is stopping: the run stays running and resumes at the next start.
			return ctx.Err()
		}
		if err != nil {
			step.Status, step.Message = StatusFailed, err.Error()
			run.Status, run.Error, run.FinishedAt = StatusFailed, step.Name+": "+err.Error(), s.now()
			run.CommitSHA = st.run.CommitSHA
			if uerr := saveStep(context.WithoutCancel(ctx), step); uerr != nil {
				return uerr
			}
			serr := saveRun(context.WithoutCancel(ctx), run)
			if serr == nil {
				s.followMove(context.WithoutCancel(ctx), st)
			}
			return errors.Join(err, serr)
		}
		step.Status = StatusSucceeded
		if err := saveStep(ctx, step); err != nil {
			return err
		}
		if st.run.CommitSHA != run.CommitSHA {
			run.CommitSHA = st.run.CommitSHA
			if err := saveRun(ctx, run); err != nil {
				return err
			}
		}
	}
	run.Status, run.FinishedAt = StatusSucceeded, s.now()
	if err := saveRun(ctx, run); err != nil {
		return err
	}
	// Only now, with this run finished, may another start.
	s.followMove(ctx, st)
	return nil
}

func (s *Service) validate(_ context.Context, st *state) (string, error) {
	bp, err := s.deps.Blueprints.Get(st.svc.Blueprint)
	if err != nil {
		return "", err
	}
	values, err := blueprint.Resolve(bp, st.svc.Parameters)
	if err != nil {
		return "", err
	}
	st.bp, st.values = bp, values
	return fmt.Sprintf("blueprint %s, %d parameters", bp.Metadata.Name, len(values)), nil
}

// environments waits (briefly) for the service's team environments to be Ready: their
// namespaces, quotas and role bindings exist.
func (s *Service) environments(ctx context.Context, st *state) (string, error) {
	q := s.deps.Store.Q()
	deadline := time.Now().Add(time.Minute)
	for {
		st.envs = st.envs[:0]
		pending := ""
		for _, name := range st.svc.Environments {
			env, err := q.EnvironmentByName(ctx, st.svc.TeamID, name)
			if err != nil {
				return "", fmt.Errorf("environment %s: %w", name, err)
			}
			if env.Phase != tenancy.PhaseReady {
				pending = fmt.Sprintf("environment %s is %s %s", name, env.Phase, env.Message)
			}
			st.envs = append(st.envs, env)
		}
		if pending == "" {
			return strings.Join(st.svc.Environments, ", ") + " ready", nil
		}
		if s.deps.Argo == nil {
			// Without a cluster nothing will make them Ready; the Argo CD step says so.
			return "no cluster: namespaces not checked", nil
		}
		if time.Now().After(deadline) {
			return "", errors.New(pending)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Service) render(_ context.Context, st *state) (string, error) {
	in, err := s.input(st.svc, st.bp, st.envs, st.values)
	if err != nil {
		return "", err
	}
	r, err := blueprint.Render(st.bp, in)
	if err != nil {
		return "", err
	}
	st.rendered = r
	return fmt.Sprintf("%d GitOps files, %d application files", len(r.GitOps), len(r.App)), nil
}

func (s *Service) preflight(ctx context.Context, st *state) (string, error) {
	if s.deps.Preflight == nil {
		return "no policies configured", nil
	}
	warnings, err := s.deps.Preflight(ctx, st.svc.TeamName, st.rendered.GitOps)
	if err != nil {
		return "", err
	}
	if len(warnings) > 0 {
		return "warnings: " + strings.Join(warnings, "; "), nil
	}
	return "passed", nil
}

func (s *Service) commit(ctx context.Context, st *state) (string, error) {
	email := st.run.RequestedBy
	if !strings.Contains(email, "@") {
		email = strings.NewReplacer(":", ".", "/", ".").Replace(email) + "@users.berth.invalid"
	}
	sha, err := s.deps.Repo.Commit(ctx, gitops.Change{Write: st.rendered.GitOps,
		Message: fmt.Sprintf("%s/%s: %s from blueprint %s (tag %s)\n\nBerth-Run: %s", st.svc.TeamName, st.svc.Name, st.run.Action, st.svc.Blueprint, st.svc.Tag, st.run.ID),
		Author:  gitops.Author{Name: st.run.RequestedBy, Email: email}})
	if err != nil {
		return "", err
	}
	st.run.CommitSHA = sha
	return "commit " + sha[:12], nil
}

// credentials makes each environment's database (the configured provider) and writes its
// connection Secret there, as the requester (Kubernetes RBAC decides), never in Git. With
// Crossplane claims, Crossplane writes the Secret and this step does nothing: one owner each.
func (s *Service) credentials(ctx context.Context, st *state) (string, error) {
	name := st.rendered.DatabaseSecret
	switch {
	case name == "":
		return "no database requested", nil
	case s.deps.DatabaseClaims:
		return "database claimed through Crossplane, which writes secret " + name, nil
	case s.deps.Databases == nil:
		return "", fmt.Errorf("%w: no provider of service databases is configured", errs.ErrUnavailable)
	}
	var made []string
	for _, e := range st.envs {
		conn, err := s.deps.Databases.Ensure(ctx, databases.Target{TeamID: st.svc.TeamID, Team: st.svc.TeamName, Service: st.svc.Name, Env: e.Name})
		if err != nil {
			return "", fmt.Errorf("database of %s: %w", e.Name, err)
		}
		if err := s.writeSecret(ctx, st, e, name, conn.SecretData()); err != nil {
			return "", err
		}
		made = append(made, conn.Database)
	}
	return fmt.Sprintf("databases %s; secret %s in %d namespaces", strings.Join(made, ", "), name, len(st.envs)), nil
}

// writeSecret creates the connection Secret as the requester. One that exists is kept when it
// holds the same connection (passwords are derived, so a retried or moved run writes the same
// one); one that differs (written before, by hand or for another server) is replaced. Berth
// reads it with its own credentials, as an editor may create and delete secrets but not read
// them.
func (s *Service) writeSecret(ctx context.Context, st *state, e store.Environment, name string, data map[string]string) error {
	cs, err := s.asUser(ctx, e.Cluster, st.run.RequestedBy, st.run.RequestedGroups)
	if err != nil {
		return err
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.Namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "berth", "berth.dev/service": st.svc.Name}},
		Type: corev1.SecretTypeOpaque, StringData: data}
	secrets := cs.CoreV1().Secrets(e.Namespace)
	_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("secret %s in %s: %w", name, e.Namespace, err)
		}
		return nil
	}
	if same, err := s.secretHolds(ctx, e, name, data); err != nil || same {
		return err
	}
	if err := secrets.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replace secret %s in %s: %w", name, e.Namespace, err)
	}
	if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("secret %s in %s: %w", name, e.Namespace, err)
	}
	return nil
}

// secretHolds reads a Secret with Berth's own credentials and says whether it holds data.
func (s *Service) secretHolds(ctx context.Context, e store.Environment, name string, data map[string]string) (bool, error) {
	cfg, err := s.deps.Cluster(ctx, e.Cluster)
	if err != nil {
		return false, err
	}
	own, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false, err
	}
	cur, err := own.CoreV1().Secrets(e.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("read secret %s in %s: %w", name, e.Namespace, err)
	}
	if len(cur.Data) != len(data) {
		return false, nil
	}
	for k, v := range data {
		if string(cur.Data[k]) != v {
			return false, nil
		}
	}
	return true, nil
}

func (s *Service) argocd(ctx context.Context, st *state) (string, error) {
	if s.deps.Argo == nil {
		return "", fmt.Errorf("%w: no cluster configured", errs.ErrUnavailable)
	}
	if err := s.deps.Argo.Installed(ctx); err != nil {
		return "", err
	}
	if err := s.ensureApplications(ctx, st.svc, st.envs); err != nil {
		return "", err
	}
	return fmt.Sprintf("project %s, %d applications", argocd.ProjectName(ownerOf(st.svc)), len(st.envs)), nil
}

// ensureApplications makes the team's AppProject (over all its namespaces, each on the
// cluster its environment is placed on) and the Application of each of envs; registered
// clusters are given to Argo CD first.
func (s *Service) ensureApplications(ctx context.Context, svc store.Service, envs []store.Environment) error {
	all, err := s.deps.Store.Q().ListEnvironments(ctx, svc.TeamID)
	if err != nil {
		return err
	}
	servers := map[string]string{"": ""}
	var dests []argocd.Destination
	for _, e := range all {
		if _, ok := servers[e.Cluster]; !ok {
			if servers[e.Cluster], err = s.argoCluster(ctx, e.Cluster); err != nil {
				return err
			}
		}
		dests = append(dests, argocd.Destination{Server: servers[e.Cluster], Namespace: e.Namespace})
	}
	if err := s.deps.Argo.EnsureRepository(ctx); err != nil {
		return fmt.Errorf("argo cd repository credentials: %w", err)
	}
	if err := s.deps.Argo.EnsureProject(ctx, ownerOf(svc), dests); err != nil {
		return fmt.Errorf("app project: %w", err)
	}
	for _, e := range envs {
		spec := argocd.AppSpec{Team: ownerOf(svc), Service: svc.Name, Env: e.Name, Namespace: e.Namespace, Server: servers[e.Cluster],
			Path: blueprint.ServiceDir(svc.TeamName, svc.Name) + "overlays/" + e.Name, Automated: !slices.Contains(s.deps.ManualSync, e.Name)}
		if err := s.deps.Argo.EnsureApplication(ctx, spec); err != nil {
			return fmt.Errorf("application %s: %w", argocd.AppName(spec.Team, spec.Service, spec.Env), err)
		}
	}
	return nil
}

// argoCluster gives Argo CD a registered cluster and returns its server URL.
func (s *Service) argoCluster(ctx context.Context, cluster string) (string, error) {
	if s.deps.Cluster == nil {
		return "", fmt.Errorf("%w: no cluster configured", errs.ErrUnavailable)
	}
	cfg, err := s.deps.Cluster(ctx, cluster)
	if err != nil {
		return "", fmt.Errorf("%w: cluster %s: %v", errs.ErrUnavailable, cluster, err)
	}
	return s.deps.Argo.EnsureCluster(ctx, cluster, cfg)
}

func (s *Service) refresh(ctx context.Context, st *state) (string, error) {
	for _, e := range st.envs {
		if err := s.deps.Argo.Refresh(ctx, argocd.AppName(ownerOf(st.svc), st.svc.Name, e.Name)); err != nil {
			return "", err
		}
	}
	return "refresh requested", nil
}

// rollout waits until Argo CD has synced the commit and reports the service Healthy in every
// automatically synced environment; manually synced ones wait for a person.
func (s *Service) rollout(ctx context.Context, st *state) (string, error) {
	var waited, manual []string
	deadline := time.Now().Add(s.deps.RolloutTimeout)
	for _, e := range st.envs {
		if slices.Contains(s.deps.ManualSync, e.Name) {
			manual = append(manual, e.Name)
			continue
		}
		app := argocd.AppName(ownerOf(st.svc), st.svc.Name, e.Name)
		for {
			status, err := s.deps.Argo.Status(ctx, app)
			if err == nil && status.Sync == "Synced" && status.Health == "Healthy" && len(status.Revision) == 40 {
				if ok, _ := s.deps.Repo.Includes(ctx, status.Revision, st.run.CommitSHA); ok {
					break
				}
			}
			if time.Now().After(deadline) {
				return "", fmt.Errorf("%s not synced and healthy at %.12s after %s: sync %s, health %s, revision %.12s %s",
					app, st.run.CommitSHA, s.deps.RolloutTimeout, status.Sync, status.Health, status.Revision, status.Message)
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
		}
		waited = append(waited, e.Name)
	}
	msg := "synced and healthy: " + strings.Join(waited, ", ")
	if len(manual) > 0 {
		msg += "; waiting for a manual sync: " + strings.Join(manual, ", ")
	}
	return msg, nil
}
