package workloads_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/test/bench"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
func startBerth(ctx context.Context, p *plane.Plane, dir, token string) (*bench.Process, error) {
	bps := filepath.Join(dir, "blueprints")
	if err := os.MkdirAll(bps, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bps, "bench-api.yaml"), []byte(benchBlueprint), 0o644); err != nil {
		return nil, err
	}
	return bench.StartBerth(ctx, filepath.Join(dir, "berth"), "--kubeconfig", p.Kubeconfig, "--environments", "dev", "--default-tier", "medium",
		"--blueprints-dir", bps, "--service-tokens", "bench="+token)
}

// provision asks Berth for team shop and its service checkout (20 replicas, public), as a
// developer would, and waits until the real Argo CD has synced it and its pods run.
func provision(ctx context.Context, p *plane.Plane, b *bench.Process, token string) error {
	call := func(method, path, body string, want int) error {
		req, _ := http.NewRequestWithContext(ctx, method, b.URL+path, strings.NewReader(body))
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
	if err := bench.WaitFor(ctx, time.Minute, func() bool {
		_, err := p.Client.CoreV1().Namespaces().Get(ctx, "shop-dev", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		return fmt.Errorf("namespace shop-dev: %w", err)
	}
	if err := call("POST", "/api/v1/teams/shop/services", `{"name":"checkout","blueprint":"bench-api","image":"registry.example.com/shop/checkout","tag":"1.0.0","environments":["dev"]}`, 202); err != nil {
		return err
	}
	return waitRunning(ctx, p.Client, "app.kubernetes.io/name=checkout", 20, 5*time.Minute)
}

// waitHTTP waits until url answers 200.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	return bench.WaitFor(ctx, timeout, func() bool {
		res, err := http.Get(url)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
