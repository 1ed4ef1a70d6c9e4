package policy_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{Kyverno: true}) }

// teams lets every caller into every team (the tenancy service and its roles are tested on
// their own); teams stored in st come back with their ids.
type teams struct{ st *store.Store }

func (t teams) Authorize(ctx context.Context, _ access.Principal, team string, _ access.Role) (store.Team, error) {
	if stored, err := t.st.Q().TeamByName(ctx, team); err == nil {
		return stored, nil
	}
	return store.Team{Name: team}, nil
}

// storeTeam records a team with a dev environment in namespace <team>-dev and services.
func storeTeam(t *testing.T, st *store.Store, team string, services ...string) {
	t.Helper()
	q, now := st.Q(), time.Now()
	id := "t-" + team
	if err := q.CreateTeam(t.Context(), store.Team{ID: id, Name: team, CreatedBy: "user:default/root", CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := q.CreateEnvironment(t.Context(), store.Environment{ID: "e-" + team, TeamID: id, Name: "dev", Namespace: team + "-dev", Tier: "small", Phase: "Ready", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, name := range services {
		if err := q.CreateService(t.Context(), store.Service{ID: "s-" + team + name, TeamID: id, Name: name, Blueprint: "go-api", Image: "registry.example.com/x/" + name,
			Tag: "1.0.0", Environments: []string{"dev"}, CreatedBy: "user:default/root", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}

// Toggles change what the plane's real Kyverno does: enforce denies at admission, a team
// override to audit admits there and reports, off does neither; drift is repaired.
func TestTogglesDriveKyverno(t *testing.T) {
	p := plane.Get(t)
	var b [3]byte
	_, _ = rand.Read(b[:])
	strict, lax := fmt.Sprintf("s%x", b), fmt.Sprintf("l%x", b)
	for _, team := range []string{strict, lax} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: team + "-dev", Labels: map[string]string{"berth.dev/team": team}}}
		if _, err := p.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = p.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		})
	}
	st := storetest.Open(t, "sqlite")
	storeTeam(t, st, lax, "api", "api-gateway")
	storeTeam(t, st, strict)
	svc := policy.NewService(policy.MustLoad(), st, teams{st}, nil)
	reports := policy.NewReports(slog.New(slog.NewTextHandler(io.Discard, nil)))
	watch, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go reports.Watch(watch, "", p.Config)
	svc.UseReports(reports)
	ap := policy.NewApplier(p.Dynamic, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() {
		_ = p.Dynamic.Resource(policy.GVR).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=berth"})
	})
	admin := access.Principal{Identity: auth.Identity{Subject: "user:default/root"}, PlatformAdmin: true}
	// The library's defaults enforce disallow-latest-tag everywhere; lax audits it instead.
	if err := svc.Set(t.Context(), admin, lax, "disallow-latest-tag", policy.Setting{Mode: policy.ModeAudit}); err != nil {
		t.Fatal(err)
	}
	// Kyverno's own webhook checks policies; right after the plane starts it may not answer yet.
	plane.Eventually(t, 60*time.Second, "policies applied", func() (bool, error) {
		err := ap.Apply(t.Context(), svc)
		return err == nil, err
	})
	p.WaitPolicyReady(t, "berth-disallow-latest-tag")
	p.WaitPolicyReady(t, "berth-disallow-latest-tag-"+lax)

	create := func(team, name, image string) error {
		d := readObject(t, "testdata/disallow-latest-tag/pass.yaml")
		d.SetNamespace(team + "-dev")
		d.SetName(name)
		_ = unstructured.SetNestedField(d.Object, team, "metadata", "labels", "berth.dev/team")
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["image"] = image
		_ = unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers")
		_, err := p.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(team+"-dev").Create(t.Context(), d, metav1.CreateOptions{})
		return err
	}
	var err error
	plane.Eventually(t, 30*time.Second, "denied in the strict team", func() (bool, error) {
		err = create(strict, "api", "registry.example.com/x/api:latest")
		return err != nil && strings.Contains(err.Error(), "images must be pinned to a tag other than latest"), err
	})
	if err := create(strict, "pinned", "registry.example.com/x/api:1.0.0"); err != nil {
		t.Fatalf("a pinned image was denied: %v", err)
	}
	plane.Eventually(t, 30*time.Second, "admitted in the lax team", func() (bool, error) {
		err := create(lax, "api", "registry.example.com/x/api:latest")
		return err == nil, err
	})
	p.WaitPolicyReportFailure(t, lax+"-dev", "api", "berth-disallow-latest-tag-"+lax)

	// The report, read from the informer, is the lax team's violation of its service api (not
	// api-gateway), with the library's words.
	var vs policy.Violations
	plane.Eventually(t, 30*time.Second, "the violation in the team's aggregate", func() (bool, error) {
		vs, err = svc.Violations(t.Context(), admin, lax, policy.ViolationFilter{Service: "api"})
		return err == nil && vs.Total > 0 && len(vs.Incomplete) == 0, fmt.Errorf("%+v %v", vs, err)
	})
	// The Deployment's pods violate it too, reported when Kyverno gets to them: read the
	// Deployment's.
	var v policy.Violation
	for _, x := range vs.Items {
		if x.Kind == "Deployment" {
			v = x
		}
	}
	if v.Policy != "disallow-latest-tag" || !v.Library || v.Service != "api" || v.Environment != "dev" || v.Kind != "Deployment" || v.Name != "api" ||
		v.Result != "fail" || v.Severity != "high" || v.Remediation == "" || !strings.Contains(v.Message, "latest") || v.At.IsZero() {
		t.Fatalf("violation: %+v", v)
	}
	if len(vs.ByPolicy) != 1 || vs.ByPolicy[0].Key != "disallow-latest-tag" || vs.ByPolicy[0].Count != vs.Total || vs.ByService[0].Key != "api" || vs.ByEnvironment[0].Key != "dev" {
		t.Fatalf("counts: %+v", vs)
	}
	if other, err := svc.Violations(t.Context(), admin, lax, policy.ViolationFilter{Service: "api-gateway"}); err != nil || other.Total != 0 {
		t.Fatalf("api-gateway has api's violation: %+v %v", other, err)
	}
	if other, err := svc.Violations(t.Context(), admin, strict, policy.ViolationFilter{}); err != nil || other.Total != 0 {
		t.Fatalf("the strict team sees the lax team's violation: %+v %v", other, err)
	}
	if _, err := svc.Violations(t.Context(), admin, lax, policy.ViolationFilter{Environment: "nowhere"}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unknown environment filter: %v", err)
	}
	if _, err := svc.Violations(t.Context(), admin, lax, policy.ViolationFilter{Policy: "no-such-policy"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("unknown policy filter: %v", err)
	}
	if v.Team != lax {
		t.Fatalf("violation's team: %q", v.Team)
	}
	// The platform's overview counts the lax team's violations under its name.
	o, err := svc.Overview(t.Context(), admin)
	if err != nil || o.Total < vs.Total || len(o.Incomplete) != 0 {
		t.Fatalf("overview: %+v %v", o, err)
	}
	if i := slices.IndexFunc(o.ByTeam, func(c policy.Count) bool { return c.Key == lax }); i < 0 || o.ByTeam[i].Count != vs.Total {
		t.Fatalf("overview by team: %+v (team total %d)", o.ByTeam, vs.Total)
	}
	if _, err := svc.Overview(t.Context(), access.Principal{Identity: auth.Identity{Subject: "user:default/jane"}}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a non-admin read the overview: %v", err)
	}

	// Drift: a hand-made change to a Berth policy is put back by the next apply.
	obj, err := p.Dynamic.Resource(policy.GVR).Get(t.Context(), "berth-disallow-latest-tag", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedStringSlice(obj.Object, []string{"Audit"}, "spec", "validationActions")
	if _, err := p.Dynamic.Resource(policy.GVR).Update(t.Context(), obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ap.Apply(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	obj, _ = p.Dynamic.Resource(policy.GVR).Get(t.Context(), "berth-disallow-latest-tag", metav1.GetOptions{})
	if got, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "validationActions"); len(got) != 1 || got[0] != "Deny" {
		t.Fatalf("drift not repaired: %v", got)
	}

	// Off for everyone: no Kyverno object, and the strict team admits latest too.
	if err := svc.Set(t.Context(), admin, "", "disallow-latest-tag", policy.Setting{Mode: policy.ModeOff}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Set(t.Context(), admin, lax, "disallow-latest-tag", policy.Setting{Mode: policy.ModeOff}); err != nil {
		t.Fatal(err)
	}
	if err := ap.Apply(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	left, err := p.Dynamic.Resource(policy.GVR).List(t.Context(), metav1.ListOptions{LabelSelector: "berth.dev/policy=disallow-latest-tag"})
	if err != nil || len(left.Items) != 0 {
		t.Fatalf("objects left when off: %v %v", left, err)
	}
	plane.Eventually(t, 30*time.Second, "admitted when off", func() (bool, error) {
		err := create(strict, "later", "registry.example.com/x/api:latest")
		return err == nil, err
	})
}

// Clusters, the fleet attachment serve uses, applies the settings on attach and again
// when a toggle changes, without waiting for the resync.
func TestClustersApplyOnChange(t *testing.T) {
	p := plane.Get(t)
	st := storetest.Open(t, "sqlite")
	var clusters *policy.Clusters
	svc := policy.NewService(policy.MustLoad(), st, teams{st}, func() { clusters.Trigger() })
	clusters = policy.NewClusters(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { clusters.Attach(ctx, "", p.Config); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = p.Dynamic.Resource(policy.GVR).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=berth"})
	})
	exists := func(name string, want bool) {
		t.Helper()
		plane.Eventually(t, 60*time.Second, fmt.Sprintf("%s present=%v", name, want), func() (bool, error) {
			_, err := p.Dynamic.Resource(policy.GVR).Get(t.Context(), name, metav1.GetOptions{})
			return (err == nil) == want, err
		})
	}
	exists("berth-disallow-latest-tag", true) // the library's default, applied on attach
	admin := access.Principal{Identity: auth.Identity{Subject: "user:default/root"}, PlatformAdmin: true}
	if err := svc.Set(t.Context(), admin, "shop", "require-probes", policy.Setting{Mode: policy.ModeAudit}); err != nil {
		t.Fatal(err)
	}
	exists("berth-require-probes-shop", true)
	if err := svc.Clear(t.Context(), admin, "shop", "require-probes"); err != nil {
		t.Fatal(err)
	}
	exists("berth-require-probes-shop", false)
	plane.Eventually(t, 60*time.Second, "readiness without notes", func() (bool, error) {
		err := clusters.Check(t.Context())
		return err == nil, err
	})

	// A registered cluster without Kyverno: readiness says so, for it alone. (Planes install
	// Kyverno's CRDs even when Kyverno does not run; this one loses them.)
	edge, err := plane.Up(t.TempDir(), "--minimal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = edge.Down() })
	// With Kyverno's CRDs but no Kyverno, policies are accepted and never made ready.
	clusters.ReadyGrace = time.Second
	idleCtx, stopIdle := context.WithCancel(ctx)
	idleDone := make(chan struct{})
	go func() { clusters.Attach(idleCtx, "idle", edge.Config); close(idleDone) }()
	plane.Eventually(t, 30*time.Second, "readiness names the cluster whose Kyverno does not run", func() (bool, error) {
		clusters.Trigger() // apply again, past the grace
		err := clusters.Check(t.Context())
		return err != nil && strings.Contains(err.Error(), "cluster idle: Kyverno has not made") &&
			strings.Contains(err.Error(), "cluster idle: Kyverno is not running: no kyverno-health Lease") && !strings.Contains(err.Error(), "cluster default"), err
	})
	stopIdle()
	<-idleDone
	crds := edge.Dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, name := range []string{"policyreports.wgpolicyk8s.io", "validatingpolicies.policies.kyverno.io"} {
		if err := crds.Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		plane.Eventually(t, 30*time.Second, name+" gone", func() (bool, error) {
			_, err := crds.Get(t.Context(), name, metav1.GetOptions{})
			return err != nil, err
		})
	}
	edgeCtx, stopEdge := context.WithCancel(ctx)
	edgeDone := make(chan struct{})
	go func() { clusters.Attach(edgeCtx, "edge", edge.Config); close(edgeDone) }()
	t.Cleanup(func() { stopEdge(); <-edgeDone })
	plane.Eventually(t, 30*time.Second, "readiness names the cluster without Kyverno", func() (bool, error) {
		err := clusters.Check(t.Context())
		return err != nil && strings.Contains(err.Error(), "cluster edge: policies not applied") &&
			strings.Contains(err.Error(), "cluster edge: the cluster serves no wgpolicyk8s.io/v1alpha2 PolicyReports") &&
			!strings.Contains(err.Error(), "cluster default"), err
	})
}

// Readiness asks Kyverno's webhooks to answer (a dry-run update they stamp): a Kyverno whose
// admission controller stopped is reported at once, though its policies and webhook
// configurations are still there.
func TestWebhooksAnswerOnlyWhileKyvernoRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plane of its own")
	}
	p, err := plane.Up(t.TempDir(), "--no-argocd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down() })
	plane.Eventually(t, 30*time.Second, "Kyverno's webhooks answer", func() (bool, error) {
		err := policy.WebhooksAnswer(t.Context(), p.Dynamic)
		return err == nil, err
	})
	pid, err := os.ReadFile(filepath.Join(p.Dir, "pids", "kyverno.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("kill", "-9", strings.TrimSpace(string(pid))).Run(); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "readiness says the webhooks do not answer", func() (bool, error) {
		err := policy.WebhooksAnswer(t.Context(), p.Dynamic)
		return err != nil && strings.Contains(err.Error(), "Kyverno's webhooks do not answer"), err
	})
	hooks, err := p.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(t.Context(), metav1.ListOptions{LabelSelector: "webhook.kyverno.io/managed-by=kyverno"})
	if err != nil || len(hooks.Items) == 0 {
		t.Fatalf("the webhook configurations went with Kyverno (the check would be trivial): %v", err)
	}
}
