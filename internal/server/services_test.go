package server_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Without a cluster a run commits the service to the GitOps repository and stops at the Argo
// CD step with the reason; a retry continues from there and commits nothing twice. The same
// Idempotency-Key returns the same run.
func TestServiceRuns(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	body := map[string]any{"name": "fraud-api", "blueprint": "nodejs-api", "image": "registry.example.com/payments/fraud-api", "tag": "1.0.0",
		"parameters": map[string]any{"replicas": 3}, "environments": []string{"dev"}}
	first := e.must(202, e.do("ed", "POST", "/api/v1/teams/payments/services", body, "Idempotency-Key", "svc-1")).json(t)
	again := e.must(202, e.do("ed", "POST", "/api/v1/teams/payments/services", body, "Idempotency-Key", "svc-1")).json(t)
	if first["id"] != again["id"] {
		t.Fatalf("the same key made two runs: %v %v", first["id"], again["id"])
	}
	e.must(409, e.do("ed", "POST", "/api/v1/teams/payments/services", body))
	id := first["id"].(string)
	wait := func() map[string]any {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := e.must(200, e.do("vi", "GET", "/api/v1/runs/"+id, nil)).json(t)
			if r["status"] == "failed" || r["status"] == "succeeded" {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("run still %v", r["status"])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	run := wait()
	// The event stream of a finished run sends the run once and ends.
	events := e.must(200, e.do("vi", "GET", "/api/v1/runs/"+id+"/events", nil))
	if ct := events.header.Get("Content-Type"); ct != "text/event-stream" || strings.Count(string(events.body), "event: run\n") != 1 ||
		!strings.Contains(string(events.body), `"status":"failed"`) {
		t.Fatalf("event stream: %s %q", ct, events.body)
	}
	steps := map[string]string{}
	for _, s := range run["steps"].([]any) {
		s := s.(map[string]any)
		steps[s["name"].(string)] = s["status"].(string)
	}
	if run["status"] != "failed" || steps["commit"] != "succeeded" || steps["argocd"] != "failed" || !strings.Contains(run["error"].(string), "no cluster") {
		t.Fatalf("run: %v", run)
	}
	e.must(403, e.do("vi", "POST", "/api/v1/runs/"+id+"/retries", nil))
	e.must(202, e.do("ed", "POST", "/api/v1/runs/"+id+"/retries", nil))
	// Followed live, the retried run's stream ends by itself with the run's final state.
	live := string(e.must(200, e.do("vi", "GET", "/api/v1/runs/"+id+"/events", nil)).body)
	parts := strings.Split(strings.TrimSpace(live), "\n\n")
	if !strings.Contains(parts[len(parts)-1], `"status":"failed"`) {
		t.Fatalf("live stream did not end with the final state: %q", live)
	}
	wait()
	out, err := exec.Command("git", "-C", e.gitops, "log", "--format=%an|%s", "main").CombinedOutput()
	if err != nil || strings.Count(string(out), "payments/fraud-api: create") != 1 || !strings.Contains(string(out), "service:ed|") {
		t.Fatalf("commits: %s %v", out, err)
	}
	// A change while the last run has failed is a new run (the failed one can still be retried).
	upd := e.must(202, e.do("ed", "PATCH", "/api/v1/teams/payments/services/fraud-api", map[string]any{"tag": "1.0.1"})).json(t)
	if upd["action"] != "update" {
		t.Fatalf("update run: %v", upd)
	}
	r := e.do("ed", "POST", "/api/v1/teams/payments/services/fraud-api/rollbacks", map[string]any{"run": id})
	if r.status != 422 && r.status != 409 {
		t.Fatalf("rollback to a failed run: %d %s", r.status, r.body)
	}
	e.must(422, e.do("ed", "PATCH", "/api/v1/teams/payments/services/fraud-api", map[string]any{"tag": "latest"}))
	detail := e.must(200, e.do("vi", "GET", "/api/v1/teams/payments/services/fraud-api", nil)).json(t)
	if len(detail["runs"].([]any)) != 2 || detail["service"].(map[string]any)["parameters"].(map[string]any)["replicas"] != float64(3) {
		t.Fatalf("service: %v", detail)
	}
	bad := e.do("ed", "POST", "/api/v1/teams/payments/services", map[string]any{"name": "x1", "blueprint": "nodejs-api", "image": "Registry/UPPER", "tag": "latest",
		"parameters": map[string]any{"replicas": 0}, "environments": []string{"qa"}})
	if bad.status != 422 {
		t.Fatalf("bad service: %d %s", bad.status, bad.body)
	}
}
