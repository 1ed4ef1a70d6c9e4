package gitops_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/gittest"
)

// A remote whose pre-receive hook refuses pushes (real git receive-pack runs it): the commit
// fails as a RemoteError carrying what the hook said, nothing lands; once the remote takes
// pushes again the same change lands once.
func TestARefusedPushIsARemoteErrorUntilItIsTaken(t *testing.T) {
	bare := gittest.BareRepo(t, t.TempDir(), "gitops.git")
	refuse := gittest.RefusePushes(t, bare, "main is frozen for maintenance until 18:00")
	r, err := gitops.Open(t.Context(), bare, filepath.Join(t.TempDir(), "work"), nil)
	if err != nil {
		t.Fatal(err)
	}
	seed := git(t, bare, "rev-parse", "main")
	change := gitops.Change{Write: []blueprint.File{{Path: "teams/a/services/api/base/deployment.yaml", Content: []byte("kind: Deployment\n")}},
		Message: "a/api: create\n\nBerth-Run: r1", Author: gitops.Author{Name: "Jane", Email: "jane@example.com"}}
	for range 2 {
		_, err = r.Commit(t.Context(), change)
		var remote *gitops.RemoteError
		if !errors.As(err, &remote) || remote.Op != "push" || !strings.Contains(remote.Said, "main is frozen for maintenance until 18:00") {
			t.Fatalf("a refused push: %#v", err)
		}
		if got := git(t, bare, "rev-parse", "main"); got != seed {
			t.Fatalf("a refused push moved main to %s", got)
		}
	}
	refuse(false)
	sha, err := r.Commit(t.Context(), change)
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, bare, "log", "--format=%H %s", "main"); got != sha+" a/api: create\n"+seed+" seed" {
		t.Fatalf("the remote's history:\n%s", got)
	}
}

// Wrong credentials are not a RemoteError: waiting does not heal them.
func TestWrongCredentialsAreNotARemoteError(t *testing.T) {
	root := t.TempDir()
	gittest.BareRepo(t, root, "gitops.git")
	remote := gittest.ServeHTTP(t, root, "s3cret") + "/gitops.git"
	work := filepath.Join(t.TempDir(), "work")
	good, _ := gitops.Credentials{Token: "s3cret"}.Auth(remote)
	if _, err := gitops.Open(t.Context(), remote, work, good); err != nil {
		t.Fatal(err)
	}
	// The token was rotated and Berth still has the old one: the working copy is there.
	bad, _ := gitops.Credentials{Token: "nope"}.Auth(remote)
	r, err := gitops.Open(t.Context(), remote, work, bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Commit(t.Context(), gitops.Change{Write: []blueprint.File{{Path: "x.yaml", Content: []byte("x: 1\n")}}, Message: "x", Author: gitops.Author{Name: "J", Email: "j@example.com"}})
	var remoteErr *gitops.RemoteError
	if err == nil || errors.As(err, &remoteErr) || !strings.Contains(err.Error(), "authentication required") {
		t.Fatalf("a commit with a wrong token: %#v", err)
	}
}
