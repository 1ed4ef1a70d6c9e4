package provision_test

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/gittest"
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
	const waits = "waiting: the GitOps remote has not taken the commit; trying again (the remote said: "
	first := stepWaits(t, f, run.ID, "commit", waits, time.Minute)
	if !strings.Contains(first.Message, said) {
		t.Fatalf("the hook's words are not in %q", first.Message)
	}
	// Tried again meanwhile (the waits grow from a second), still waiting with the same words
	// (the row is not rewritten at every try), nothing landed.
	time.Sleep(4 * time.Second)
	if again := stepWaits(t, f, run.ID, "commit", waits, time.Minute); again.Message != first.Message {
		t.Fatalf("the waiting message changed: %q, then %q", first.Message, again.Message)
	}
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
