// Package provision creates services: a run of ordered, idempotent steps (validate, ensure the
// environments, render, policy preflight, commit to the GitOps repository, credentials,
// Argo CD objects, refresh, rollout) whose state, timings and errors are stored, so a run can
// be read, retried from where it stopped, and resumed after Berth restarts. Argo CD applies
// what is committed; Berth never applies workload manifests itself.
//
// Several replicas execute runs together: a run is claimed in the database (runs.claimed_by,
// claim_until) by the replica that executes it, renewed while it executes and given up when
// it stops, so one replica at a time carries each run; a dead replica's runs are taken over
// once its claim runs out (Deps.ClaimLease, 20 s), at the next sweep.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/internal/workloads"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Run and step states.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusPending   = "pending"
)

// Steps of a create run, in order.
var Steps = []string{"validate", "environments", "render", "preflight", "commit", "credentials", "argocd", "refresh", "rollout"}

// Preflight checks rendered files before they are committed (the policy capability fills it).
type Preflight func(ctx context.Context, team string, files []blueprint.File) (warnings []string, err error)

// Deps are what provisioning works with.
type Deps struct {
	Store      *store.Store
	Tenancy    *tenancy.Service
	Blueprints *blueprint.Catalog
	Repo       *gitops.Repo
	// RepoURL is the GitOps repository as CI pipelines and Argo CD reach it.
	RepoURL string
	// Argo is nil when no cluster is configured.
	Argo *argocd.Client
	// Cluster is Berth's own client configuration for the cluster an environment is placed on
	// ("" is Berth's own; see tenancy.Fleet.ClusterConfig); nil without a cluster.
	Cluster          func(ctx context.Context, name string) (*rest.Config, error)
	IngressNamespace string
	// ManualSync names environments whose Applications a person syncs (prod by default).
	ManualSync []string
	Preflight  Preflight
	// Databases makes the databases services ask for (see internal/databases). Without it, a
	// service that asks for one is refused, unless DatabaseClaims: the database is then a
	// Crossplane claim in the service's GitOps files and Crossplane writes its Secret.
	Databases      databases.Provider
	DatabaseClaims bool
	// DropDatabases drops an environment's databases when it (or its team) is deleted;
	// otherwise they are retained and the audit log names them.
	DropDatabases bool
	// Hosts names public services' hosts; the zero value means blueprint.DefaultHosts.
	Hosts          blueprint.HostNamer
	RolloutTimeout time.Duration
	// GitTimeout is how long a step waits for a GitOps remote that cannot be reached or
	// refuses the push (10 minutes by default).
	GitTimeout time.Duration
	// OutageTimeout is how long a step waits for a server that does not answer (the
	// Kubernetes API server restarting, PostgreSQL failing over) before the run fails
	// (10 minutes by default).
	OutageTimeout time.Duration
	// Workloads, when set, holds each cluster's workloads informers: the rollout step reads
	// the diagnosis of what it deployed from them.
	Workloads *workloads.Registry
	// RunsPerTeam bounds the runs of one team that execute at once (default 2); Run's workers
	// bound them all.
	RunsPerTeam int
	// Executor names this process among the replicas that execute runs, in each run it
	// claims: the replica's name (its pod's, or the host's when empty) and a suffix of this
	// process's own, so that a restarted container does not take its predecessor's claims for
	// its own while that one may still be finishing a step;
	// ClaimLease is how long its claim on a run holds without renewal (20 s by default): a
	// dead replica's runs are taken over after it.
	Executor   string
	ClaimLease time.Duration
	Log        *slog.Logger
}

// Service is the provisioning domain and its run executor.
type Service struct {
	deps  Deps
	sched *schedule
	now   func() time.Time

	mu         sync.Mutex
	parkedRuns map[string]string   // waiting runs -> their team
	waitingFor map[string][]string // Application -> runs waiting for it

	changes changes // wakes Follow when a run's state is stored

	// afterStep, when set, is called once a step has done its work and before that is
	// stored: where a test kills Berth.
	afterStep func(step string)
}

// New returns provisioning over deps.
func New(d Deps) *Service {
	if d.RolloutTimeout == 0 {
		d.RolloutTimeout = 5 * time.Minute
	}
	if d.GitTimeout == 0 {
		d.GitTimeout = 10 * time.Minute
	}
	if d.OutageTimeout == 0 {
		d.OutageTimeout = 10 * time.Minute
	}
	if d.Hosts.Pattern == "" {
		d.Hosts = blueprint.DefaultHosts
	}
	if d.RunsPerTeam == 0 {
		d.RunsPerTeam = 2
	}
	if d.Executor == "" {
		d.Executor, _ = os.Hostname()
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	d.Executor += "-" + hex.EncodeToString(b[:])
	if d.ClaimLease == 0 {
		d.ClaimLease = 20 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{deps: d, sched: newSchedule(4, d.RunsPerTeam), parkedRuns: map[string]string{}, waitingFor: map[string][]string{},
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// NewService is what a developer asks for.
type NewService struct {
	Name, Blueprint, Image, Tag, Repo string
	Parameters                        map[string]any
	// Environments to deploy to; empty means every environment of the team.
	Environments []string
}

// enqueue queues a run under its team.
func (s *Service) enqueue(id string) {
	run, err := s.deps.Store.Q().RunByID(context.Background(), id)
	if err != nil {
		s.deps.Log.Warn("run not queued; the next sweep queues it", "run", id, "error", err)
		return
	}
	s.sched.add(run.TeamID, id)
}

// Get returns a run the caller may see (team viewer).
func (s *Service) Get(ctx context.Context, p access.Principal, id string) (store.Run, store.Service, error) {
	run, err := s.deps.Store.Q().RunByID(ctx, id)
	if err != nil {
		return store.Run{}, store.Service{}, err
	}
	svc, err := s.deps.Store.Q().ServiceByID(ctx, run.ServiceID)
	if err != nil {
		return store.Run{}, store.Service{}, err
	}
	if _, err := s.deps.Tenancy.Authorize(ctx, p, svc.TeamName, access.Viewer); err != nil {
		return store.Run{}, store.Service{}, fmt.Errorf("run %s: %w", id, errs.ErrNotFound)
	}
	return run, svc, nil
}

// Retry starts a failed run again from the step that failed (team editor).
func (s *Service) Retry(ctx context.Context, p access.Principal, id string) (store.Run, error) {
	run, svc, err := s.Get(ctx, p, id)
	if err != nil {
		return store.Run{}, err
	}
	if _, err := s.deps.Tenancy.Authorize(ctx, p, svc.TeamName, access.Editor); err != nil {
		return store.Run{}, err
	}
	if run.Status != StatusFailed {
		return store.Run{}, fmt.Errorf("%w: run %s is %s; only failed runs are retried", errs.ErrConflict, id, run.Status)
	}
	run.Status, run.Error, run.FinishedAt = StatusQueued, "", time.Time{}
	err = s.deps.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateRun(ctx, run); err != nil {
			return oneAtATime(err, svc.Name)
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "run.retry", Team: svc.TeamName, TeamID: svc.TeamID, Target: "run/" + id}, s.now())
	})
	s.changes.notify()
	if err != nil {
		return store.Run{}, err
	}
	s.enqueue(id)
	return run, nil
}

// Services lists a team's services (team viewer).
func (s *Service) Services(ctx context.Context, p access.Principal, team string) ([]store.Service, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return nil, err
	}
	return s.deps.Store.Q().ListServices(ctx, t.ID)
}

// ServiceStatus is a service with its last runs and, per environment, what Argo CD reports.
type ServiceStatus struct {
	Service      store.Service
	Runs         []store.Run
	Environments []EnvironmentStatus
}

// EnvironmentStatus is one environment of a service.
type EnvironmentStatus struct {
	Name, Namespace, Application string
	// Host is the public host the service holds there ("" unless public), URL its address.
	Host, URL string
	Argo      *argocd.AppStatus
	Error     string
}

// Status reads one service (team viewer).
func (s *Service) Status(ctx context.Context, p access.Principal, team, name string) (ServiceStatus, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return ServiceStatus{}, err
	}
	q := s.deps.Store.Q()
	svc, err := q.ServiceByName(ctx, t.ID, name)
	if err != nil {
		return ServiceStatus{}, err
	}
	out := ServiceStatus{Service: svc}
	if out.Runs, err = q.ListServiceRuns(ctx, svc.ID, 5); err != nil {
		return ServiceStatus{}, err
	}
	hosts, err := q.ServiceHosts(ctx, svc.ID)
	if err != nil {
		return ServiceStatus{}, err
	}
	for _, e := range svc.Environments {
		es := EnvironmentStatus{Name: e, Application: argocd.AppName(ownerOf(svc), svc.Name, e), Host: hosts[e]}
		if es.Host != "" {
			es.URL = s.deps.Hosts.URL(es.Host)
		}
		if env, err := q.EnvironmentByName(ctx, t.ID, e); err == nil {
			es.Namespace = env.Namespace
		}
		var err error
		if es.Argo, err = s.AppStatus(ctx, svc, e); err != nil {
			es.Error = err.Error()
		}
		out.Environments = append(out.Environments, es)
	}
	return out, nil
}

// AppStatus reads what Argo CD reports of a service's Application in env, from its informer;
// the caller has authorized the read.
func (s *Service) AppStatus(ctx context.Context, svc store.Service, env string) (*argocd.AppStatus, error) {
	if s.deps.Argo == nil {
		return nil, errors.New("no cluster configured")
	}
	st, err := s.deps.Argo.Status(ctx, argocd.AppName(ownerOf(svc), svc.Name, env))
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// oneAtATime explains the database's refusal of a second active run of a service (the
// runs_one_active index): a concurrent request started one first.
func oneAtATime(err error, service string) error {
	if errors.Is(err, errs.ErrConflict) {
		return fmt.Errorf("%w: another run of %s was started at the same moment and is still going; wait for it", errs.ErrConflict, service)
	}
	return err
}

func newRun(teamID, serviceID, action, tag string, params map[string]any, p access.Principal, now time.Time) store.Run {
	run := store.Run{ID: audit.NewID(), TeamID: teamID, ServiceID: serviceID, Action: action, Status: StatusQueued, RequestedBy: p.Subject,
		RequestedGroups: p.Groups, Tag: tag, Parameters: params, CreatedAt: now}
	for i, name := range Steps {
		run.Steps = append(run.Steps, store.RunStep{Index: i, Name: name, Status: StatusPending})
	}
	return run
}

// Release is a change to what a service deploys: a new image tag and/or parameters (merged
// over the current ones). Nil fields stay as they are.
type Release struct {
	Tag        *string
	Parameters map[string]any
}

// Update starts a run that commits and deploys a change (team editor).
func (s *Service) Update(ctx context.Context, p access.Principal, team, name string, r Release) (store.Run, error) {
	return s.release(ctx, p, team, name, "update", func(svc store.Service) (string, map[string]any, error) {
		tag, params := svc.Tag, map[string]any{}
		for k, v := range svc.Parameters {
			params[k] = v
		}
		if r.Tag != nil {
			tag = *r.Tag
		}
		for k, v := range r.Parameters {
			params[k] = v
		}
		return tag, params, nil
	}, nil)
}

// Rollback starts a run that commits again what an earlier succeeded run deployed: in GitOps
// a rollback is a new commit, so history stays whole and Argo CD syncs it like any change.
func (s *Service) Rollback(ctx context.Context, p access.Principal, team, name, toRun string) (store.Run, error) {
	return s.release(ctx, p, team, name, "rollback", func(svc store.Service) (string, map[string]any, error) {
		target, err := s.deps.Store.Q().RunByID(ctx, toRun)
		if err != nil || target.ServiceID != svc.ID {
			return "", nil, errs.Invalid("/run", "no run %s of service %s", toRun, svc.Name)
		}
		if target.Status != StatusSucceeded || target.Tag == "" {
			return "", nil, errs.Invalid("/run", "run %s did not succeed; roll back to one that did", toRun)
		}
		return target.Tag, target.Parameters, nil
	}, map[string]any{"to": toRun})
}

// release is Update and Rollback: one run at a time per service, the service row updated
// with the run in one transaction.
func (s *Service) release(ctx context.Context, p access.Principal, team, name, action string,
	next func(store.Service) (string, map[string]any, error), detail map[string]any) (store.Run, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Editor)
	if err != nil {
		return store.Run{}, err
	}
	q := s.deps.Store.Q()
	svc, err := q.ServiceByName(ctx, t.ID, name)
	if err != nil {
		return store.Run{}, err
	}
	tag, params, err := next(svc)
	if err != nil {
		return store.Run{}, err
	}
	bp, err := s.deps.Blueprints.Get(svc.Blueprint)
	if err != nil {
		return store.Run{}, err
	}
	values, err := blueprint.Resolve(bp, params)
	if err != nil {
		return store.Run{}, err
	}
	if err := blueprint.CheckRelease(svc.Name, svc.Image, tag); err != nil {
		return store.Run{}, err
	}
	envs, err := q.ListEnvironments(ctx, t.ID)
	if err != nil {
		return store.Run{}, err
	}
	released := svc
	released.Tag = tag
	in, err := s.input(released, bp, envs, values)
	if err != nil {
		return store.Run{}, err
	}
	hosts := hostsOf(in)
	if err := s.hostsFree(ctx, q, svc.ID, hosts); err != nil {
		return store.Run{}, err
	}
	if _, err := s.checkPolicies(ctx, released, bp, in); err != nil {
		return store.Run{}, err
	}
	was, known, err := s.deployed(ctx, q, svc, bp)
	if err != nil {
		return store.Run{}, err
	}
	if known {
		if _, err := s.quotaRoom(released, envs, blueprint.FootprintOf(bp, t.Name, svc.Name, values), was); err != nil {
			return store.Run{}, err
		}
	}
	resolved := map[string]any{}
	for k, v := range values {
		resolved[k] = v
	}
	runs, err := q.ListServiceRuns(ctx, svc.ID, 1)
	if err != nil {
		return store.Run{}, err
	}
	if len(runs) > 0 && (runs[0].Status == StatusQueued || runs[0].Status == StatusRunning) {
		return store.Run{}, fmt.Errorf("%w: run %s of %s is still %s; wait for it (or retry it if it failed)", errs.ErrConflict, runs[0].ID, name, runs[0].Status)
	}
	now := s.now()
	run := newRun(t.ID, svc.ID, action, tag, resolved, p, now)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["run"], detail["tag"] = run.ID, tag
	err = s.deps.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateServiceRelease(ctx, svc.ID, tag, resolved, now); err != nil {
			return err
		}
		if err := claimHosts(ctx, q, svc, hosts); err != nil {
			return err
		}
		if err := q.CreateRun(ctx, run); err != nil {
			return oneAtATime(err, name)
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "service." + action, Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/service/" + name, Detail: detail}, now)
	})
	if err != nil {
		return store.Run{}, err
	}
	s.enqueue(run.ID)
	return run, nil
}

// deployed is the footprint of what a service runs now: what its newest succeeded run
// deployed (nil when none did, and nothing of it runs). known is false when that cannot be
// told (the run's parameters no longer fit the blueprint): the quota is then left to
// Kubernetes rather than a change refused on a guess.
func (s *Service) deployed(ctx context.Context, q store.Queries, svc store.Service, bp *blueprint.Blueprint) (fp *blueprint.Footprint, known bool, err error) {
	runs, err := q.ListServiceRuns(ctx, svc.ID, 50)
	if err != nil {
		return nil, false, err
	}
	for _, r := range runs {
		if r.Status != StatusSucceeded {
			continue
		}
		values, err := blueprint.Resolve(bp, r.Parameters)
		if err != nil {
			return nil, false, nil
		}
		f := blueprint.FootprintOf(bp, svc.TeamName, svc.Name, values)
		return &f, true, nil
	}
	return nil, true, nil
}

// Sync deploys a service's environment now: for manually synced environments (prod), this is
// how a person releases what is committed (team editor). It returns the Application synced.
func (s *Service) Sync(ctx context.Context, p access.Principal, team, name, env string) (string, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Editor)
	if err != nil {
		return "", err
	}
	q := s.deps.Store.Q()
	svc, err := q.ServiceByName(ctx, t.ID, name)
	if err != nil {
		return "", err
	}
	if !slices.Contains(svc.Environments, env) {
		return "", errs.Invalid("/environment", "service %s is not deployed to %q", name, env)
	}
	if s.deps.Argo == nil {
		return "", fmt.Errorf("%w: no cluster configured", errs.ErrUnavailable)
	}
	app := argocd.AppName(ownerOf(svc), name, env)
	if err := s.deps.Argo.Sync(ctx, ownerOf(svc), name, env, p.Subject); err != nil {
		return "", err
	}
	return app, s.deps.Store.Tx(ctx, func(q store.Queries) error {
		return audit.Record(ctx, q, p, audit.Entry{Action: "service.sync", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/service/" + name + "/" + env,
			Detail: map[string]any{"application": app}}, s.now())
	})
}

// checkPolicies runs the preflight before a request is accepted, so that enforced policy
// failures are the request's 422 rather than a failed run; the run checks again before it
// commits, as policies may change in between.
func (s *Service) checkPolicies(ctx context.Context, svc store.Service, bp *blueprint.Blueprint, in blueprint.Input) ([]string, error) {
	if s.deps.Preflight == nil {
		return nil, nil
	}
	r, err := blueprint.Render(bp, in)
	if err != nil {
		return nil, err
	}
	return s.deps.Preflight(ctx, svc.TeamName, r.GitOps)
}

// input is what a service is rendered from; envs may hold other environments of the team.
// A public service gets a host per environment (see blueprint.HostNamer).
func (s *Service) input(svc store.Service, bp *blueprint.Blueprint, envs []store.Environment, values blueprint.Values) (blueprint.Input, error) {
	var in []blueprint.Environment
	for _, e := range envs {
		if slices.Contains(svc.Environments, e.Name) {
			in = append(in, blueprint.Environment{Name: e.Name, Namespace: e.Namespace})
		}
	}
	fp := blueprint.FootprintOf(bp, svc.TeamName, svc.Name, values)
	if fp.DatabaseSecret != "" && s.deps.Databases == nil && !s.deps.DatabaseClaims {
		return blueprint.Input{}, errs.Invalid("/parameters/"+bp.Spec.Infrastructure.DatabaseParameter,
			"this Berth has no provider of service databases configured (--service-databases); ask the platform team, or deploy without a database")
	}
	if fp.Public {
		names := make([]string, len(in))
		for i, e := range in {
			names[i] = e.Name
		}
		hosts, err := s.deps.Hosts.Hosts(svc.TeamName, svc.Name, names, fp.CustomHost)
		if err != nil {
			return blueprint.Input{}, err
		}
		for i := range in {
			in[i].Host = hosts[in[i].Name]
		}
	}
	return blueprint.Input{Team: svc.TeamName, Service: svc.Name, Image: svc.Image, Tag: svc.Tag, Repo: svc.Repo, GitOpsRepo: s.deps.RepoURL,
		Environments: in, IngressNamespace: s.deps.IngressNamespace, Values: values, TLSIssuer: s.deps.Hosts.TLSIssuer, TLSSecret: s.deps.Hosts.TLSSecret,
		DatabaseClaim: s.deps.DatabaseClaims}, nil
}

// hostsFree refuses hosts that another service holds, naming the parameter that decides them.
func (s *Service) hostsFree(ctx context.Context, q store.Queries, serviceID string, hosts map[string]string) error {
	list := make([]string, 0, len(hosts))
	for _, h := range hosts {
		list = append(list, h)
	}
	taken, err := q.HostsTaken(ctx, serviceID, list)
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		return errs.Invalid("/parameters/host", "host %s is already used by another service; choose another host", strings.Join(taken, ", "))
	}
	return nil
}

// claimHosts records a service's hosts in the transaction of its change; a host another
// service took in the meantime is the same 422 as one taken before.
func claimHosts(ctx context.Context, q store.Queries, svc store.Service, hosts map[string]string) error {
	err := q.ClaimHosts(ctx, svc.TeamID, svc.ID, hosts)
	if errors.Is(err, errs.ErrConflict) {
		return errs.Invalid("/parameters/host", "a host of this service is already used by another service; choose another host")
	}
	return err
}

// hostsOf lists the hosts of a rendered service, one per environment ("" when not public).
func hostsOf(in blueprint.Input) map[string]string {
	out := map[string]string{}
	for _, e := range in.Environments {
		if e.Host != "" {
			out[e.Name] = e.Host
		}
	}
	return out
}

// asUser is a client that acts as the requester (Kubernetes RBAC decides) on the cluster the
// environment is placed on.
func (s *Service) asUser(ctx context.Context, cluster, user string, groups []string) (kubernetes.Interface, error) {
	if s.deps.Cluster == nil {
		return nil, fmt.Errorf("%w: no cluster configured", errs.ErrUnavailable)
	}
	cfg, err := s.deps.Cluster(ctx, cluster)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errs.ErrUnavailable, err)
	}
	return kube.AsUserOn(cfg, user, groups)
}

// ownerOf is the Argo CD owner of a service's objects.
func ownerOf(svc store.Service) argocd.Team { return argocd.Team{ID: svc.TeamID, Name: svc.TeamName} }
