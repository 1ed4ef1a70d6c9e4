package provision_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	argoclient "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// One worker for everyone: a run waiting for its rollout (Argo CD holds the team's syncs in a
// deny window) gives the worker back, so another team's service is created and deployed
// meanwhile, and the waiting run says what it waits for.
func TestWaitingRunsHoldNoWorker(t *testing.T) {
	f := newFixture(t, "fair-{team}-{env}")
	f.stop()
	f.workers = 1
	f.startExecutor(t)
	ctx := t.Context()
	ada, bo := person("user:default/ada"), person("user:default/bo")
	slow, err := f.ten.CreateTeam(ctx, ada, tenancy.NewTeam{Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ten.CreateTeam(ctx, bo, tenancy.NewTeam{Name: "quick"}); err != nil {
		t.Fatal(err)
	}
	worker := func(team, name string) provision.NewService {
		return provision.NewService{Name: name, Blueprint: "worker", Image: "registry.example.com/" + team + "/" + name, Tag: "1.0.0", Environments: []string{"dev"}}
	}
	f.created(t, ada, "slow", worker("slow", "etl"))
	// The platform holds team slow's syncs (an Argo CD sync window Berth's apply leaves alone).
	project := argocd.ProjectName(argocd.Team{ID: slow.ID, Name: slow.Name})
	_, err = argoclient.NewForConfigOrDie(f.p.Config).ArgoprojV1alpha1().AppProjects("argocd").Patch(ctx, project, types.MergePatchType,
		[]byte(`{"spec":{"syncWindows":[{"kind":"deny","schedule":"* * * * *","duration":"1h","applications":["*"]}]}}`), metav1.PatchOptions{FieldManager: "platform-operator"})
	if err != nil {
		t.Fatal(err)
	}
	held, err := f.prov.Update(ctx, ada, "slow", "etl", provision.Release{Tag: ptr.To("1.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, time.Minute, "slow's release waiting in its rollout", func() (bool, error) {
		r, _, err := f.prov.Get(ctx, ada, held.ID)
		return err == nil && r.Status == provision.StatusRunning && strings.HasPrefix(step(r, "rollout").Message, "waiting for Argo CD: dev OutOfSync"),
			fmt.Errorf("%s: %+v", r.Status, step(r, "rollout"))
	})
	// With the only worker free, team quick's service goes all the way.
	f.created(t, bo, "quick", worker("quick", "api"))
	r, _, err := f.prov.Get(ctx, ada, held.ID)
	if err != nil || r.Status != provision.StatusRunning {
		t.Fatalf("slow's release is no longer waiting: %s %v", r.Status, err)
	}
}

// A rollout Kubernetes refuses (a quota the platform added beside Berth's allows one pod of
// two) fails at once with the diagnosis of the refusal, not after the rollout timeout.
func TestRefusedRolloutFailsWithTheReason(t *testing.T) {
	f := newFixture(t, "refused-{team}-{env}")
	f.stop()
	f.deps.RolloutTimeout = time.Hour // only a reason, never the timeout, can end this run
	f.startExecutor(t)
	ctx := t.Context()
	cy := person("user:default/cy")
	if _, err := f.ten.CreateTeam(ctx, cy, tenancy.NewTeam{Name: "media"}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, time.Minute, "media's dev namespace", func() (bool, error) {
		_, err := f.p.Client.CoreV1().Namespaces().Get(ctx, f.ns("media", "dev"), metav1.GetOptions{})
		return err == nil, err
	})
	_, err := f.p.Client.CoreV1().ResourceQuotas(f.ns("media", "dev")).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "platform-pods"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := f.prov.Create(ctx, cy, "media", provision.NewService{Name: "encoder", Blueprint: "worker", Image: "registry.example.com/media/encoder", Tag: "1.0.0",
		Parameters: map[string]any{"replicas": 2}, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, f, cy, run.ID)
	// The diagnosis of what the run deployed says it: the finding's code, summary and fix.
	if run.Status != provision.StatusFailed || !strings.Contains(run.Error, "rollout: encoder cannot roll out in dev: QuotaExceeded: Kubernetes refuses new pods: quota platform-pods is full") ||
		!strings.Contains(run.Error, "Fix: Lower the replicas") {
		t.Fatalf("run: %s %s", run.Status, run.Error)
	}
}

func step(r store.Run, name string) store.RunStep {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return store.RunStep{}
}
