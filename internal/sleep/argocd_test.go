package sleep_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/gittest"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/sleep"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
spec:
  replicas: %d
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1.0.0
`

func commit(t *testing.T, dir string, replicas int) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "deployment.yaml"), []byte(fmt.Sprintf(deployment, replicas)), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "commit", "-q", "-m", fmt.Sprintf("%d replicas", replicas))
	return gittest.Run(t, dir, "rev-parse", "HEAD")
}

var applications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// Against the plane's real Argo CD, with an Application as Berth makes it (automated, prune and
// self-heal): self-heal undoes a person's scale, but not the sleep, and the sleeping
// environment stays Synced; after the wake Argo CD owns the replicas again, so a commit that
// changes them is applied.
func TestArgoCDLeavesASleepingEnvironmentAsleep(t *testing.T) {
	p := plane.Get(t)
	ctx := t.Context()
	ns := p.Namespace(t, "sleep-argo")
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	gittest.Run(t, dir, "config", "user.email", "test@berth.local")
	gittest.Run(t, dir, "config", "user.name", "berth test")
	rev := commit(t, dir, 2)
	a, err := argocd.New(p.Config, "argocd", "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	team := argocd.Team{ID: "t-" + ns, Name: "shop"}
	if err := a.EnsureProject(ctx, team, []argocd.Destination{{Namespace: ns}}); err != nil {
		t.Fatal(err)
	}
	if err := a.EnsureApplication(ctx, argocd.AppSpec{Team: team, Service: "api", Env: "dev", Namespace: ns, Path: "app", Automated: true}); err != nil {
		t.Fatal(err)
	}
	name := argocd.AppName(team, "api", "dev")
	apps := p.Dynamic.Resource(applications).Namespace("argocd")
	t.Cleanup(func() { _ = apps.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	status := func() (string, string, string) {
		app, err := apps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", "", err.Error()
		}
		s, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
		r, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
		return s, r, ""
	}
	replicas := func() int32 {
		d, err := p.Client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return -1
		}
		return *d.Spec.Replicas
	}
	refresh := func() {
		patch := []byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`)
		if _, err := apps.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	synced := func(what, revision string, want int32) {
		t.Helper()
		plane.Eventually(t, 90*time.Second, what, func() (bool, error) {
			s, r, e := status()
			return s == "Synced" && r == revision && replicas() == want, fmt.Errorf("sync %s at %.8s (%s), %d replicas", s, r, e, replicas())
		})
	}
	synced("the first sync", rev, 2)

	// The control: a person's scale is drift, and self-heal undoes it.
	if _, err := p.Client.AppsV1().Deployments(ns).Patch(ctx, "api", types.MergePatchType, []byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	refresh()
	synced("self-heal undoing a person's scale", rev, 2)

	if _, err := sleep.Sleep(ctx, p.Client, ns, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Argo CD compares again, twice, and has time to heal: it must not.
	for range 2 {
		refresh()
		time.Sleep(5 * time.Second)
		synced("asleep and still in sync", rev, 0)
	}
	if _, err := sleep.Wake(ctx, p.Client, ns); err != nil {
		t.Fatal(err)
	}
	synced("awake", rev, 2)
	next := commit(t, dir, 3)
	refresh()
	synced("a commit after the wake applied", next, 3)
}
