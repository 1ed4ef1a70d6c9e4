package server_test

import (
	"strings"
	"testing"
)

func TestTeamsGetDefaultEnvironments(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	list := e.must(200, e.do("vi", "GET", "/api/v1/teams/payments/environments", nil)).json(t)["items"].([]any)
	var got []string
	for _, it := range list {
		env := it.(map[string]any)
		got = append(got, env["name"].(string)+"="+env["namespace"].(string))
		if env["phase"] != "Pending" {
			t.Errorf("without a cluster an environment stays Pending: %v", env)
		}
		q := env["quota"].(map[string]any)
		if q["tier"] != "small" || q["hard"].(map[string]any)["requests.cpu"] != "2" {
			t.Errorf("default quota: %v", q)
		}
	}
	if strings.Join(got, ",") != "dev=payments-dev,prod=payments-prod,staging=payments-staging" {
		t.Fatalf("environments: %v", got)
	}
}

func TestEnvironmentBudgetsAndBadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	env := e.must(201, e.do("root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "perf", "budget": map[string]any{"monthly": 100}})).json(t)
	q := env["quota"].(map[string]any)
	a := q["arithmetic"].(map[string]any)
	if q["hard"].(map[string]any)["requests.cpu"] != "2166m" || q["hard"].(map[string]any)["limits.memory"] != "33106Mi" || a["hoursPerMonth"] != float64(730) || len(a["steps"].([]any)) != 3 {
		t.Fatalf("budget quota: %v", q)
	}
	if q["budget"].(map[string]any)["cpuShare"] != 0.5 {
		t.Fatalf("the default CPU share is not shown: %v", q["budget"])
	}
	e.must(200, e.do("root", "PATCH", "/api/v1/teams/payments/environments/perf", map[string]any{"tier": "large"}))

	cases := []struct {
		who, method, path string
		body              any
		status            int
		want              string
	}{
		{"alice", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "big", "tier": "large"}, 403, "platform admins"},
		{"root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "tiny", "budget": map[string]any{"monthly": 3}}, 422, "/budget/monthly"},
		{"root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "neg", "budget": map[string]any{"monthly": -5}}, 422, "/budget/monthly"},
		{"root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "both", "tier": "small", "budget": map[string]any{"monthly": 50}}, 422, "/budget"},
		{"root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "odd", "tier": "huge"}, 422, "/tier"},
		{"root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "Dev"}, 422, "/name"},
		{"root", "POST", "/api/v1/teams/payments/environments", map[string]any{"name": "dev"}, 409, "already has an environment dev"},
		{"root", "PATCH", "/api/v1/teams/payments/environments/dev", map[string]any{}, 422, ""},
		{"root", "GET", "/api/v1/teams/payments/environments/nope", nil, 404, ""},
	}
	before := e.auditCount()
	for _, c := range cases {
		r := e.do(c.who, c.method, c.path, c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s %s %v: %d %s; want %d with %q", c.method, c.path, c.body, r.status, r.body, c.status, c.want)
		}
	}
	if e.auditCount() != before {
		t.Fatal("refused requests wrote audit events")
	}
	// Names that collide after the naming pattern: team a-b's env c and team a's env b-c are both a-b-c.
	e.must(201, e.do("root", "POST", "/api/v1/teams", map[string]any{"name": "ab-cd"}))
	e.must(201, e.do("root", "POST", "/api/v1/teams/ab-cd/environments", map[string]any{"name": "ef"}))
	e.must(201, e.do("root", "POST", "/api/v1/teams", map[string]any{"name": "ab"}))
	r := e.do("root", "POST", "/api/v1/teams/ab/environments", map[string]any{"name": "cd-ef"})
	if r.status != 409 || !strings.Contains(string(r.body), "ab-cd-ef") {
		t.Fatalf("namespace collision: %d %s", r.status, r.body)
	}
}
