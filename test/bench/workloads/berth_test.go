package workloads_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// process is a server the benchmark started: its address, its PID for RSS and its log.
type process struct {
	url string
	cmd *exec.Cmd
	log *os.File
}

func (p *process) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
	}
	p.log.Close()
}

// benchBlueprint is the go-api blueprint as a platform would widen it: 20 replicas at rest.
const benchBlueprint = `apiVersion: berth.dev/v1alpha1
kind: ServiceBlueprint
metadata:
  name: bench-api
  title: Benchmark HTTP API
  description: go-api with room for 20 replicas.
spec:
  runtime: {language: go, version: "1.26"}
  parameters:
    - {name: replicas, title: Replicas, type: integer, min: 1, max: 20, default: 20}
    - {name: maxReplicas, title: Maximum replicas, type: integer, min: 1, max: 50, default: 30}
    - {name: public, title: Public, type: boolean, default: true}
  workload:
    port: 8080
    healthPort: 8080
    livenessPath: /healthz
    readinessPath: /readyz
    cpuRequest: 50m
    memoryRequest: 64Mi
    cpuLimit: 100m
    memoryLimit: 128Mi
    replicasParameter: replicas
  produces:
    service: true
    publicParameter: public
    autoscaling: true
    maxReplicasParameter: maxReplicas
    disruptionBudget: true
`

// startBerth runs bin/berth (make build) on the plane with SQLite, as `make dev` would.
func startBerth(ctx context.Context, p *plane.Plane, dir, token string) (*process, error) {
	root, err := kube.RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "bin", "berth")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: run make build (make bench does)", bin)
	}
	bps := filepath.Join(dir, "blueprints")
	if err := os.MkdirAll(bps, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bps, "bench-api.yaml"), []byte(benchBlueprint), 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "berth.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "berth"),
		"--kubeconfig", p.Kubeconfig, "--environments", "dev", "--default-tier", "medium", "--blueprints-dir", bps,
		"--service-tokens", "bench="+token, "--log-format", "text")
	cmd.Env = append(os.Environ(), "BERTH_DATABASE_URL=")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	b := &process{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, log: log}
	if err := waitHTTP(ctx, b.url+"/readyz", time.Minute); err != nil {
		b.stop()
		return nil, fmt.Errorf("berth: %w (log: %s)", err, log.Name())
	}
	return b, nil
}

// provision asks Berth for team shop and its service checkout (20 replicas, public), as a
// developer would, and waits until the real Argo CD has synced it and its pods run.
func provision(ctx context.Context, p *plane.Plane, b *process, token string) error {
	call := func(method, path, body string, want int) error {
		req, _ := http.NewRequestWithContext(ctx, method, b.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != want {
			msg, _ := io.ReadAll(res.Body)
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, msg)
		}
		return nil
	}
	if err := call("POST", "/api/v1/teams", `{"name":"shop"}`, 201); err != nil {
		return err
	}
	if err := waitFor(ctx, func() (bool, error) {
		_, err := p.Client.CoreV1().Namespaces().Get(ctx, "shop-dev", metav1.GetOptions{})
		return err == nil, nil
	}, time.Minute); err != nil {
		return fmt.Errorf("namespace shop-dev: %w", err)
	}
	if err := call("POST", "/api/v1/teams/shop/services", `{"name":"checkout","blueprint":"bench-api","image":"registry.example.com/shop/checkout","tag":"1.0.0","environments":["dev"]}`, 202); err != nil {
		return err
	}
	return waitRunning(ctx, p.Client, "app.kubernetes.io/name=checkout", 20, 5*time.Minute)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	return waitFor(ctx, func() (bool, error) {
		res, err := http.Get(url)
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == 200, nil
	}, timeout)
}

func waitFor(ctx context.Context, cond func() (bool, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
