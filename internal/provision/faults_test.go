package provision_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stepWaits waits until a run's step is running with a message that holds want.
func stepWaits(t *testing.T, f *fixture, id, step, want string, within time.Duration) store.RunStep {
	t.Helper()
	var got store.RunStep
	plane.Eventually(t, within, step+" waits: "+want, func() (bool, error) {
		r, err := f.st.Q().RunByID(t.Context(), id)
		if err != nil {
			return false, err
		}
		got = stepOf(r, step)
		return r.Status == provision.StatusRunning && got.Status == provision.StatusRunning && strings.Contains(got.Message, want),
			fmt.Errorf("run %s, %s %s %q", r.Status, step, got.Status, got.Message)
	})
	return got
}

// Argo CD's application controller is down during a run: the rollout waits, and says that Argo
// CD is not reconciling the Application (the refresh Berth asked for stays pending); once the
// controller is back the run succeeds.
func TestARunWaitsForArgoCDAndSaysSo(t *testing.T) {
	f := newFixture(t, "argo-down-{team}-{env}")
	ctx := t.Context()
	bo := person("user:default/bo")
	if _, err := f.ten.CreateTeam(ctx, bo, tenancy.NewTeam{Name: "orbit"}); err != nil {
		t.Fatal(err)
	}
	f.p.StopPart(t, "argocd-application-controller")
	run, err := f.prov.Create(ctx, bo, "orbit", provision.NewService{Name: "probe", Blueprint: "worker", Image: "registry.example.com/orbit/probe",
		Tag: "1.0.0", Parameters: map[string]any{"replicas": 1}, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	step := stepWaits(t, f, run.ID, "rollout", "is Argo CD's application controller running?", time.Minute)
	if !strings.Contains(step.Message, "Argo CD has never reconciled") {
		t.Fatalf("the rollout's message: %q", step.Message)
	}
	f.p.StartPart(t, "argocd-application-controller")
	if r := waitRun(t, f, bo, run.ID); r.Status != provision.StatusSucceeded {
		t.Fatalf("once Argo CD was back: %s %s", r.Status, r.Error)
	}
}

// The API server is stopped while a team is created (its namespaces cannot be made yet), and
// again right after the team's first run has written its Applications (killed there by the
// run's own step hook, so the outage falls inside the run): once it is back, the reconciler
// makes the namespaces, the waiting steps go on, and the run succeeds with one commit and one
// Application.
func TestTheAPIServerStoppedDuringReconcilesAndARun(t *testing.T) {
	f := newFixture(t, "apiserver-{team}-{env}")
	ctx := t.Context()
	var once sync.Once
	stopped := make(chan error, 1)
	// The second stop waits until the first restart is complete (the API server answers
	// before it is ready, so the run may reach its argocd step while StartPart still waits).
	restarted := make(chan struct{})
	f.stop()
	f.configure = func(s *provision.Service) {
		provision.SetAfterStep(s, func(step string) {
			if step == "argocd" {
				once.Do(func() {
					<-restarted
					stopped <- f.p.Stop("kube-apiserver")
				})
			}
		})
	}
	f.startExecutor(t)
	cy := person("user:default/cy")
	f.p.StopPart(t, "kube-apiserver")
	team, err := f.ten.CreateTeam(ctx, cy, tenancy.NewTeam{Name: "delta"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := f.prov.Create(ctx, cy, "delta", provision.NewService{Name: "tide", Blueprint: "worker", Image: "registry.example.com/delta/tide",
		Tag: "1.0.0", Parameters: map[string]any{"replicas": 1}, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	stepWaits(t, f, run.ID, "environments", "environment dev is", 30*time.Second)
	time.Sleep(3 * time.Second)
	f.p.StartPart(t, "kube-apiserver")
	close(restarted)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stopping the API server after the argocd step: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the run did not reach its argocd step once the API server was back")
	}
	stepWaits(t, f, run.ID, "refresh", "waiting: a server Berth needs did not answer; trying again", time.Minute)
	time.Sleep(3 * time.Second)
	f.p.StartPart(t, "kube-apiserver")
	if r := waitRun(t, f, cy, run.ID); r.Status != provision.StatusSucceeded {
		t.Fatalf("after the API server came back: %s %s", r.Status, r.Error)
	}
	ns, err := f.p.Client.CoreV1().Namespaces().Get(ctx, f.ns("delta", "dev"), metav1.GetOptions{})
	if err != nil || ns.Status.Phase != "Active" {
		t.Fatalf("the team's namespace: %v", err)
	}
	if n := commitsOf(t, f, run.ID); n != 1 {
		t.Fatalf("%d commits of the run", n)
	}
	if n := applicationsOf(t, f, team.ID, "tide"); n != 1 {
		t.Fatalf("%d Applications", n)
	}
}
