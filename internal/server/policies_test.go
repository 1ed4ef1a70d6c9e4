package server_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// A service with the latest tag is stopped by preflight with a 422 naming the policy and the
// fix; with the policy in audit for the team, the same request runs and its preflight step
// carries the warning. The same check is an endpoint.
func TestPreflightStopsOrWarns(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	body := map[string]any{"name": "edge", "blueprint": "go-api", "image": "registry.example.com/payments/edge", "tag": "latest", "environments": []string{"dev"}}
	p := e.must(422, e.do("ed", "POST", "/api/v1/teams/payments/services", body)).json(t)
	v := p["violations"].([]any)
	first := v[0].(map[string]any)
	if p["type"] != "urn:berth:problem:policy-violation" || first["policy"] != "disallow-latest-tag" || first["kind"] != "Deployment" ||
		first["message"] != "images must be pinned to a tag other than latest, or to a digest" || !strings.Contains(first["remediation"].(string), "explicit version tag") {
		t.Fatalf("problem: %v", p)
	}
	e.must(404, e.do("vi", "GET", "/api/v1/teams/payments/services/edge", nil))

	e.must(403, e.do("alice", "PUT", "/api/v1/teams/payments/policies/disallow-latest-tag", map[string]any{"mode": "audit"}))
	e.must(422, e.do("root", "PUT", "/api/v1/teams/payments/policies/disallow-latest-tag", map[string]any{"mode": "loud"}))
	e.must(422, e.do("root", "PUT", "/api/v1/policies/restrict-image-registries", map[string]any{"mode": "enforce", "parameter": []string{"bad registry"}}))
	pol := e.must(200, e.do("root", "PUT", "/api/v1/teams/payments/policies/disallow-latest-tag", map[string]any{"mode": "audit"})).json(t)
	if pol["mode"] != "audit" || pol["source"] != "team" {
		t.Fatalf("override: %v", pol)
	}
	run := e.must(202, e.do("ed", "POST", "/api/v1/teams/payments/services", body)).json(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.must(200, e.do("vi", "GET", "/api/v1/runs/"+run["id"].(string), nil)).json(t)
		if r["status"] == "failed" || r["status"] == "succeeded" {
			for _, s := range r["steps"].([]any) {
				s := s.(map[string]any)
				if s["name"] == "preflight" && (s["status"] != "succeeded" || !strings.Contains(s["message"].(string), "warnings: disallow-latest-tag (Deployment edge)")) {
					t.Fatalf("preflight step: %v", s)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run did not end")
		}
		time.Sleep(50 * time.Millisecond)
	}

	fail, err := os.ReadFile("../policy/testdata/disallow-privileged/fail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	check := e.must(200, e.do("vi", "POST", "/api/v1/policy-checks", map[string]any{"manifests": string(fail)})).json(t)
	if check["passed"] != false || check["objects"] != float64(1) || check["violations"].([]any)[0].(map[string]any)["policy"] != "disallow-privileged" {
		t.Fatalf("check: %v", check)
	}
	e.must(422, e.do("vi", "POST", "/api/v1/policy-checks", map[string]any{"manifests": "just: text\n"}))
	e.must(404, e.do("outsider", "POST", "/api/v1/policy-checks", map[string]any{"manifests": string(fail), "team": "payments"}))
}

// A team's policy overrides go with the team: a new team of the same name starts from the
// cluster-wide settings.
func TestTeamDeletionTakesItsPolicyOverrides(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	e.must(200, e.do("root", "PUT", "/api/v1/teams/payments/policies/disallow-latest-tag", map[string]any{"mode": "off"}))
	e.must(204, e.do("alice", "DELETE", "/api/v1/teams/payments", nil))
	e.must(201, e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "payments"}))
	for _, item := range e.must(200, e.do("alice", "GET", "/api/v1/teams/payments/policies", nil)).json(t)["items"].([]any) {
		p := item.(map[string]any)
		if p["name"] == "disallow-latest-tag" && (p["source"] == "team" || p["mode"] != "enforce") {
			t.Fatalf("the new team inherited the old one's override: %v", p)
		}
	}
	events := e.must(200, e.do("root", "GET", "/api/v1/audit-events?action=team.delete", nil)).json(t)["items"].([]any)
	if d := events[0].(map[string]any)["detail"].(map[string]any); d["policyOverrides"] != float64(1) {
		t.Fatalf("audit of the deletion: %v", d)
	}
}

// A dry run checks what creating checks, preflight included, and changes nothing.
func TestCreateServiceDryRun(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	body := map[string]any{"name": "edge", "blueprint": "go-api", "image": "registry.example.com/payments/edge", "tag": "1.0.0", "environments": []string{"dev"}}
	dry := e.must(200, e.do("ed", "POST", "/api/v1/teams/payments/services?dryRun=true", body, "Idempotency-Key", "edge-1")).json(t)
	if dry["dryRun"] != true || dry["team"] != "payments" || dry["parameters"].(map[string]any)["replicas"] == nil || len(dry["warnings"].([]any)) != 0 {
		t.Fatalf("dry run: %v", dry)
	}
	e.must(404, e.do("ed", "GET", "/api/v1/teams/payments/services/edge", nil))
	if n := len(e.must(200, e.do("root", "GET", "/api/v1/audit-events?action=service.create", nil)).json(t)["items"].([]any)); n != 0 {
		t.Fatalf("a dry run was audited %d times", n)
	}
	// The key the dry run carried still belongs to the real request.
	e.must(202, e.do("ed", "POST", "/api/v1/teams/payments/services", body, "Idempotency-Key", "edge-1"))
	e.must(409, e.do("ed", "POST", "/api/v1/teams/payments/services?dryRun=true", body))
	e.must(403, e.do("vi", "POST", "/api/v1/teams/payments/services?dryRun=true", body))

	latest := map[string]any{"name": "edge2", "blueprint": "go-api", "image": "registry.example.com/payments/edge", "tag": "latest", "environments": []string{"dev"}}
	p := e.must(422, e.do("ed", "POST", "/api/v1/teams/payments/services?dryRun=true", latest)).json(t)
	if p["type"] != "urn:berth:problem:policy-violation" {
		t.Fatalf("enforced failure: %v", p)
	}
	e.must(200, e.do("root", "PUT", "/api/v1/teams/payments/policies/disallow-latest-tag", map[string]any{"mode": "audit"}))
	warned := e.must(200, e.do("ed", "POST", "/api/v1/teams/payments/services?dryRun=true", latest)).json(t)
	if w := warned["warnings"].([]any); len(w) == 0 || !strings.Contains(w[0].(string), "disallow-latest-tag") {
		t.Fatalf("audited failure: %v", warned)
	}
}

// A team's policy overrides are shown to those who may see the team only.
func TestPolicyOverridesOfOtherTeamsAreHidden(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	e.must(200, e.do("root", "PUT", "/api/v1/teams/payments/policies/disallow-latest-tag", map[string]any{"mode": "audit"}))
	overrides := func(who string) string {
		list := e.must(200, e.do(who, "GET", "/api/v1/policies", nil)).json(t)
		for _, p := range list["items"].([]any) {
			p := p.(map[string]any)
			if p["name"] == "disallow-latest-tag" {
				b, _ := json.Marshal(p["overrides"])
				return string(b)
			}
		}
		t.Fatal("policy missing")
		return ""
	}
	if got := overrides("vi"); !strings.Contains(got, "payments") {
		t.Fatalf("a member of payments does not see its override: %s", got)
	}
	if got := overrides("outsider"); strings.Contains(got, "payments") {
		t.Fatalf("an outsider sees payments' override: %s", got)
	}
}
