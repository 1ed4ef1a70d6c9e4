package provision_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/seal"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/internal/workloads"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{ArgoCD: true}) }

type fixture struct {
	pattern string
	p       *plane.Plane
	st      *store.Store
	ten     *tenancy.Service
	prov    *provision.Service
	deps    provision.Deps
	remote  string
	// stop ends the current executor (as a Berth restart would).
	stop func()
	// workers is what the next executor runs with (default 2).
	workers int
	// configure, when set, is applied to every executor before it starts.
	configure func(*provision.Service)
}

// startExecutor runs a fresh provisioning executor over the fixture's database and repository.
func (f *fixture) startExecutor(t testing.TB) {
	f.prov = provision.New(f.deps)
	if f.configure != nil {
		f.configure(f.prov)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	workers := f.workers
	if workers == 0 {
		workers = 2
	}
	go func() { _ = f.prov.Run(ctx, workers); close(done) }()
	f.stop = func() { cancel(); <-done }
	t.Cleanup(f.stop)
}

// remoteOptions put the fixture's GitOps repository behind a server with credentials.
type remoteOptions struct {
	remote, bare string // the URL, and the bare repository behind it
	creds        gitops.Credentials
	argoServer   string // sync through Argo CD's REST API with this token
	argoToken    string
}

// shared is what a fixture's Berth keeps across restarts, and what another process given it
// shares with this one: its database, GitOps repository and working copy, namespace pattern
// and keys (the database passwords are derived from Key).
type shared struct {
	Driver, DSN   string
	Remote, Work  string
	Pattern       string
	Key           []byte
	DatabaseAdmin string
	// ClaimLease is its executors' (provision.Deps.ClaimLease; the default when zero).
	ClaimLease time.Duration
}

// newShared makes a fixture's state: a fresh database of driver, a bare repository and a
// namespace pattern with a prefix of its own (a reused plane, BERTH_TEST_PLANE, keeps earlier
// namespaces).
func newShared(t testing.TB, driver, pattern string) shared {
	sh := shared{Driver: driver, Remote: filepath.Join(t.TempDir(), "gitops.git"), Work: filepath.Join(t.TempDir(), "work"),
		Key: make([]byte, 32), DatabaseAdmin: storetest.DatabaseAdminURL(t)}
	_, _ = rand.Read(sh.Key)
	var b [2]byte
	_, _ = rand.Read(b[:])
	sh.Pattern = fmt.Sprintf("x%x-%s", b, pattern)
	switch driver {
	case "sqlite":
		sh.DSN = filepath.Join(t.TempDir(), "berth.db")
	case "pgx":
		sh.DSN = storetest.FreshDatabase(t)
	}
	return sh
}

func newFixture(t testing.TB, pattern string, ro ...remoteOptions) *fixture {
	return newFixtureOf(t, newShared(t, "sqlite", pattern), nil, ro...)
}

// newFixtureOf is a Berth over sh: its tenancy, fleet, Argo CD watch and an executor
// (configured by configure, when set).
func newFixtureOf(t testing.TB, sh shared, configure func(*provision.Service), ro ...remoteOptions) *fixture {
	p := plane.Get(t)
	st, err := store.Open(t.Context(), sh.Driver, sh.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	kc, err := kube.Connect(p.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A fleet, as serve wires it, so that a test can register a second cluster.
	key := sh.Key
	sealer, _ := seal.New(key)
	fleet := tenancy.NewFleet(st, kc.Core, kc.Config, sealer, tenancy.ReconcilerOptions{PodSecurity: "restricted", IngressNamespace: "ingress-nginx",
		Prices: tenancy.DefaultPrices, Resync: time.Hour}, log)
	registry := workloads.NewRegistry()
	fleet.Attach(registry.Attach)
	opts := tenancy.DefaultOptions()
	pattern := sh.Pattern
	opts.NamespacePattern = pattern
	opts.Notify, opts.Quotas, opts.Fleet, opts.Sealer = fleet.Enqueue, fleet, fleet, sealer
	ten := tenancy.NewService(st, opts)
	o := remoteOptions{remote: sh.Remote, bare: sh.Remote}
	if len(ro) > 0 {
		o = ro[0]
	}
	auth, err := o.creds.Auth(o.remote)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := gitops.Open(t.Context(), o.remote, sh.Work, auth)
	if err != nil {
		t.Fatal(err)
	}
	url := o.remote
	if filepath.IsAbs(url) {
		url = "file://" + url
	}
	argo, err := argocd.New(p.Config, "argocd", url)
	if err != nil {
		t.Fatal(err)
	}
	argo.UseCredentials(o.creds)
	if o.argoServer != "" {
		rest, err := argocd.NewRESTClient(o.argoServer, o.argoToken, "", "argocd")
		if err != nil {
			t.Fatal(err)
		}
		argo.UseREST(rest)
	}
	catalog, _ := blueprint.Load("")
	// Services' databases on the test PostgreSQL server, made by a role that is not a superuser.
	pg, err := databases.NewPostgres(databases.PostgresOptions{AdminURL: sh.DatabaseAdmin, SSLMode: "disable", PasswordKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })
	f := &fixture{configure: configure, pattern: pattern, p: p, st: st, ten: ten, remote: o.bare, deps: provision.Deps{Store: st, Tenancy: ten, Blueprints: catalog, Repo: repo,
		RepoURL: url, Argo: argo, Cluster: fleet.ClusterConfig, Databases: pg, Workloads: registry, IngressNamespace: "ingress-nginx", ManualSync: []string{"prod"},
		RolloutTimeout: 2 * time.Minute, ClaimLease: sh.ClaimLease, Log: log,
		// Preflight as serve wires it, so runs (and the latency benchmark) include it.
		Preflight: policy.NewService(policy.MustLoad(), st, ten, nil).Preflight}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = fleet.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	watch, stopWatch := context.WithCancel(context.Background())
	t.Cleanup(stopWatch)
	argo.Watch(watch, time.Second)
	f.startExecutor(t)
	ten.SetTeardown(func(ctx context.Context, team store.Team, env string) error { return f.prov.Teardown(ctx, team, env) })
	fleet.OnRemove(func(cluster string) { f.prov.ClusterRemoved(cluster) })
	ten.SetPlaced(func(ctx context.Context, p access.Principal, team store.Team, env store.Environment) error {
		return f.prov.Placed(ctx, p, team, env)
	})
	return f
}

// created creates a service and waits for its run to succeed.
func (f *fixture) created(t *testing.T, p access.Principal, team string, in provision.NewService) store.Run {
	t.Helper()
	run, err := f.prov.Create(t.Context(), p, team, in)
	if err != nil {
		t.Fatal(err)
	}
	if run = waitRun(t, f, p, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatalf("creating %s/%s: %s", team, in.Name, run.Error)
	}
	return run
}

func person(s string) access.Principal { return access.Principal{Identity: auth.Identity{Subject: s}} }

func waitRun(t *testing.T, f *fixture, p access.Principal, id string) store.Run {
	t.Helper()
	var run store.Run
	plane.Eventually(t, 3*time.Minute, "run "+id+" finished", func() (bool, error) {
		r, _, err := f.prov.Get(t.Context(), p, id)
		if err != nil {
			return false, err
		}
		run = r
		return r.Status == provision.StatusSucceeded || r.Status == provision.StatusFailed, fmt.Errorf("status %s", r.Status)
	})
	return run
}

func runningPods(t testing.TB, f *fixture, ns, app string) int {
	return podsRunning(t, f.p.Client, ns, app)
}

// podsRunning counts an app's Running pods in a namespace of the cluster cs reaches.
func podsRunning(t testing.TB, cs kubernetes.Interface, ns, app string) int {
	pods, err := cs.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
	if err != nil {
		return -1
	}
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// From the API's domain call on the local control plane: a service from a blueprint is a
// commit in the GitOps repository, an AppProject and Applications, and through Argo CD two
// Running pods in the team's dev namespace; the run reports every step with timings.
func TestCreateServiceDeploysThroughArgoCD(t *testing.T) {
	f := newFixture(t, "prov-{team}-{env}")
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "payments"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.prov.Create(t.Context(), jane, "payments", provision.NewService{Name: "fraud-api", Blueprint: "nodejs-api",
		Image: "registry.example.com/payments/fraud-api", Tag: "1.0.0", Parameters: map[string]any{"database": true}, Environments: []string{"dev", "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, f, jane, run.ID)
	if run.Status != provision.StatusSucceeded {
		t.Fatalf("run failed: %s\n%+v", run.Error, run.Steps)
	}
	for _, s := range run.Steps {
		if s.Status != provision.StatusSucceeded || s.StartedAt.IsZero() || s.FinishedAt.Before(s.StartedAt) {
			t.Errorf("step %s: %s (%s .. %s) %s", s.Name, s.Status, s.StartedAt, s.FinishedAt, s.Message)
		}
	}
	plane.Eventually(t, time.Minute, "2 pods running in dev", func() (bool, error) {
		n := runningPods(t, f, f.ns("payments", "dev"), "fraud-api")
		return n == 2, fmt.Errorf("%d running", n)
	})
	if n := runningPods(t, f, f.ns("payments", "prod"), "fraud-api"); n != 0 {
		t.Fatalf("prod synced without a person asking: %d pods", n)
	}
	// A person releases to prod.
	if _, err := f.prov.Sync(t.Context(), person("user:default/viewer"), "payments", "fraud-api", "prod"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatal("someone without a role synced prod")
	}
	if _, err := f.prov.Sync(t.Context(), jane, "payments", "fraud-api", "prod"); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, time.Minute, "2 pods running in prod", func() (bool, error) {
		n := runningPods(t, f, f.ns("payments", "prod"), "fraud-api")
		return n == 2, fmt.Errorf("%d running", n)
	})
	if got := lastOperation(t, f, jane, "payments", "fraud-api", "prod"); got.InitiatedBy != "user:default/jane" || got.Phase != "Succeeded" {
		t.Fatalf("prod's sync as Argo CD reports it: %+v", got)
	}
	// Argo CD heals a hand-made change in dev (self-heal), observed, not simulated.
	// The controllers write the Deployment too: retry the hand-made change on a conflict.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		scale, err := f.p.Client.AppsV1().Deployments(f.ns("payments", "dev")).GetScale(t.Context(), "fraud-api", metav1.GetOptions{})
		if err != nil {
			return err
		}
		scale.Spec.Replicas = 5
		_, err = f.p.Client.AppsV1().Deployments(f.ns("payments", "dev")).UpdateScale(t.Context(), "fraud-api", scale, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, time.Minute, "self-heal back to 2 replicas", func() (bool, error) {
		d, err := f.p.Client.AppsV1().Deployments(f.ns("payments", "dev")).Get(t.Context(), "fraud-api", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 2, fmt.Errorf("replicas %d", *d.Spec.Replicas)
	})
	out, err := exec.Command("git", "-C", f.remote, "log", "-1", "--format=%H|%an|%B", "main").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), run.CommitSHA+"|user:default/jane|payments/fraud-api: create") || !strings.Contains(string(out), "Berth-Run: "+run.ID) {
		t.Fatalf("commit: %s %v", out, err)
	}
	// The database Secret exists in the cluster, made as jane, and not in Git.
	sec, err := f.p.Client.CoreV1().Secrets(f.ns("payments", "dev")).Get(t.Context(), "fraud-api-db", metav1.GetOptions{})
	if err != nil || len(sec.Data["url"]) == 0 {
		t.Fatalf("database secret: %v", err)
	}
	if files, _ := exec.Command("git", "-C", f.remote, "grep", "-l", "password", "main").CombinedOutput(); len(files) > 0 {
		t.Fatalf("a password was committed: %s", files)
	}
	// After the self-heal Argo CD settles again; the service's status reports both environments.
	plane.Eventually(t, time.Minute, "service status healthy in dev and prod", func() (bool, error) {
		st, err := f.prov.Status(t.Context(), jane, "payments", "fraud-api")
		if err != nil || len(st.Environments) != 2 {
			return false, fmt.Errorf("%+v %v", st, err)
		}
		for _, e := range st.Environments {
			if e.Argo == nil || e.Argo.Health != "Healthy" || e.Argo.Sync != "Synced" {
				return false, fmt.Errorf("%s: %+v %s", e.Name, e.Argo, e.Error)
			}
		}
		return true, nil
	})
	// Readiness judges Argo CD by these Applications' reconciliations: recent, so ready.
	if err := f.deps.Argo.Ready(t.Context()); err != nil {
		t.Fatalf("Argo CD readiness on a plane that deploys: %v", err)
	}
}

// A run killed midway (Berth stopped) finishes after a restart without duplicate commits.
func TestRunResumesAfterARestart(t *testing.T) {
	f := newFixture(t, "resume-{team}-{env}")
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "search"}); err != nil {
		t.Fatal(err)
	}
	// Stop the executor before it can take the run, then create the run: it stays queued.
	f.stop()
	run, err := f.prov.Create(t.Context(), jane, "search", provision.NewService{Name: "indexer", Blueprint: "worker",
		Image: "registry.example.com/search/indexer", Tag: "2.0.0", Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	// A new executor over the same database (as after a restart) resumes it.
	f.startExecutor(t)
	run = waitRun(t, f, jane, run.ID)
	if run.Status != provision.StatusSucceeded {
		t.Fatalf("resumed run: %s", run.Error)
	}
	out, _ := exec.Command("git", "-C", f.remote, "log", "--format=%s", "main").CombinedOutput()
	if strings.Count(string(out), "search/indexer: create") != 1 {
		t.Fatalf("commits: %s", out)
	}
}

// Twenty services created at once: twenty runs, twenty commits, none lost, every one deployed.
func TestConcurrentServicesAllLand(t *testing.T) {
	f := newFixture(t, "many-{team}-{env}")
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "fleet"}); err != nil {
		t.Fatal(err)
	}
	// Twenty services and their rollouts need more than the small tier's 20 pods: size it up.
	root := person("user:default/root")
	root.PlatformAdmin = true
	if _, err := f.ten.ResizeEnvironment(t.Context(), root, "fleet", "dev", tenancy.QuotaChoice{Tier: "large"}); err != nil {
		t.Fatal(err)
	}
	ids := make(chan string, 20)
	errc := make(chan error, 20)
	for i := range 20 {
		go func() {
			run, err := f.prov.Create(t.Context(), jane, "fleet", provision.NewService{Name: fmt.Sprintf("svc-%02d", i), Blueprint: "go-api",
				Image: "registry.example.com/fleet/svc", Tag: "1.0.0", Parameters: map[string]any{"replicas": float64(1)}, Environments: []string{"dev"}})
			errc <- err
			ids <- run.ID
		}()
	}
	for range 20 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	close(ids)
	for id := range ids {
		if run := waitRun(t, f, jane, id); run.Status != provision.StatusSucceeded {
			t.Fatalf("run %s: %s", id, run.Error)
		}
	}
	out, err := exec.Command("git", "-C", f.remote, "log", "--format=%s", "main").CombinedOutput()
	if err != nil || strings.Count(string(out), ": create from blueprint go-api") != 20 {
		t.Fatalf("commits:\n%s %v", out, err)
	}
}

// A second change (replicas) is a second commit that Argo CD syncs; a rollback is a third
// commit that returns to the first state.
func TestUpdateAndRollback(t *testing.T) {
	f := newFixture(t, "upd-{team}-{env}")
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	first, err := f.prov.Create(t.Context(), jane, "orders", provision.NewService{Name: "queue", Blueprint: "worker",
		Image: "registry.example.com/orders/queue", Tag: "1.0.0", Parameters: map[string]any{"replicas": float64(2)}, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	pods := func(want int) {
		t.Helper()
		plane.Eventually(t, time.Minute, fmt.Sprintf("%d pods running", want), func() (bool, error) {
			n := runningPods(t, f, f.ns("orders", "dev"), "queue")
			return n == want, fmt.Errorf("%d running", n)
		})
	}
	if r := waitRun(t, f, jane, first.ID); r.Status != provision.StatusSucceeded {
		t.Fatal(r.Error)
	}
	pods(2)
	// Six releases at once: the database lets exactly one start, the others are conflicts.
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, conflicts := 0, 0
	for range 6 {
		wg.Go(func() {
			_, err := f.prov.Update(t.Context(), jane, "orders", "queue", provision.Release{Parameters: map[string]any{"replicas": float64(4)}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, errs.ErrConflict):
				conflicts++
			default:
				t.Errorf("concurrent release: %v", err)
			}
		})
	}
	wg.Wait()
	if accepted != 1 || conflicts != 5 {
		t.Fatalf("6 concurrent releases: %d accepted, %d conflicts; want 1 and 5", accepted, conflicts)
	}
	// A second one while it runs is refused until it ends.
	if _, err := f.prov.Update(t.Context(), jane, "orders", "queue", provision.Release{}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("a second release while one runs: %v", err)
	}
	runs, _ := f.st.Q().ListServiceRuns(t.Context(), first.ServiceID, 1)
	if r := waitRun(t, f, jane, runs[0].ID); r.Status != provision.StatusSucceeded {
		t.Fatal(r.Error)
	}
	pods(4)
	back, err := f.prov.Rollback(t.Context(), jane, "orders", "queue", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, f, jane, back.ID); r.Status != provision.StatusSucceeded {
		t.Fatal(r.Error)
	}
	pods(2)
	// Argo CD's history, as the status reports it: the three commits, newest first, each
	// deployed by the automated sync.
	head, _ := exec.Command("git", "-C", f.remote, "rev-parse", "main").CombinedOutput()
	plane.Eventually(t, time.Minute, "history of three deployments", func() (bool, error) {
		st, err := f.prov.Status(t.Context(), jane, "orders", "queue")
		if err != nil || len(st.Environments) != 1 || st.Environments[0].Argo == nil {
			return false, fmt.Errorf("%+v %v", st, err)
		}
		h := st.Environments[0].Argo.History
		if len(h) < 3 || h[0].Revision != strings.TrimSpace(string(head)) || h[0].ID <= h[1].ID || h[0].InitiatedBy != "automated" {
			return false, fmt.Errorf("history %+v", h)
		}
		return true, nil
	})
	out, _ := exec.Command("git", "-C", f.remote, "log", "--format=%s", "main").CombinedOutput()
	for _, want := range []string{"orders/queue: create", "orders/queue: update", "orders/queue: rollback"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("no %q commit in:\n%s", want, out)
		}
	}
	if _, err := f.prov.Rollback(t.Context(), jane, "orders", "queue", "not-a-run"); err == nil {
		t.Fatal("rollback to an unknown run accepted")
	}
}

// lastOperation is Argo CD's last operation on a service environment, once it has finished.
func lastOperation(t *testing.T, f *fixture, p access.Principal, team, service, env string) argocd.Operation {
	t.Helper()
	var op argocd.Operation
	plane.Eventually(t, time.Minute, "operation of "+env+" finished", func() (bool, error) {
		st, err := f.prov.Status(t.Context(), p, team, service)
		if err != nil {
			return false, err
		}
		for _, e := range st.Environments {
			if e.Name == env && e.Argo != nil && e.Argo.OpState != nil && e.Argo.OpState.FinishedAt != nil {
				op = *e.Argo.OpState
				return true, nil
			}
		}
		return false, fmt.Errorf("%+v", st.Environments)
	})
	return op
}

// ns is the namespace of a team environment in this fixture.
func (f *fixture) ns(team, env string) string {
	return strings.NewReplacer("{team}", team, "{env}", env).Replace(f.pattern)
}
