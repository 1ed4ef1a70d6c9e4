package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/gittest"
)

func change(path string) gitops.Change {
	return gitops.Change{Write: []blueprint.File{{Path: path, Content: []byte("kind: ConfigMap\n")}},
		Message: "add " + path, Author: gitops.Author{Name: "Jane Doe", Email: "jane@example.com"}}
}

// commitThrough opens remote with creds, commits a file and checks it landed in bare.
func commitThrough(t *testing.T, remote, bare string, creds gitops.Credentials) {
	t.Helper()
	auth, err := creds.Auth(remote)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gitops.Open(t.Context(), remote, filepath.Join(t.TempDir(), "work"), auth)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := r.Commit(t.Context(), change("services/api/base/cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != sha {
		t.Fatalf("remote main is %s, want the commit %s", got, sha)
	}
	// Another writer pushes first: the next commit fetches through the same credentials.
	other := t.TempDir()
	gittest.Run(t, other, "clone", "-q", bare, "c")
	c := filepath.Join(other, "c")
	if err := os.WriteFile(filepath.Join(c, "other.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, c, "add", "other.txt")
	gittest.Run(t, c, "-c", "user.name=o", "-c", "user.email=o@localhost", "commit", "-q", "-m", "other")
	gittest.Run(t, c, "push", "-q", "origin", "main")
	second, err := r.Commit(t.Context(), change("services/web/base/cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, bare, "log", "--format=%s", "main"); got != "add services/web/base/cm.yaml\nother\nadd services/api/base/cm.yaml\nseed" {
		t.Fatalf("history after a lost race:\n%s", got)
	}
	if ok, err := r.Includes(t.Context(), second, sha); !ok || err != nil {
		t.Fatalf("includes: %v %v", ok, err)
	}
}

func TestHTTPSRemoteWithToken(t *testing.T) {
	root := t.TempDir()
	bare := gittest.BareRepo(t, root, "gitops.git")
	base := gittest.ServeHTTP(t, root, "s3cret")
	remote := base + "/gitops.git"
	commitThrough(t, remote, bare, gitops.Credentials{Token: "s3cret"})

	for name, creds := range map[string]gitops.Credentials{"no token": {}, "wrong token": {Token: "nope"}} {
		auth, err := creds.Auth(remote)
		if err != nil {
			t.Fatal(err)
		}
		_, err = gitops.Open(t.Context(), remote, filepath.Join(t.TempDir(), "work"), auth)
		if err == nil || !strings.Contains(err.Error(), "authentication required") {
			t.Fatalf("%s: want an authentication error, got %v", name, err)
		}
		if strings.Contains(err.Error(), "nope") {
			t.Fatalf("%s: the error shows the token: %v", name, err)
		}
	}
}

func TestSSHRemoteWithKeyAndKnownHosts(t *testing.T) {
	root := t.TempDir()
	bare := gittest.BareRepo(t, root, "gitops.git")
	pub, key := gittest.NewKey(t)
	srv := gittest.ServeSSH(t, root, pub)
	remote := "ssh://git@" + srv.Addr + "/gitops.git"
	commitThrough(t, remote, bare, gitops.Credentials{SSHKey: key, KnownHosts: srv.KnownHosts})

	// Another key is refused by the server; another server's host key is refused by Berth.
	_, otherKey := gittest.NewKey(t)
	auth, err := gitops.Credentials{SSHKey: otherKey, KnownHosts: srv.KnownHosts}.Auth(remote)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gitops.Open(t.Context(), remote, filepath.Join(t.TempDir(), "work"), auth); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unknown client key: %v", err)
	}
	impostor := gittest.ServeSSH(t, root, pub)
	auth, err = gitops.Credentials{SSHKey: key, KnownHosts: srv.KnownHosts}.Auth("ssh://git@" + impostor.Addr + "/gitops.git")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gitops.Open(t.Context(), "ssh://git@"+impostor.Addr+"/gitops.git", filepath.Join(t.TempDir(), "work"), auth); err == nil || !strings.Contains(err.Error(), "knownhosts") {
		t.Fatalf("a host missing from known_hosts was trusted: %v", err)
	}
}

func TestCredentialsRefuseWhatCannotWork(t *testing.T) {
	for _, c := range []struct {
		remote string
		creds  gitops.Credentials
		want   string
	}{
		{"ssh://git@example.com/r.git", gitops.Credentials{Token: "t"}, "a token does not apply"},
		{"git@github.com:org/r.git", gitops.Credentials{}, "an SSH key is required"},
		{"git@github.com:org/r.git", gitops.Credentials{SSHKey: []byte("k")}, "known_hosts file is required"},
		{"https://example.com/r.git", gitops.Credentials{SSHKey: []byte("k")}, "an SSH key does not apply"},
		{"/srv/gitops.git", gitops.Credentials{Token: "t"}, "credentials do not apply"},
		{"ftp://example.com/r.git", gitops.Credentials{}, "want a local path"},
	} {
		if _, err := c.creds.Auth(c.remote); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q, got %v", c.remote, c.want, err)
		}
	}
}
