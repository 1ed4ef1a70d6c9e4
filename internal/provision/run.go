package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// environments waits (a minute at most) for the service's team environments to be Ready:
// their namespaces, quotas and role bindings exist. It waits without holding a worker.
func (s *Service) environments(ctx context.Context, st *state) (string, error) {
	q := s.deps.Store.Q()
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
	switch {
	case pending == "":
		return strings.Join(st.svc.Environments, ", ") + " ready", nil
	case s.deps.Argo == nil:
		// Without a cluster nothing will make them Ready; the Argo CD step says so.
		return "no cluster: namespaces not checked", nil
	case time.Since(st.stepStarted) > time.Minute:
		return "", errors.New(pending)
	}
	return "", &waiting{after: time.Second, message: "waiting: " + pending}
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
	// A remote that cannot be reached or refuses the push for now is waited for (outage).
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
	if apierrors.IsForbidden(err) {
		// Berth's least-privilege account reads no team's secrets: the one there is kept
		// (with the provider's derived passwords it holds the same connection).
		return true, nil
	}
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
	st.appsWritten = s.now()
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
// automatically synced environment; manually synced ones wait for a person. It waits without
// holding a worker, woken by the Applications' changes, and fails at once when the rollout
// cannot progress: Argo CD's sync failed, or Kubernetes refuses the pods (quota, Pod Security)
// or the Deployment passed its progress deadline.
func (s *Service) rollout(ctx context.Context, st *state) (string, error) {
	var waited, manual, pending, apps []string
	for _, e := range st.envs {
		if slices.Contains(s.deps.ManualSync, e.Name) {
			manual = append(manual, e.Name)
			continue
		}
		app := argocd.AppName(ownerOf(st.svc), st.svc.Name, e.Name)
		status, err := s.deps.Argo.Status(ctx, app)
		if err == nil && status.Sync == "Synced" && status.Health == "Healthy" && len(status.Revision) == 40 {
			if ok, _ := s.deps.Repo.Includes(ctx, status.Revision, st.run.CommitSHA); ok {
				waited = append(waited, e.Name)
				continue
			}
		}
		if err == nil {
			if reason := s.stuck(st, e, status); reason != "" {
				return "", fmt.Errorf("%s cannot roll out in %s: %s", st.svc.Name, e.Name, reason)
			}
		}
		silent := argoSilent(app, status, time.Since(st.stepStarted))
		if time.Since(st.stepStarted) > s.deps.RolloutTimeout {
			if silent != "" {
				return "", fmt.Errorf("%s not synced and healthy at %.12s after %s: %s", app, st.run.CommitSHA, s.deps.RolloutTimeout, silent)
			}
			return "", fmt.Errorf("%s not synced and healthy at %.12s after %s: sync %s, health %s, revision %.12s %s",
				app, st.run.CommitSHA, s.deps.RolloutTimeout, status.Sync, status.Health, status.Revision, status.Message)
		}
		if silent != "" {
			pending = append(pending, e.Name+": "+silent)
		} else {
			pending = append(pending, fmt.Sprintf("%s %s/%s %s", e.Name, status.Sync, status.Health, status.Message))
		}
		apps = append(apps, app)
	}
	if len(pending) > 0 {
		return "", &waiting{after: 3 * time.Second, apps: apps, message: "waiting for Argo CD: " + strings.Join(pending, "; ")}
	}
	msg := "synced and healthy: " + strings.Join(waited, ", ")
	if len(manual) > 0 {
		msg += "; waiting for a manual sync: " + strings.Join(manual, ", ")
	}
	return msg, nil
}

// stuck says why a rollout cannot progress, "" while it can: a sync of this run that failed
// (or is being retried after the API server denied an object), or a diagnosis of what it
// deployed that waiting will not heal (see hopeless).
func (s *Service) stuck(st *state, e store.Environment, status argocd.AppStatus) string {
	// Only a sync of this run counts: one that started once its Applications were written.
	if op := status.OpState; op != nil && !st.appsWritten.IsZero() && !op.StartedAt.Before(st.appsWritten.Truncate(time.Second)) {
		if op.Failed() {
			return "Argo CD's sync failed: " + op.Message
		}
	}
	if status.Health == "Healthy" {
		return ""
	}
	if c := s.cache(e.Cluster); c != nil {
		return hopeless(c.Service(e.Namespace, st.svc.Name), s.deps.DatabaseClaims, time.Now())
	}
	// Without synced informers (Berth just started) the run waits, at most its timeout.
	return ""
}

// argoSilence is how long a refresh may stay pending before the rollout says Argo CD is not
// reconciling: a running application controller takes one within a second or two.
const argoSilence = 20 * time.Second

// argoSilent says, once the refresh the run asked for has been pending longer than
// argoSilence (waited is how long the rollout has waited), that Argo CD is not reconciling
// the Application; "" while it is.
func argoSilent(app string, status argocd.AppStatus, waited time.Duration) string {
	if !status.RefreshPending || waited < argoSilence {
		return ""
	}
	since := "has never reconciled " + app
	if !status.ReconciledAt.IsZero() {
		since = "has not reconciled " + app + " since " + status.ReconciledAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("Argo CD %s, and the refresh Berth asked for %s ago is not done: is Argo CD's application controller running?",
		since, waited.Round(time.Second))
}
