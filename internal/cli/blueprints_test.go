package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/gittest"
)

// push commits files (path -> content; "" removes) to the bare repository's main branch.
func push(t *testing.T, bare string, files map[string]string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "w")
	gittest.Run(t, filepath.Dir(work), "clone", "-q", bare, work)
	for p, content := range files {
		full := filepath.Join(work, p)
		if content == "" {
			gittest.Run(t, work, "rm", "-q", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		gittest.Run(t, work, "add", p)
	}
	gittest.Run(t, work, "-c", "user.name=pe", "-c", "user.email=pe@localhost", "commit", "-q", "-m", "blueprints")
	gittest.Run(t, work, "push", "-q", "origin", "main")
}

func blueprintYAML(t *testing.T, name, title string) string {
	raw, err := os.ReadFile("../blueprint/builtin/worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), "name: worker", "name: "+name, 1)
	return strings.Replace(s, "title: Background worker", "title: "+title, 1)
}

// A platform team's blueprints repository: new commits are picked up, a broken commit keeps
// the last good blueprints and is reported, a fix recovers, a removed file removes the
// blueprint.
func TestBlueprintsFromAGitRepository(t *testing.T) {
	root := t.TempDir()
	bare := gittest.BareRepo(t, root, "blueprints.git")
	push(t, bare, map[string]string{"blueprints/cron-worker.yaml": blueprintYAML(t, "cron-worker", "Cron worker")})
	catalog, err := blueprint.Load("")
	if err != nil {
		t.Fatal(err)
	}
	c := &config.Config{DataDir: t.TempDir(), BlueprintsGit: config.BlueprintsGit{Repo: bare, Ref: "main", Path: "blueprints"}}
	r, err := newBlueprintRepo(c, gitops.Credentials{}, catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	title := func(name string) string {
		bp, err := catalog.Get(name)
		if err != nil {
			return "missing"
		}
		return bp.Metadata.Title + " from " + strings.SplitN(bp.Source, "@", 2)[0]
	}
	if err := r.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := title("cron-worker"); got != "Cron worker from git" {
		t.Fatalf("after the first sync: %s", got)
	}
	if got := title("nodejs-api"); !strings.HasSuffix(got, " from builtin") {
		t.Fatalf("built-ins lost: %s", got)
	}

	push(t, bare, map[string]string{"blueprints/cron-worker.yaml": blueprintYAML(t, "cron-worker", "Cron worker v2"),
		"blueprints/broken.yaml": "apiVersion: berth.dev/v1alpha1\nkind: ServiceBlueprint\nmetadata: {name: Broken}\n"})
	if err := r.sync(t.Context()); err == nil || !strings.Contains(err.Error(), "broken.yaml") {
		t.Fatalf("a broken blueprint was accepted: %v", err)
	}
	if got := title("cron-worker"); got != "Cron worker from git" {
		t.Fatalf("a broken commit changed the catalog: %s", got)
	}
	if err := r.check(t.Context()); err == nil || !strings.Contains(err.Error(), "still at") {
		t.Fatalf("readiness does not report the broken commit: %v", err)
	}

	push(t, bare, map[string]string{"blueprints/broken.yaml": ""})
	if err := r.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := title("cron-worker"); got != "Cron worker v2 from git" {
		t.Fatalf("after the fix: %s", got)
	}
	if err := r.check(t.Context()); err != nil {
		t.Fatal(err)
	}
	push(t, bare, map[string]string{"blueprints/cron-worker.yaml": "", "blueprints/other.yaml": blueprintYAML(t, "other", "Other")})
	if err := r.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if title("cron-worker") != "missing" || title("other") != "Other from git" {
		t.Fatalf("a removed blueprint stayed: %s, %s", title("cron-worker"), title("other"))
	}
}
