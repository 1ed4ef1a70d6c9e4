package provision_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/gittest"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// The GitOps remote refuses pushes for a while (its pre-receive hook): the run waits in its
// commit step, saying what the remote said, and lands one commit once the remote takes pushes
// again. A remote that refuses past --git-timeout fails the run at its commit, with nothing
// committed.
func TestARunWaitsForARemoteThatRefusesPushes(t *testing.T) {
	f := newFixture(t, "frozen-{team}-{env}")
	ctx := t.Context()
	ann := person("user:default/ann")
	if _, err := f.ten.CreateTeam(ctx, ann, tenancy.NewTeam{Name: "atlas"}); err != nil {
		t.Fatal(err)
	}
	const said = "main is frozen: release 42 in progress"
	refuse := gittest.RefusePushes(t, f.remote, said)
	run, err := f.prov.Create(ctx, ann, "atlas", provision.NewService{Name: "maps", Blueprint: "worker", Image: "registry.example.com/atlas/maps",
		Tag: "1.0.0", Parameters: map[string]any{"replicas": 1}, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	commitWaits := func(id string) {
		t.Helper()
		plane.Eventually(t, time.Minute, "the commit step waits for the remote", func() (bool, error) {
			r, err := f.st.Q().RunByID(ctx, id)
			if err != nil {
				return false, err
			}
			c := stepOf(r, "commit")
			return r.Status == provision.StatusRunning && c.Status == provision.StatusRunning &&
				strings.Contains(c.Message, "waiting for the GitOps remote") && strings.Contains(c.Message, said), fmt.Errorf("run %s, commit %s %q", r.Status, c.Status, c.Message)
		})
	}
	commitWaits(run.ID)
	// Tried again meanwhile (the waits grow from a second), still waiting, nothing landed.
	time.Sleep(4 * time.Second)
	commitWaits(run.ID)
	if n := commitsOf(t, f, run.ID); n != 0 {
		t.Fatalf("%d commits while the remote refused", n)
	}
	refuse(false)
	if r := waitRun(t, f, ann, run.ID); r.Status != provision.StatusSucceeded {
		t.Fatalf("after the remote took pushes again: %s %s", r.Status, r.Error)
	}
	if n := commitsOf(t, f, run.ID); n != 1 {
		t.Fatalf("%d commits of the run, want 1", n)
	}

	f.stop()
	f.deps.GitTimeout = 3 * time.Second
	f.startExecutor(t)
	refuse(true)
	tag := "1.1.0"
	run, err = f.prov.Update(ctx, ann, "atlas", "maps", provision.Release{Tag: &tag})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, f, ann, run.ID)
	if r.Status != provision.StatusFailed || !strings.HasPrefix(r.Error, "commit: the GitOps remote has not taken the commit for 3s") || !strings.Contains(r.Error, said) {
		t.Fatalf("a remote refusing past the timeout: %s %q", r.Status, r.Error)
	}
	if n := commitsOf(t, f, run.ID); n != 0 {
		t.Fatalf("%d commits of the failed run", n)
	}
}

func stepOf(r store.Run, name string) store.RunStep {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return store.RunStep{}
}
