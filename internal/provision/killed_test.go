package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A child Berth of TestKilledAtEveryRunStep kills itself once the step named by envKillAfter
// has done its work; envShared is the fixture it shares with the test (JSON).
const (
	envKillAfter = "BERTH_TEST_KILL_AFTER"
	envShared    = "BERTH_TEST_SHARED"
)

var applications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// Berth killed (SIGKILL, a process of its own) after each step of a run has done its work and
// before it is recorded: each next Berth takes the run over once the dead one's claim runs out,
// does that step again and is killed after the next. The run then succeeds with each step once
// in its record, one commit, one database and an unchanged Secret per environment, and one
// Application per environment.
func TestKilledAtEveryRunStep(t *testing.T) {
	if step := os.Getenv(envKillAfter); step != "" {
		killedBerth(t, step)
		return
	}
	sh := newShared(t, "pgx", "kill-{team}-{env}")
	sh.ClaimLease = 2 * time.Second
	f := newFixtureOf(t, sh, nil)
	ctx := t.Context()
	jane := person("user:default/jane")
	team, err := f.ten.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "ledger"})
	if err != nil {
		t.Fatal(err)
	}
	f.stop()
	run, err := f.prov.Create(ctx, jane, "ledger", provision.NewService{Name: "books", Blueprint: "worker", Image: "registry.example.com/ledger/books",
		Tag: "1.0.0", Parameters: map[string]any{"database": true, "replicas": 1}, Environments: []string{"dev", "staging"}})
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range run.Steps {
		steps = append(steps, s.Name)
	}
	if want := []string{"validate", "environments", "render", "preflight", "commit", "credentials", "argocd", "refresh", "rollout"}; !slices.Equal(steps, want) {
		t.Fatalf("a create's steps: %v, want %v", steps, want)
	}
	enc, err := json.Marshal(sh)
	if err != nil {
		t.Fatal(err)
	}
	envs := []string{"dev", "staging"}
	secrets := map[string]map[string][]byte{}
	for i, step := range steps {
		out, err := killedChild(t, step, string(enc), f.p.Dir)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("Berth was to be killed after %s: %v\n%s", step, err, out)
		}
		r, err := f.st.Q().RunByID(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Killed before it was recorded: the step is not done, the ones before it are.
		if r.Status != provision.StatusRunning || r.Steps[i].Status == provision.StatusSucceeded || (i > 0 && r.Steps[i-1].Status != provision.StatusSucceeded) {
			t.Fatalf("killed after %s: run %s, steps %+v", step, r.Status, r.Steps)
		}
		switch step {
		case "commit":
			if n := commitsOf(t, f, run.ID); n != 1 {
				t.Fatalf("killed after the commit: %d commits of the run", n)
			}
		case "credentials":
			for _, env := range envs {
				sec, err := f.p.Client.CoreV1().Secrets(f.ns("ledger", env)).Get(ctx, "books-db", metav1.GetOptions{})
				if err != nil {
					t.Fatalf("killed after the credentials: %v", err)
				}
				secrets[env] = sec.Data
			}
		case "argocd":
			if n := applicationsOf(t, f, team.ID, "books"); n != len(envs) {
				t.Fatalf("killed after the Applications were written: %d of them", n)
			}
		}
	}
	// A Berth that is not killed finishes it.
	f.startExecutor(t)
	if r := waitRun(t, f, jane, run.ID); r.Status != provision.StatusSucceeded {
		t.Fatalf("the resumed run: %s %s", r.Status, r.Error)
	}
	r, err := f.st.Q().RunByID(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	for _, s := range r.Steps {
		if s.Status != provision.StatusSucceeded {
			t.Errorf("step %s: %s %s", s.Name, s.Status, s.Message)
		}
		done = append(done, s.Name)
	}
	if !slices.Equal(done, steps) {
		t.Fatalf("the run's record: %v, want each step once: %v", done, steps)
	}
	if n := commitsOf(t, f, run.ID); n != 1 {
		t.Fatalf("%d commits of the run, want 1", n)
	}
	if n := applicationsOf(t, f, team.ID, "books"); n != len(envs) {
		t.Fatalf("%d Applications, want %d", n, len(envs))
	}
	for _, env := range envs {
		ns := f.ns("ledger", env)
		sec, err := f.p.Client.CoreV1().Secrets(ns).Get(ctx, "books-db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(sec.Data, secrets[env], func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatalf("the Secret in %s changed after the kill", env)
		}
		opensDatabase(t, f.p.Client, ns, "books-db", databases.Target{TeamID: team.ID, Team: "ledger", Service: "books", Env: env})
	}
}

// killedChild runs this test binary as a Berth that kills itself after step, over the shared
// fixture and the plane in planeDir; it returns how the process ended and what it wrote.
func killedChild(t *testing.T, step, shared, planeDir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKilledAtEveryRunStep$", "-test.count=1", "-test.v")
	// A child that overstays is asked for its goroutines (SIGQUIT), not killed: a SIGKILL is
	// what the test waits for.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), envKillAfter+"="+step, envShared+"="+shared, plane.EnvReuse+"="+planeDir, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("not killed after %s within 3 minutes: %w", step, err)
	}
	return out, err
}

// killedBerth is the child: a Berth over the shared fixture that kills itself after step.
func killedBerth(t *testing.T, step string) {
	var sh shared
	if err := json.Unmarshal([]byte(os.Getenv(envShared)), &sh); err != nil {
		t.Fatal(err)
	}
	f := newFixtureOf(t, sh, func(s *provision.Service) {
		provision.SetAfterStep(s, func(done string) {
			if done == step {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		})
	})
	plane.Eventually(t, 3*time.Minute, "killed after "+step, func() (bool, error) {
		runs, err := f.st.Q().UnfinishedRuns(t.Context())
		if err != nil {
			return false, err
		}
		if len(runs) == 0 {
			t.Fatalf("the run finished without Berth being killed after %s", step)
		}
		return false, fmt.Errorf("runs %v unfinished", runs)
	})
}

// commitsOf counts the commits of a run in the fixture's repository.
func commitsOf(t *testing.T, f *fixture, run string) int {
	t.Helper()
	out, err := exec.Command("git", "-C", f.remote, "log", "--format=%B", "main").CombinedOutput()
	if err != nil {
		t.Fatalf("git log: %v\n%s", err, out)
	}
	return strings.Count(string(out), "Berth-Run: "+run+"\n")
}

// applicationsOf counts the Argo CD Applications of a team's service.
func applicationsOf(t *testing.T, f *fixture, teamID, service string) int {
	t.Helper()
	list, err := f.p.Dynamic.Resource(applications).Namespace("argocd").List(t.Context(),
		metav1.ListOptions{LabelSelector: argocd.LabelTeamID + "=" + teamID + "," + argocd.LabelService + "=" + service})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}
