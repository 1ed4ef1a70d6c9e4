package cli_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// Two berth serve replicas on one PostgreSQL, one plane with Argo CD and one GitOps remote:
// services created through either replica each run once (every run succeeds, each service is
// committed once, each step is in its run's record once), and the team's namespace objects,
// which both replicas' reconcilers apply, are written once and left alone: neither replica
// rewrites what the other applied (no churn in their resourceVersions while both run), and a
// hand edit is put back by one repair, not fought over.
func TestTwoReplicasRunAndReconcileOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plane of its own")
	}
	p, err := plane.Up(t.TempDir(), "--no-kyverno")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down() })
	db := storetest.FreshDatabase(t)
	bare := filepath.Join(t.TempDir(), "gitops.git")
	var bases []string
	for _, name := range []string{"berth-a", "berth-b"} {
		addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig, "--database-url", db, "--gitops-repo", bare,
			"--leader-election-namespace", "berth-leases", "--leader-election-identity", name)
		t.Cleanup(func() { cancel(); <-done })
		bases = append(bases, "http://"+addr)
	}
	const ci = "ci-token-0123456789"
	if s := apiCall(t, bases[0], ci, "POST", "/api/v1/teams", `{"name":"shop"}`, nil); s != 201 {
		t.Fatalf("team: %d", s)
	}
	var runs []string
	for i := range 4 {
		var run struct{ ID string }
		body := fmt.Sprintf(`{"name":"svc-%d","blueprint":"worker","image":"registry.example.com/shop/svc","tag":"1.0.0","environments":["dev"],"parameters":{"replicas":1}}`, i)
		if s := apiCall(t, bases[i%2], ci, "POST", "/api/v1/teams/shop/services", body, &run); s != 202 || run.ID == "" {
			t.Fatalf("service %d through replica %d: %d", i, i%2, s)
		}
		runs = append(runs, run.ID)
	}
	for i, id := range runs {
		var run struct {
			Status, Error string
			Steps         []struct{ Name, Status string }
		}
		plane.Eventually(t, 3*time.Minute, "run "+id, func() (bool, error) {
			apiCall(t, bases[(i+1)%2], ci, "GET", "/api/v1/runs/"+id, "", &run)
			return run.Status == "succeeded" || run.Status == "failed", fmt.Errorf("%s", run.Status)
		})
		if run.Status != "succeeded" {
			t.Fatalf("run %s: %s %s", id, run.Status, run.Error)
		}
		seen := map[string]int{}
		for _, s := range run.Steps {
			if seen[s.Name]++; s.Status != "succeeded" || seen[s.Name] > 1 {
				t.Fatalf("run %s's steps: %+v", id, run.Steps)
			}
		}
	}
	out, err := exec.Command("git", "-C", bare, "log", "--format=%s", "main").CombinedOutput()
	if err != nil {
		t.Fatalf("git log: %v\n%s", err, out)
	}
	for i := range 4 {
		if n := strings.Count(string(out), fmt.Sprintf("shop/svc-%d: create", i)); n != 1 {
			t.Fatalf("svc-%d committed %d times:\n%s", i, n, out)
		}
	}
	// Both replicas reconcile the team whenever its objects change (each replica's informers
	// see every change); what they apply is the same, so nothing changes once it is there.
	versions := func() string {
		ctx := t.Context()
		q, err1 := p.Client.CoreV1().ResourceQuotas("shop-dev").Get(ctx, tenancy.QuotaName, metav1.GetOptions{})
		l, err2 := p.Client.CoreV1().LimitRanges("shop-dev").Get(ctx, tenancy.LimitRangeName, metav1.GetOptions{})
		n, err3 := p.Client.CoreV1().Namespaces().Get(ctx, "shop-dev", metav1.GetOptions{})
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("the team's objects: %v %v %v", err1, err2, err3)
		}
		return q.ResourceVersion + "/" + l.ResourceVersion + "/" + n.ResourceVersion
	}
	before := versions()
	time.Sleep(5 * time.Second)
	if after := versions(); after != before {
		t.Fatalf("the team's objects were rewritten while nothing changed: %s, then %s", before, after)
	}

	// A hand edit of the team's LimitRange is put back once, not fought over: its watch sees
	// the edit and one repair (the other replica's apply of the same is a no-op), then
	// nothing more for 10 s, and what is there is what Berth applied.
	ctx := t.Context()
	lrs := p.Client.CoreV1().LimitRanges("shop-dev")
	lr, err := lrs.Get(ctx, tenancy.LimitRangeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	applied := lr.Spec.DeepCopy()
	w, err := lrs.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + tenancy.LimitRangeName, ResourceVersion: lr.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	lr.Spec.Limits[0].DefaultRequest[corev1.ResourceCPU] = resource.MustParse("7m")
	if _, err := lrs.Update(ctx, lr, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	var changes []*corev1.LimitRange
	quiet := time.NewTimer(30 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the LimitRange's watch ended")
			}
			got, isLR := ev.Object.(*corev1.LimitRange)
			if ev.Type != watch.Modified || !isLR {
				t.Fatalf("the LimitRange's watch: %s %T", ev.Type, ev.Object)
			}
			changes = append(changes, got)
			if len(changes) == 2 {
				quiet.Reset(10 * time.Second) // the repair: from here on, nothing
			}
		case <-quiet.C:
			done = true
		}
	}
	if len(changes) != 2 || !apiequality.Semantic.DeepEqual(changes[1].Spec, *applied) {
		for _, c := range changes {
			t.Logf("%s: %+v", c.ResourceVersion, c.Spec.Limits)
		}
		t.Fatalf("%d changes after one hand edit, want the edit and one repair to what Berth applied", len(changes))
	}
}
