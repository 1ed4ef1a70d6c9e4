package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
)

// Berth on a plane without Argo CD and Kyverno (their CRDs installed, as on every plane, but
// no namespace and nothing running) says so: ready to serve, degraded, with each reason.
func TestReadinessOnAPlaneWithoutArgoCDAndKyverno(t *testing.T) {
	p := ownPlane(t)
	addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig)
	t.Cleanup(func() { cancel(); <-done })

	var got struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	plane.Eventually(t, 30*time.Second, "readiness names Argo CD and Kyverno", func() (bool, error) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, err
		}
		defer res.Body.Close()
		got.Checks = nil
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
			return false, fmt.Errorf("%d %v", res.StatusCode, err)
		}
		return strings.HasPrefix(got.Checks["policies"], "degraded: ") && got.Checks["argocd"] != "", fmt.Errorf("%+v", got)
	})
	if got.Status != "degraded" || got.Checks["kubernetes"] != "ok" || got.Checks["database"] != "ok" {
		t.Errorf("status %q, checks %v", got.Status, got.Checks)
	}
	if a := got.Checks["argocd"]; !strings.HasPrefix(a, "degraded: ") || !strings.Contains(a, "namespace argocd is not usable") {
		t.Errorf("argocd: %q", a)
	}
	if k := got.Checks["policies"]; !strings.Contains(k, "Kyverno is not running: no kyverno-health Lease") {
		t.Errorf("policies: %q", k)
	}
}

// ownPlane starts a plane of the test's own, without Argo CD and Kyverno (skipped in -short).
func ownPlane(t *testing.T) *plane.Plane {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a plane of its own")
	}
	p, err := plane.Up(t.TempDir(), "--no-argocd", "--no-kyverno")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down() })
	return p
}
