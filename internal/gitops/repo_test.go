package gitops_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/gitops"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCommitsAsTheAuthorAndSkipsNoOps(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "gitops.git")
	r, err := gitops.Open(t.Context(), remote, filepath.Join(t.TempDir(), "work"), nil)
	if err != nil {
		t.Fatal(err)
	}
	change := gitops.Change{Write: []blueprint.File{{Path: "services/api/base/deployment.yaml", Content: []byte("kind: Deployment\n")}},
		Message: "api: create (run 42)", Author: gitops.Author{Name: "Jane Doe", Email: "jane@example.com"}}
	sha, err := r.Commit(t.Context(), change)
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, remote, "log", "-1", "--format=%H|%an <%ae>|%cn|%s", "main"); got != sha+"|Jane Doe <jane@example.com>|Berth|api: create (run 42)" {
		t.Fatalf("commit: %s", got)
	}
	again, err := r.Commit(t.Context(), change)
	if err != nil || again != sha {
		t.Fatalf("the same change twice made another commit: %s %v", again, err)
	}
	if got := git(t, remote, "show", "main:services/api/base/deployment.yaml"); got != "kind: Deployment" {
		t.Fatalf("file: %q", got)
	}
	removed, err := r.Commit(t.Context(), gitops.Change{Remove: []string{"services/api"}, Message: "api: delete", Author: change.Author})
	if err != nil || removed == sha {
		t.Fatalf("remove: %v", err)
	}
	if _, err := r.Commit(t.Context(), gitops.Change{Write: []blueprint.File{{Path: "../escape", Content: []byte("x")}}, Author: change.Author}); err == nil {
		t.Fatal("a path outside the repository was written")
	}
}

// Twenty commits from two working copies at once (two Berth replicas, or Berth and CI) all land.
func TestConcurrentCommitsAllLand(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "gitops.git")
	var repos []*gitops.Repo
	for i := range 2 {
		r, err := gitops.Open(t.Context(), remote, filepath.Join(t.TempDir(), fmt.Sprint("work", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		repos = append(repos, r)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := repos[i%2].Commit(t.Context(), gitops.Change{
				Write:   []blueprint.File{{Path: fmt.Sprintf("services/svc-%02d/base/kustomization.yaml", i), Content: []byte(fmt.Sprintf("n: %d\n", i))}},
				Message: fmt.Sprintf("svc-%02d: create", i), Author: gitops.Author{Name: "Bot", Email: "bot@example.com"}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := git(t, remote, "rev-list", "--count", "main"); n != "21" {
		t.Fatalf("%s commits on main, want 21 (the first and 20 services)", n)
	}
	if files := git(t, remote, "ls-tree", "-r", "--name-only", "main", "services"); strings.Count(files, "\n")+1 != 20 {
		t.Fatalf("files: %s", files)
	}
}

// An empty bare repository (git init --bare, as a platform engineer may prepare one) gets a
// first commit on main.
func TestOpenSeedsAnEmptyBareRepository(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "empty.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", remote).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if _, err := gitops.Open(t.Context(), remote, filepath.Join(t.TempDir(), "work"), nil); err != nil {
		t.Fatal(err)
	}
	if n := git(t, remote, "rev-list", "--count", "main"); n != "1" {
		t.Fatalf("%s commits", n)
	}
}
