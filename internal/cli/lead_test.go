package cli_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/store/storetest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Two Berth replicas on one PostgreSQL and one plane: the sleep schedules are led, so a
// transition happens (and is audited) once; killing the leader hands the lease to the other
// within the lease time, and it makes the next transition, once.
func TestTwoReplicasSleepOnce(t *testing.T) {
	p := ownPlane(t)
	db := storetest.FreshDatabase(t)
	type replica struct {
		base   string
		cancel context.CancelFunc
		done   chan error
	}
	start := func(name string) *replica {
		addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig, "--database-url", db, "--sleep-check-every", "1s",
			"--leader-election-namespace", "berth-leases", "--leader-election-lease", "3s", "--leader-election-identity", name)
		r := &replica{base: "http://" + addr, cancel: cancel, done: done}
		t.Cleanup(func() {
			if r.cancel != nil {
				r.cancel()
				<-r.done
			}
		})
		return r
	}
	replicas := map[string]*replica{"berth-a": start("berth-a")}
	replicas["berth-b"] = start("berth-b")
	const ci = "ci-token-0123456789"
	a := replicas["berth-a"]
	scale := shopWithWeb(t, p, a.base, 3)
	holder := func() string {
		l, err := p.Client.CoordinationV1().Leases("berth-leases").Get(t.Context(), "berth-sleeper", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	plane.Eventually(t, 30*time.Second, "a leader", func() (bool, error) { return holder() != "", nil })
	leader := holder()
	other := map[string]string{"berth-a": "berth-b", "berth-b": "berth-a"}[leader]
	count := func(base, action string) int {
		var events struct{ Items []struct{ Action string } }
		apiCall(t, base, ci, "GET", "/api/v1/audit-events?action="+action, "", &events)
		return len(events.Items)
	}
	day := time.Now().UTC().AddDate(0, 0, 3).Weekday().String()[:3]
	sched := fmt.Sprintf(`{"timeZone":"UTC","awake":[{"days":[%q],"from":"00:00","to":"01:00"}]}`, day)
	if s := apiCall(t, replicas[other].base, ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule", sched, nil); s != 200 {
		t.Fatalf("set on %s: %d", other, s)
	}
	plane.Eventually(t, 30*time.Second, "asleep", func() (bool, error) { return scale() == 0 && count(a.base, "environment.slept") == 1, nil })
	time.Sleep(3 * time.Second) // both replicas have checked three times
	if n := count(a.base, "environment.slept"); n != 1 {
		t.Fatalf("%d environment.slept events, want 1", n)
	}

	// The leader goes; the other leads within the lease and wakes the environment once.
	replicas[leader].cancel()
	<-replicas[leader].done
	replicas[leader].cancel = nil
	took := time.Now()
	plane.Eventually(t, 15*time.Second, other+" leading", func() (bool, error) { return holder() == other, fmt.Errorf("holder %q", holder()) })
	if d := time.Since(took); d > 6*time.Second {
		t.Fatalf("the lease changed hands after %s, want within the lease (3s) and a retry", d)
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if s := apiCall(t, replicas[other].base, ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule/override", fmt.Sprintf(`{"state":"awake","until":%q}`, until), nil); s != 200 {
		t.Fatalf("wake now: %d", s)
	}
	plane.Eventually(t, 30*time.Second, "awake", func() (bool, error) {
		return scale() == 3 && count(replicas[other].base, "environment.woke") == 1, nil
	})
}
