package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/kube"
)

// devCmd runs Berth the way a newcomer wants it: a local control plane (unless a kubeconfig
// is given), SQLite and a GitOps repository under the state folder, a dev admin token and a
// demo team. Ctrl-C stops everything it started.
func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("berth dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state-dir", ".berth", "folder for the plane, database, GitOps repository and dev token")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	kubeconfig := fs.String("kubeconfig", "", "use this cluster instead of starting a local control plane")
	noArgo := fs.Bool("no-argocd", false, "start the local plane without Argo CD")
	noKyverno := fs.Bool("no-kyverno", false, "start the local plane without Kyverno")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*state)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return err
	}

	kc := *kubeconfig
	if kc == "" {
		var flags []string
		if *noArgo {
			flags = append(flags, "--no-argocd")
		}
		if *noKyverno {
			flags = append(flags, "--no-kyverno")
		}
		planeDir := filepath.Join(abs, "plane")
		stopPlane, err := startPlane(ctx, planeDir, flags, stderr)
		if err != nil {
			return err
		}
		defer stopPlane()
		kc = filepath.Join(planeDir, "admin.kubeconfig")
	}

	repo := filepath.Join(abs, "gitops.git") // created by serve on first use
	token, err := devToken(filepath.Join(abs, "dev-token"))
	if err != nil {
		return err
	}

	var c config.Config
	cfs := config.NewFlagSet("berth dev", &c)
	cfs.SetOutput(stderr)
	serveArgs := []string{"--addr", *addr, "--data-dir", filepath.Join(abs, "data"), "--kubeconfig", kc,
		"--service-tokens", "dev=" + token, "--platform-admins", "service:dev", "--log-format", "text", "--gitops-repo", repo}
	dbArgs, stopDB, err := devDatabases(ctx, abs, stderr)
	if err != nil {
		return err
	}
	defer stopDB()
	serveArgs = append(serveArgs, dbArgs...)
	if err := config.Parse(cfs, serveArgs, &c); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(abs, "berth.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := newLogger(&c, logFile)

	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, &c, log, ready) }()
	select {
	case err := <-errc:
		return err
	case a := <-ready:
		url := "http://" + a
		if err := seedDemoTeam(ctx, url, token); err != nil {
			return err
		}
		fmt.Fprintf(stdout, `
Berth is running at %s (logs: %s)
  cluster:     KUBECONFIG=%s
  GitOps repo: %s
  dev token:   %s   (a platform admin; kept in %s)

Try:
  curl -s -H "Authorization: Bearer %s" %s/api/v1/me
  curl -s -H "Authorization: Bearer %s" %s/api/v1/teams
  curl -s -H "Authorization: Bearer %s" -H 'Content-Type: application/json' %s/api/v1/teams/demo/services \
    -d '{"name":"hello","blueprint":"go-api","image":"registry.example.com/demo/hello","tag":"0.1.0","environments":["dev"]}'
  (then GET %s/api/v1/teams/demo/services/hello: Argo CD deploys it to demo-dev in seconds)

API reference: %s/openapi.yaml. Press Ctrl-C to stop everything.
`, url, logFile.Name(), kc, repo, token, filepath.Join(abs, "dev-token"), token, url, token, url, token, url, url, url)
	}
	return <-errc
}

// startPlane brings up hack/kube/plane.sh in dir (or reuses a plane already running there)
// and returns how to stop what it started.
func startPlane(ctx context.Context, dir string, flags []string, stderr io.Writer) (func(), error) {
	script, err := kube.PlaneScript()
	if err != nil {
		return nil, fmt.Errorf("berth dev starts the local control plane (or pass --kubeconfig): %w", err)
	}
	args := append([]string{"up", dir, "--watch", fmt.Sprint(os.Getpid())}, flags...)
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("start the local control plane (%s): %w", script, err)
	}
	return func() {
		down := exec.Command(script, "down", dir)
		down.Stdout, down.Stderr = stderr, stderr
		_ = down.Run()
	}, nil
}

// devDatabases starts the local PostgreSQL server services' databases are made on (kept in
// state/postgres) and returns the flags that point Berth at it. Without PostgreSQL installed,
// Berth runs without service databases and says so.
func devDatabases(ctx context.Context, state string, stderr io.Writer) ([]string, func(), error) {
	root, err := kube.RepoRoot()
	if err != nil {
		return nil, nil, err
	}
	script, dir := filepath.Join(root, "hack", "postgres.sh"), filepath.Join(state, "postgres")
	up := exec.CommandContext(ctx, script, "up", dir)
	up.Stdout, up.Stderr = stderr, stderr
	if err := up.Run(); err != nil {
		fmt.Fprintf(stderr, "[dev] no PostgreSQL server for services' databases (%v): a service asking for one is refused\n", err)
		return nil, func() {}, nil
	}
	key, err := devKey(filepath.Join(state, "service-databases.key"))
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		down := exec.Command(script, "down", dir)
		down.Stdout, down.Stderr = stderr, stderr
		_ = down.Run()
	}
	return []string{"--service-databases", "postgres", "--service-databases-admin-url-file", filepath.Join(dir, "admin-url"),
		"--service-databases-password-key", key, "--service-databases-sslmode", "disable"}, stop, nil
}

// devKey returns the 32-byte base64 key kept in path, creating it on first use: the same key
// derives the same database passwords across restarts.
func devKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) == 44 {
		return string(bytes.TrimSpace(b)), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	k := base64.StdEncoding.EncodeToString(b[:])
	return k, os.WriteFile(path, []byte(k+"\n"), 0o600)
}

// devToken returns the dev token kept in path, creating it on first use.
func devToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) >= 16 {
		return string(bytes.TrimSpace(b)), nil
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := "berth-dev-" + hex.EncodeToString(b[:])
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

// seedDemoTeam creates team "demo" through the API, once.
func seedDemoTeam(ctx context.Context, url, token string) error {
	body := strings.NewReader(`{"name":"demo","displayName":"Demo team","description":"Created by berth dev."}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/teams", body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "berth-dev-seed-demo")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("seed demo team: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusConflict {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("seed demo team: %s: %s", res.Status, b)
	}
	return nil
}
