package provision_test

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argoclient "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Two teams whose names join to the same strings ("ab-c" + "api" and "ab" + "c-api"), and a
// third with a service of the same name as the first's: each gets Applications, files and
// pods of its own, and none of them changes another's.
func TestTeamsWithCollidingNamesStayApart(t *testing.T) {
	f := newFixture(t, "iso-{team}-{env}")
	ctx := t.Context()
	type svc struct{ team, service, image, admin string }
	all := []svc{
		{"ab-c", "api", "registry.example.com/abc/api", "user:default/ann"},
		{"ab", "c-api", "registry.example.com/ab/c-api", "user:default/bob"},
		{"beta", "api", "registry.example.com/beta/api", "user:default/bea"},
	}
	for _, s := range all {
		if _, err := f.ten.CreateTeam(ctx, person(s.admin), tenancy.NewTeam{Name: s.team}); err != nil {
			t.Fatal(err)
		}
	}
	runs := map[string]store.Run{}
	for _, s := range all {
		run, err := f.prov.Create(ctx, person(s.admin), s.team, provision.NewService{Name: s.service, Blueprint: "worker", Image: s.image, Tag: "1.0.0",
			Environments: []string{"dev"}})
		if err != nil {
			t.Fatal(err)
		}
		runs[s.team] = run
	}
	for _, s := range all {
		if run := waitRun(t, f, person(s.admin), runs[s.team].ID); run.Status != provision.StatusSucceeded {
			t.Fatalf("%s/%s: %s", s.team, s.service, run.Error)
		}
	}
	argo := argoclient.NewForConfigOrDie(f.p.Config).ArgoprojV1alpha1().Applications("argocd")
	seen := map[string]bool{}
	for _, s := range all {
		team, err := f.ten.Authorize(ctx, person(s.admin), s.team, "viewer")
		if err != nil {
			t.Fatal(err)
		}
		name := argocd.AppName(argocd.Team{ID: team.ID, Name: team.Name}, s.service, "dev")
		if seen[name] {
			t.Fatalf("two services share the Application %s", name)
		}
		seen[name] = true
		app, err := argo.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantPath := "teams/" + s.team + "/services/" + s.service + "/overlays/dev"
		if app.Spec.Source.Path != wantPath || app.Spec.Destination.Namespace != f.ns(s.team, "dev") || app.Labels[argocd.LabelTeamID] != team.ID {
			t.Errorf("%s: path %s, namespace %s, team id %s", name, app.Spec.Source.Path, app.Spec.Destination.Namespace, app.Labels[argocd.LabelTeamID])
		}
		plane.Eventually(t, time.Minute, s.team+"'s deployment", func() (bool, error) {
			d, err := f.p.Client.AppsV1().Deployments(f.ns(s.team, "dev")).Get(ctx, s.service, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return d.Spec.Template.Spec.Containers[0].Image == s.image+":1.0.0", nil
		})
	}
	// beta's api runs in beta's namespace only, and alpha's namespace holds no beta object.
	if _, err := f.p.Client.AppsV1().Deployments(f.ns("ab-c", "dev")).Get(ctx, "c-api", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("team ab's service is in team ab-c's namespace: %v", err)
	}

	// An update and a rollback by one team change nothing of the others': not their files,
	// not their pods.
	bob := person("user:default/bob")
	tag := "1.0.1"
	up, err := f.prov.Update(ctx, bob, "ab", "c-api", provision.Release{Tag: &tag})
	if err != nil {
		t.Fatal(err)
	}
	if up = waitRun(t, f, bob, up.ID); up.Status != provision.StatusSucceeded {
		t.Fatal(up.Error)
	}
	back, err := f.prov.Rollback(ctx, bob, "ab", "c-api", runs["ab"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if back = waitRun(t, f, bob, back.ID); back.Status != provision.StatusSucceeded {
		t.Fatal(back.Error)
	}
	for _, team := range []string{"ab-c", "beta"} {
		out, _ := exec.Command("git", "-C", f.remote, "log", "--format=%s", "main", "--", "teams/"+team).CombinedOutput()
		if n := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; n != 1 {
			t.Errorf("team %s's files changed with another team's release: %s", team, out)
		}
	}
	for _, s := range []svc{all[0], all[2]} {
		d, err := f.p.Client.AppsV1().Deployments(f.ns(s.team, "dev")).Get(ctx, s.service, metav1.GetOptions{})
		if err != nil || d.Spec.Template.Spec.Containers[0].Image != s.image+":1.0.0" {
			t.Errorf("%s/%s after another team's release: %v", s.team, s.service, err)
		}
	}

	// An Application of the derived name that Berth did not make for the team is a conflict,
	// and stays as it was.
	ann, _ := f.ten.Authorize(ctx, person("user:default/ann"), "ab-c", "viewer")
	squatted := argocd.AppName(argocd.Team{ID: ann.ID, Name: ann.Name}, "web", "dev")
	foreign := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: squatted, Namespace: "argocd"},
		Spec: v1alpha1.ApplicationSpec{Project: "default", Destination: v1alpha1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "default"},
			Source: &v1alpha1.ApplicationSource{RepoURL: "https://example.com/other.git", Path: "x"}}}
	if _, err := argo.Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = argo.Delete(t.Context(), squatted, metav1.DeleteOptions{}) })
	run, err := f.prov.Create(ctx, person("user:default/ann"), "ab-c", provision.NewService{Name: "web", Blueprint: "worker", Image: "registry.example.com/abc/web", Tag: "1.0.0",
		Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, f, person("user:default/ann"), run.ID)
	if run.Status != provision.StatusFailed || !strings.Contains(run.Error, "was not made by Berth for this team") {
		t.Fatalf("run over a foreign Application: %s %s", run.Status, run.Error)
	}
	got, _ := argo.Get(ctx, squatted, metav1.GetOptions{})
	if got.Spec.Source.RepoURL != "https://example.com/other.git" || got.Spec.Project != "default" {
		t.Fatalf("the foreign Application was changed: %+v", got.Spec.Source)
	}
}

// A repository of the old layout (services/<service>/...) with its Application is moved under
// the team in one commit, the old Application goes (without touching what runs) and a new one
// follows the new folder; a second start changes nothing.
func TestOldLayoutIsMigrated(t *testing.T) {
	f := newFixture(t, "mig-{team}-{env}")
	ctx := t.Context()
	jane := person("user:default/jane")
	if _, err := f.ten.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "legacy"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.prov.Create(ctx, jane, "legacy", provision.NewService{Name: "old", Blueprint: "worker", Image: "registry.example.com/legacy/old", Tag: "1.0.0",
		Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if run = waitRun(t, f, jane, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatal(run.Error)
	}
	// Make it look as an earlier Berth left it: files under services/, an Application of the
	// old name without a team id, and no new Application.
	team, _ := f.ten.Authorize(ctx, jane, "legacy", "viewer")
	owner := argocd.Team{ID: team.ID, Name: team.Name}
	argo := argoclient.NewForConfigOrDie(f.p.Config).ArgoprojV1alpha1().Applications("argocd")
	cur, err := argo.Get(ctx, argocd.AppName(owner, "old", "dev"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	legacy := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "legacy-old-dev", Namespace: "argocd",
		Labels: map[string]string{argocd.LabelManagedBy: argocd.ManagedBy, argocd.LabelTeam: "legacy"}}, Spec: cur.Spec}
	legacy.Spec.Source.Path = "services/old/overlays/dev"
	legacy.Spec.SyncPolicy = nil
	if err := argo.Delete(ctx, cur.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := argo.Create(ctx, legacy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if out, err := exec.Command("bash", "-c", "git clone -q --branch main "+f.remote+" "+work+" && cd "+work+
		" && mkdir -p services && git mv teams/legacy/services/old services/old && git -c user.name=t -c user.email=t@t commit -qm old && git push -q origin main").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	moved, err := f.prov.MigrateLayout(ctx)
	if err != nil || !moved {
		t.Fatalf("migration: %v %v", moved, err)
	}
	out, _ := exec.Command("git", "-C", f.remote, "ls-tree", "-r", "--name-only", "main").CombinedOutput()
	if strings.Contains(string(out), "services/old/base") && !strings.Contains(string(out), "teams/legacy/services/old/base/deployment.yaml") ||
		strings.Contains("\n"+string(out), "\nservices/") {
		t.Fatalf("tree after the migration:\n%s", out)
	}
	if _, err := argo.Get(ctx, "legacy-old-dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the old Application is still there: %v", err)
	}
	app, err := argo.Get(ctx, argocd.AppName(owner, "old", "dev"), metav1.GetOptions{})
	if err != nil || app.Spec.Source.Path != "teams/legacy/services/old/overlays/dev" {
		t.Fatalf("new Application: %v %+v", err, app)
	}
	// What ran keeps running: the Deployment was never deleted.
	var d *appsv1.Deployment
	if d, err = f.p.Client.AppsV1().Deployments(f.ns("legacy", "dev")).Get(ctx, "old", metav1.GetOptions{}); err != nil || d.DeletionTimestamp != nil {
		t.Fatalf("deployment after the migration: %v", err)
	}
	before, _ := exec.Command("git", "-C", f.remote, "rev-parse", "main").Output()
	if moved, err := f.prov.MigrateLayout(ctx); err != nil || moved {
		t.Fatalf("second migration: %v %v", moved, err)
	}
	after, _ := exec.Command("git", "-C", f.remote, "rev-parse", "main").Output()
	if string(before) != string(after) {
		t.Fatal("a second migration made a commit")
	}
}

// Deleting an environment, then the team, removes their Applications, the AppProject and the
// GitOps files before the namespaces: nothing is left for Argo CD to sync, and another team's
// objects stay.
func TestDeletionRemovesApplicationsProjectAndFiles(t *testing.T) {
	f := newFixture(t, "del-{team}-{env}")
	ctx := t.Context()
	jane, other := person("user:default/jane"), person("user:default/olga")
	for who, name := range map[string]string{"user:default/jane": "gone", "user:default/olga": "stays"} {
		if _, err := f.ten.CreateTeam(ctx, person(who), tenancy.NewTeam{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		team string
		p    access.Principal
	}{{"gone", jane}, {"stays", other}} {
		team, p := c.team, c.p
		run, err := f.prov.Create(ctx, p, team, provision.NewService{Name: "api", Blueprint: "worker", Image: "registry.example.com/x/api", Tag: "1.0.0",
			Environments: []string{"dev", "staging"}})
		if err != nil {
			t.Fatal(err)
		}
		if run = waitRun(t, f, p, run.ID); run.Status != provision.StatusSucceeded {
			t.Fatal(run.Error)
		}
	}
	gone, _ := f.ten.Authorize(ctx, jane, "gone", "viewer")
	stays, _ := f.ten.Authorize(ctx, other, "stays", "viewer")
	g, s := argocd.Team{ID: gone.ID, Name: gone.Name}, argocd.Team{ID: stays.ID, Name: stays.Name}
	argo := argoclient.NewForConfigOrDie(f.p.Config).ArgoprojV1alpha1()
	exists := func(name string) bool {
		_, err := argo.Applications("argocd").Get(ctx, name, metav1.GetOptions{})
		return err == nil
	}
	tree := func() string {
		out, _ := exec.Command("git", "-C", f.remote, "ls-tree", "-r", "--name-only", "main").CombinedOutput()
		return string(out)
	}

	if err := f.ten.DeleteEnvironment(ctx, jane, "gone", "staging"); err != nil {
		t.Fatal(err)
	}
	if exists(argocd.AppName(g, "api", "staging")) || !exists(argocd.AppName(g, "api", "dev")) || !exists(argocd.AppName(s, "api", "staging")) {
		t.Fatal("deleting gone's staging did not remove exactly its Application")
	}
	if files := tree(); strings.Contains(files, "teams/gone/services/api/overlays/staging/") || !strings.Contains(files, "teams/gone/services/api/overlays/dev/") {
		t.Fatalf("files after deleting staging:\n%s", files)
	}

	if err := f.ten.DeleteTeam(ctx, jane, "gone", ""); err != nil {
		t.Fatal(err)
	}
	if exists(argocd.AppName(g, "api", "dev")) {
		t.Fatal("the team's Application outlived the team")
	}
	if _, err := argo.AppProjects("argocd").Get(ctx, argocd.ProjectName(g), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the team's AppProject outlived the team: %v", err)
	}
	files := tree()
	if strings.Contains(files, "teams/gone/") || !strings.Contains(files, "teams/stays/services/api/overlays/staging/") {
		t.Fatalf("files after deleting the team:\n%s", files)
	}
	if !exists(argocd.AppName(s, "api", "dev")) || !exists(argocd.AppName(s, "api", "staging")) {
		t.Fatal("another team's Applications went with the deleted team")
	}
	// A new team of the old name starts empty: its own project and nothing of the old one's.
	if _, err := f.ten.CreateTeam(ctx, person("user:default/newcomer"), tenancy.NewTeam{Name: "gone"}); err == nil {
		again, _ := f.ten.Authorize(ctx, person("user:default/newcomer"), "gone", "viewer")
		if argocd.ProjectName(argocd.Team{ID: again.ID, Name: again.Name}) == argocd.ProjectName(g) {
			t.Fatal("a new team of an old name got the old team's project name")
		}
	}
}

// Public services of two teams whose names collide: every environment of each gets a host
// of its own, served in the service's status; one team's manual sync of prod deploys its prod
// only; a host in use cannot be claimed by the other team, and nothing of the first changes.
func TestCollidingTeamsKeepTheirHostsAndTheirProd(t *testing.T) {
	f := newFixture(t, "pub-{team}-{env}")
	ctx := t.Context()
	ann, bob := person("user:default/ann"), person("user:default/bob")
	type svc struct {
		team, service string
		who           access.Principal
	}
	all := []svc{{"ab-c", "api", ann}, {"ab", "c-api", bob}}
	for _, s := range all {
		if _, err := f.ten.CreateTeam(ctx, s.who, tenancy.NewTeam{Name: s.team}); err != nil {
			t.Fatal(err)
		}
		run, err := f.prov.Create(ctx, s.who, s.team, provision.NewService{Name: s.service, Blueprint: "nodejs-api", Image: "registry.example.com/" + s.team + "/api",
			Tag: "1.0.0", Parameters: map[string]any{"public": true, "replicas": 1}, Environments: []string{"dev", "prod"}})
		if err != nil {
			t.Fatal(err)
		}
		if run = waitRun(t, f, s.who, run.ID); run.Status != provision.StatusSucceeded {
			t.Fatalf("%s/%s: %s", s.team, s.service, run.Error)
		}
	}
	hosts := map[string]string{}
	for _, s := range all {
		st, err := f.prov.Status(ctx, s.who, s.team, s.service)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Environments {
			want := s.service + "." + e.Name + "." + s.team + ".apps.example.com"
			if e.Host != want || e.URL != "https://"+want {
				t.Errorf("%s/%s in %s: host %q, url %q; want %s", s.team, s.service, e.Name, e.Host, e.URL, want)
			}
			if other, dup := hosts[e.Host]; dup {
				t.Errorf("%s is the host of %s and of %s/%s", e.Host, other, s.team, e.Name)
			}
			hosts[e.Host] = s.team + "/" + e.Name
			ing, err := f.p.Client.NetworkingV1().Ingresses(f.ns(s.team, "dev")).Get(ctx, s.service, metav1.GetOptions{})
			if e.Name == "dev" && (err != nil || ing.Spec.Rules[0].Host != want) {
				t.Errorf("%s's dev Ingress: %v", s.team, err)
			}
		}
	}

	// Bob releases ab's prod by hand; ab-c's prod stays unsynced.
	if _, err := f.prov.Sync(ctx, ann, "ab", "c-api", "prod"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("ann synced team ab's prod: %v", err)
	}
	if _, err := f.prov.Sync(ctx, bob, "ab", "c-api", "prod"); err != nil {
		t.Fatal(err)
	}
	if op := lastOperation(t, f, bob, "ab", "c-api", "prod"); op.InitiatedBy != "user:default/bob" || op.Phase != "Succeeded" {
		t.Fatalf("ab's prod sync: %+v", op)
	}
	plane.Eventually(t, time.Minute, "ab's prod pod running", func() (bool, error) {
		n := runningPods(t, f, f.ns("ab", "prod"), "c-api")
		return n == 1, fmt.Errorf("%d running", n)
	})
	plane.Eventually(t, time.Minute, "ab's prod Healthy with its Ingress", func() (bool, error) {
		st, err := f.prov.Status(ctx, bob, "ab", "c-api")
		if err != nil {
			return false, err
		}
		for _, e := range st.Environments {
			if e.Name == "prod" {
				return e.Argo != nil && e.Argo.Health == "Healthy", fmt.Errorf("%+v", e.Argo)
			}
		}
		return false, nil
	})
	if n := runningPods(t, f, f.ns("ab-c", "prod"), "api"); n != 0 {
		t.Fatalf("team ab's sync deployed team ab-c's prod: %d pods", n)
	}
	st, err := f.prov.Status(ctx, ann, "ab-c", "api")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range st.Environments {
		if e.Name == "prod" && e.Argo != nil && e.Argo.OpState != nil {
			t.Fatalf("ab-c's prod has an operation nobody of ab-c asked for: %+v", e.Argo.OpState)
		}
	}

	// Ann cannot take bob's prod host for a service of her own.
	before, _ := exec.Command("git", "-C", f.remote, "rev-parse", "main").Output()
	_, err = f.prov.Create(ctx, ann, "ab-c", provision.NewService{Name: "web", Blueprint: "nodejs-api", Image: "registry.example.com/ab-c/web", Tag: "1.0.0",
		Parameters: map[string]any{"public": true, "host": "c-api.prod.ab.apps.example.com"}, Environments: []string{"prod"}})
	var inv *errs.InvalidError
	if !errors.As(err, &inv) || inv.Fields[0].Pointer != "/parameters/host" {
		t.Fatalf("claiming another team's host: %v", err)
	}
	if after, _ := exec.Command("git", "-C", f.remote, "rev-parse", "main").Output(); string(after) != string(before) {
		t.Fatal("a refused host claim made a commit")
	}
	if _, err := f.prov.Status(ctx, ann, "ab-c", "web"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a refused service was recorded: %v", err)
	}
	st, _ = f.prov.Status(ctx, bob, "ab", "c-api")
	for _, e := range st.Environments {
		if e.Name == "prod" && e.Host != "c-api.prod.ab.apps.example.com" {
			t.Fatalf("ab's prod host after ann's claim: %q", e.Host)
		}
	}
}
