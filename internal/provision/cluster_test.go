package provision_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	argoclient "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The guide's model on two real control planes: dev on the shared cluster, prod on a
// dedicated one. One service deploys to both through the shared cluster's Argo CD, its pods
// run where each environment is placed, and moving an environment moves its Application.
func TestServicesRunOnTheirEnvironmentsCluster(t *testing.T) {
	f := newFixture(t, "mc-{team}-{env}")
	ctx := t.Context()
	edge, err := plane.Up(t.TempDir(), "--no-argocd", "--no-kyverno")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = edge.Down() })
	root := person("user:default/root")
	root.PlatformAdmin = true
	if _, err := f.ten.RegisterCluster(ctx, root, tenancy.NewCluster{Name: "edge", Server: edge.Config.Host, CAData: edge.PKI(t, "ca.crt"),
		Credentials: tenancy.ClusterCredentials{ClientCert: edge.PKI(t, "admin.crt"), ClientKey: edge.PKI(t, "admin.key")}}); err != nil {
		t.Fatal(err)
	}
	ann := person("user:default/ann")
	team, err := f.ten.CreateTeam(ctx, ann, tenancy.NewTeam{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ten.PlaceEnvironment(ctx, root, "shop", "prod", "edge"); err != nil {
		t.Fatal(err)
	}
	f.created(t, ann, "shop", provision.NewService{Name: "web", Blueprint: "nodejs-api", Image: "registry.example.com/shop/web", Tag: "1.0.0",
		Parameters: map[string]any{"database": true, "public": true}, Environments: []string{"dev", "prod"}})
	owner := argocd.Team{ID: team.ID, Name: team.Name}
	apps := argoclient.NewForConfigOrDie(f.p.Config).ArgoprojV1alpha1()
	destination := func(env string) string {
		t.Helper()
		app, err := apps.Applications("argocd").Get(ctx, argocd.AppName(owner, "web", env), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return app.Spec.Destination.Server
	}
	if got := destination("prod"); got != edge.Config.Host {
		t.Fatalf("prod's Application deploys to %s, not the dedicated cluster %s", got, edge.Config.Host)
	}
	if got := destination("dev"); got != argocd.InClusterServer {
		t.Fatalf("dev's Application deploys to %s", got)
	}
	proj, err := apps.AppProjects("argocd").Get(ctx, argocd.ProjectName(owner), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, d := range proj.Spec.Destinations {
		dests = append(dests, d.Server+" "+d.Namespace)
	}
	for _, want := range []string{argocd.InClusterServer + " " + f.ns("shop", "dev"), edge.Config.Host + " " + f.ns("shop", "prod")} {
		if !slices.Contains(dests, want) {
			t.Fatalf("project destinations %v lack %s", dests, want)
		}
	}
	secret, err := f.p.Client.CoreV1().Secrets("argocd").Get(ctx, argocd.ClusterSecretName("edge"), metav1.GetOptions{})
	if err != nil || secret.Labels["argocd.argoproj.io/secret-type"] != "cluster" || string(secret.Data["server"]) != edge.Config.Host {
		t.Fatalf("Argo CD's cluster secret: %v %v", secret.Labels, err)
	}

	running := func(cs kubernetes.Interface, env string, want int) {
		t.Helper()
		plane.Eventually(t, 2*time.Minute, fmt.Sprintf("%d pods of web running in %s", want, env), func() (bool, error) {
			n := podsRunning(t, cs, f.ns("shop", env), "web")
			return n == want, fmt.Errorf("%d running", n)
		})
	}
	running(f.p.Client, "dev", 2)
	if _, err := f.prov.Sync(ctx, ann, "shop", "web", "prod"); err != nil {
		t.Fatal(err)
	}
	running(edge.Client, "prod", 2)
	if _, err := f.p.Client.CoreV1().Namespaces().Get(ctx, f.ns("shop", "prod"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("prod's namespace on the shared cluster: %v", err)
	}
	// Each environment's Secret is where it runs, written as ann (the team's RBAC there
	// decides), and opens that environment's own database on the platform server.
	for _, c := range []struct {
		cs  kubernetes.Interface
		env string
	}{{f.p.Client, "dev"}, {edge.Client, "prod"}} {
		opensDatabase(t, c.cs, f.ns("shop", c.env), "web-db", databases.Target{TeamID: team.ID, Team: "shop", Service: "web", Env: c.env})
	}
	healthy := func(env string) {
		t.Helper()
		plane.Eventually(t, 2*time.Minute, env+" healthy and synced", func() (bool, error) {
			st, err := f.prov.Status(ctx, ann, "shop", "web")
			if err != nil {
				return false, err
			}
			for _, e := range st.Environments {
				if e.Name == env {
					return e.Argo != nil && e.Argo.Health == "Healthy" && e.Argo.Sync == "Synced", fmt.Errorf("%+v %s", e.Argo, e.Error)
				}
			}
			return false, fmt.Errorf("no %s in the status", env)
		})
	}
	healthy("prod")
	healthy("dev")

	// Moving dev to the dedicated cluster is a run of the service that deploys it there.
	if _, err := f.ten.PlaceEnvironment(ctx, root, "shop", "dev", "edge"); err != nil {
		t.Fatal(err)
	}
	move := lastRun(t, f, ann, "web")
	if move.Action != "move" || move.RequestedBy != "user:default/ann" {
		t.Fatalf("after the placement, the service's last run is %s by %s", move.Action, move.RequestedBy)
	}
	if move = waitRun(t, f, ann, move.ID); move.Status != provision.StatusSucceeded {
		t.Fatalf("move run failed: %s", move.Error)
	}
	if got := destination("dev"); got != edge.Config.Host {
		t.Fatalf("dev's Application deploys to %s after the move", got)
	}
	running(edge.Client, "dev", 2)
	plane.Eventually(t, 2*time.Minute, "dev's namespace gone from the shared cluster", func() (bool, error) {
		_, err := f.p.Client.CoreV1().Namespaces().Get(ctx, f.ns("shop", "dev"), metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})

	// Back home, then the cluster is unregistered and Argo CD forgets it.
	for _, env := range []string{"dev", "prod"} {
		if _, err := f.ten.PlaceEnvironment(ctx, root, "shop", env, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Prod was placed while dev's move ran: a run follows it, and both come home.
	plane.Eventually(t, 3*time.Minute, "both Applications back on the shared cluster", func() (bool, error) {
		d, p := destination("dev"), destination("prod")
		return d == argocd.InClusterServer && p == argocd.InClusterServer, fmt.Errorf("dev %s, prod %s", d, p)
	})
	if move = waitRun(t, f, ann, lastRun(t, f, ann, "web").ID); move.Status != provision.StatusSucceeded {
		t.Fatalf("move home failed: %s", move.Error)
	}
	if err := f.ten.DeleteCluster(ctx, root, "edge"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Client.CoreV1().Secrets("argocd").Get(ctx, argocd.ClusterSecretName("edge"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Argo CD still has the unregistered cluster: %v", err)
	}
}

// lastRun is a service's newest run.
func lastRun(t *testing.T, f *fixture, p access.Principal, service string) store.Run {
	t.Helper()
	st, err := f.prov.Status(t.Context(), p, "shop", service)
	if err != nil || len(st.Runs) == 0 {
		t.Fatalf("runs of %s: %v", service, err)
	}
	return st.Runs[0]
}
