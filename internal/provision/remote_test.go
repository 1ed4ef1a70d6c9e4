package provision_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/gittest"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A GitOps repository behind HTTPS with a token, as in production: Berth pushes with the
// token, hands it to Argo CD as a repository Secret, Argo CD's repo server fetches with it
// and deploys; prod is released through Argo CD's REST API, under the API token's account.
func TestRemoteRepositoryWithTokenAndArgoCDAPI(t *testing.T) {
	p := plane.Get(t)
	root := t.TempDir()
	bare := gittest.BareRepo(t, root, "gitops.git")
	base := gittest.ServeHTTP(t, root, "gitops-token-123")
	f := newFixture(t, "remote-{team}-{env}", remoteOptions{remote: base + "/gitops.git", bare: bare,
		creds: gitops.Credentials{Token: "gitops-token-123"}, argoServer: p.ArgoCDServer, argoToken: p.ArgoCDToken(t)})
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(t.Context(), jane, tenancy.NewTeam{Name: "ledger"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.prov.Create(t.Context(), jane, "ledger", provision.NewService{Name: "books", Blueprint: "go-api",
		Image: "registry.example.com/ledger/books", Tag: "1.0.0", Environments: []string{"dev", "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if run = waitRun(t, f, jane, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatalf("run: %s", run.Error)
	}
	if got, _ := exec.Command("git", "-C", bare, "rev-parse", "main").CombinedOutput(); strings.TrimSpace(string(got)) != run.CommitSHA {
		t.Fatalf("the remote's main is %s, the run committed %s", got, run.CommitSHA)
	}
	sec, err := p.Client.CoreV1().Secrets("argocd").Get(t.Context(), argocd.RepositorySecretName, metav1.GetOptions{})
	if err != nil || string(sec.Data["password"]) != "gitops-token-123" || sec.Labels["argocd.argoproj.io/secret-type"] != "repository" {
		t.Fatalf("Argo CD repository secret: %v %v", sec.Labels, err)
	}
	plane.Eventually(t, time.Minute, "2 pods running in dev", func() (bool, error) {
		n := runningPods(t, f, f.ns("ledger", "dev"), "books")
		return n == 2, fmt.Errorf("%d running", n)
	})
	if _, err := f.prov.Sync(t.Context(), jane, "ledger", "books", "prod"); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, time.Minute, "2 pods running in prod", func() (bool, error) {
		n := runningPods(t, f, f.ns("ledger", "prod"), "books")
		return n == 2, fmt.Errorf("%d running", n)
	})
	// Through the REST API the sync is the API token's (admin's), not an edit of the object.
	if got := lastOperation(t, f, jane, "ledger", "books", "prod"); got.InitiatedBy != "admin" || got.Phase != "Succeeded" {
		t.Fatalf("prod's sync as Argo CD reports it: %+v", got)
	}
}
