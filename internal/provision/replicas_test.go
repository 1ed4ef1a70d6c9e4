package provision_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
)

// Two executors (as two Berth replicas: each its own working copy of the GitOps repository and
// its own name) over one database start together on six queued runs, each of which both find
// at their start: every run is executed by one of them, succeeds, and commits once.
func TestTwoExecutorsRunEachOnce(t *testing.T) {
	f := newFixture(t, "twice-{team}-{env}")
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "fleet"}); err != nil {
		t.Fatal(err)
	}
	f.stop()
	var ids []string
	for i := range 6 {
		run, err := f.prov.Create(t.Context(), jane, "fleet", provision.NewService{Name: fmt.Sprintf("svc-%d", i), Blueprint: "worker",
			Image: "registry.example.com/fleet/svc", Tag: "1.0.0", Environments: []string{"dev"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	start := func(name string) *provision.Service {
		d := f.deps
		repo, err := gitops.Open(t.Context(), f.remote, filepath.Join(t.TempDir(), "work-"+name), nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Repo, d.Executor = repo, name
		s := provision.New(d)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = s.Run(ctx, 4); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return s
	}
	f.prov = start("berth-a")
	start("berth-b")
	for _, id := range ids {
		if run := waitRun(t, f, jane, id); run.Status != provision.StatusSucceeded {
			t.Fatalf("run %s: %s %s", id, run.Status, run.Error)
		}
	}
	out, err := exec.Command("git", "-C", f.remote, "log", "--format=%s", "main").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if n := strings.Count(string(out), fmt.Sprintf("fleet/svc-%d: create", i)); n != 1 {
			t.Fatalf("svc-%d committed %d times:\n%s", i, n, out)
		}
	}
}

// A replica that died holding a run's claim (its claim is in the database, nobody renews it):
// another replica takes the run over once the claim runs out, within its lease and a sweep.
func TestADeadReplicasRunIsTakenOver(t *testing.T) {
	f := newFixture(t, "takeover-{team}-{env}")
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "relay"}); err != nil {
		t.Fatal(err)
	}
	f.stop()
	run, err := f.prov.Create(t.Context(), jane, "relay", provision.NewService{Name: "baton", Blueprint: "worker",
		Image: "registry.example.com/relay/baton", Tag: "1.0.0", Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	const lease = 2 * time.Second
	died := time.Now()
	if ok, err := f.st.Q().ClaimRun(t.Context(), run.ID, "berth-dead", died.Add(lease), died); err != nil || !ok {
		t.Fatalf("the dead replica's claim: %v %v", ok, err)
	}
	f.deps.ClaimLease = lease
	f.startExecutor(t)
	time.Sleep(lease / 2)
	if r, _ := f.st.Q().RunByID(t.Context(), run.ID); r.Status != provision.StatusQueued {
		t.Fatalf("the run was taken while the dead replica's claim held: %s", r.Status)
	}
	if run = waitRun(t, f, jane, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Error)
	}
	if took := run.StartedAt.Sub(died); took < lease || took > 3*lease+time.Second {
		t.Fatalf("taken over %s after the claim was made, want after its lease (%s) and within a sweep", took, lease)
	}
}
