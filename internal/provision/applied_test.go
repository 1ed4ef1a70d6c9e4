package provision_test

import (
	"fmt"
	"time"

	"slices"
	"testing"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argoclient "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Berth applies its Argo CD objects server-side: what another owner sets on them (a sync
// window and a role on the project, an annotation on the Application) survives Berth's next
// release, and what Berth decides (the project's destinations) is Berth's again.
func TestArgoCDObjectsKeepOtherOwnersFields(t *testing.T) {
	f := newFixture(t, "ssa-{team}-{env}")
	ctx := t.Context()
	lee := person("user:default/lee")
	team, err := f.ten.CreateTeam(ctx, lee, tenancy.NewTeam{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	f.created(t, lee, "docs", provision.NewService{Name: "site", Blueprint: "worker", Image: "registry.example.com/docs/site", Tag: "1.0.0",
		Environments: []string{"dev"}})
	owner := argocd.Team{ID: team.ID, Name: team.Name}
	argo := argoclient.NewForConfigOrDie(f.p.Config).ArgoprojV1alpha1()
	operator := metav1.PatchOptions{FieldManager: "platform-operator"}
	project := argocd.ProjectName(owner)
	// An operator adds a sync window, a role and a destination Berth did not decide. The deny
	// window is twelve hours away (Argo CD keeps it in UTC): inside it, the update could not sync.
	deny := fmt.Sprintf("0 %d * * *", (time.Now().UTC().Hour()+12)%24)
	_, err = argo.AppProjects("argocd").Patch(ctx, project, types.MergePatchType, []byte(`{"metadata":{"annotations":{"example.com/owner":"platform"}},
		"spec":{"syncWindows":[{"kind":"deny","schedule":"`+deny+`","duration":"1h","applications":["*"]}],
		"roles":[{"name":"ci","policies":["p, proj:`+project+`:ci, applications, sync, `+project+`/*, allow"]}],
		"destinations":[{"server":"https://kubernetes.default.svc","namespace":"kube-system"}]}}`), operator)
	if err != nil {
		t.Fatal(err)
	}
	app := argocd.AppName(owner, "site", "dev")
	if _, err := argo.Applications("argocd").Patch(ctx, app, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"notifications.argoproj.io/subscribe.on-sync-failed.slack":"docs"}}}`), operator); err != nil {
		t.Fatal(err)
	}
	run, err := f.prov.Update(ctx, lee, "docs", "site", provision.Release{Tag: ptr.To("1.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	if run = waitRun(t, f, lee, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatalf("update: %s", run.Error)
	}
	p, err := argo.AppProjects("argocd").Get(ctx, project, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.SyncWindows) != 1 || len(p.Spec.Roles) != 1 || p.Annotations["example.com/owner"] != "platform" {
		t.Fatalf("the operator's fields are gone: windows %d, roles %d, annotations %v", len(p.Spec.SyncWindows), len(p.Spec.Roles), p.Annotations)
	}
	if slices.ContainsFunc(p.Spec.Destinations, func(d v1alpha1.ApplicationDestination) bool { return d.Namespace == "kube-system" }) {
		t.Fatalf("a destination Berth did not decide stayed: %+v", p.Spec.Destinations)
	}
	a, err := argo.Applications("argocd").Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Annotations["notifications.argoproj.io/subscribe.on-sync-failed.slack"] != "docs" {
		t.Fatalf("the Application's annotation is gone: %v", a.Annotations)
	}
	if a.Labels[argocd.LabelTeamID] != team.ID || a.Spec.Project != project {
		t.Fatalf("Berth's fields: labels %v, project %s", a.Labels, a.Spec.Project)
	}
}
