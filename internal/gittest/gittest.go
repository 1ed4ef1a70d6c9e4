// Package gittest serves real Git repositories over HTTP (git http-backend, with a token) and
// SSH (git upload-pack and receive-pack behind an SSH server that checks a client key) on
// loopback, so that remotes with credentials are tested against real Git.
package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BareRepo creates root/name as a bare repository whose main branch has one commit.
func BareRepo(t testing.TB, root, name string) string {
	t.Helper()
	seed := t.TempDir()
	run(t, seed, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte("seed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, seed, "add", "README.md")
	run(t, seed, "-c", "user.name=seed", "-c", "user.email=seed@localhost", "commit", "-q", "-m", "seed")
	bare := filepath.Join(root, name)
	run(t, root, "clone", "-q", "--bare", seed, bare)
	// Receive-pack over HTTP is off unless a user is authenticated or it is allowed.
	run(t, bare, "config", "http.receivepack", "true")
	return bare
}

// Run runs git in dir and returns its trimmed output.
func Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return run(t, dir, args...)
}

func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// ServeHTTP serves the repositories under root at the returned base URL; requests must carry
// HTTP basic authentication with password token (any user name).
func ServeHTTP(t testing.TB, root, token string) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"), Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/git"
}

// NewKey returns a fresh ed25519 key as a PEM (OpenSSH format) private key.
func NewKey(t testing.TB) (ed25519.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := marshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pub, pem.EncodeToMemory(block)
}
