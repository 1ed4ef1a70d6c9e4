package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/openapi"
)

type fieldWant struct{ pointer, parameter, detail string }

func problemFields(t *testing.T, r resp) []fieldWant {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json: %s", ct, r.body)
	}
	p := r.json(t)
	for _, k := range []string{"type", "title", "status", "detail", "requestId"} {
		if _, ok := p[k]; !ok {
			t.Fatalf("problem without %s: %s", k, r.body)
		}
	}
	var out []fieldWant
	list, _ := p["errors"].([]any)
	for _, f := range list {
		m := f.(map[string]any)
		fw := fieldWant{detail: m["detail"].(string)}
		fw.pointer, _ = m["pointer"].(string)
		fw.parameter, _ = m["parameter"].(string)
		out = append(out, fw)
	}
	return out
}

func TestBadInputIsAProblemAndChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 4096})
	ids := e.seed()
	before := e.auditCount()
	cases := []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
		pointer, param     string // one expected field, if any
		detailHas          string
	}{
		{"malformed JSON", "POST", "/api/v1/teams", `{"name":`, nil, 400, "", "", "not valid JSON"},
		{"no body", "POST", "/api/v1/teams", nil, nil, 400, "", "", ""},
		{"unknown field", "POST", "/api/v1/teams", map[string]any{"name": "ok-name", "colour": "red"}, nil, 422, "/colour", "", "unknown field"},
		{"wrong type", "POST", "/api/v1/teams", map[string]any{"name": 42}, nil, 422, "/name", "", "string"},
		{"not a DNS label", "POST", "/api/v1/teams", map[string]any{"name": "Payments_Team"}, nil, 422, "/name", "", "regular expression"},
		{"too long", "POST", "/api/v1/teams", map[string]any{"name": strings.Repeat("a", 41)}, nil, 422, "/name", "", ""},
		{"reserved name", "POST", "/api/v1/teams", map[string]any{"name": "kube-system"}, nil, 409, "", "", "is not available"},
		{"missing required", "POST", "/api/v1/teams/payments/members", map[string]any{"kind": "user", "name": "x"}, nil, 422, "/role", "", ""},
		{"bad enum", "POST", "/api/v1/teams/payments/members", map[string]any{"kind": "robot", "name": "x", "role": "viewer"}, nil, 422, "/kind", "", ""},
		{"duplicate name", "POST", "/api/v1/teams", map[string]any{"name": "payments"}, nil, 409, "", "", "is not available"},
		{"duplicate member", "POST", "/api/v1/teams/payments/members", map[string]any{"kind": "user", "name": "service:ed", "role": "admin"}, nil, 409, "", "", "already has a role"},
		{"unknown team", "GET", "/api/v1/teams/nope", nil, nil, 404, "", "", ""},
		{"unknown member", "GET", "/api/v1/teams/payments/members/6f1c0000-0000-4000-8000-000000000000", nil, nil, 404, "", "", ""},
		{"member id not a uuid", "GET", "/api/v1/teams/payments/members/42", nil, nil, 400, "", "member", ""},
		{"limit out of range", "GET", "/api/v1/teams?limit=0", nil, nil, 400, "", "limit", ""},
		{"limit not a number", "GET", "/api/v1/teams?limit=ten", nil, nil, 400, "", "limit", ""},
		{"forged cursor", "GET", "/api/v1/teams?cursor=bm90LWpzb24", nil, nil, 400, "", "cursor", ""},
		{"since not a time", "GET", "/api/v1/audit-events?since=yesterday", nil, nil, 400, "", "since", ""},
		{"oversize body", "POST", "/api/v1/teams", map[string]any{"name": "big", "description": strings.Repeat("x", 5000)}, nil, 413, "", "", ""},
		{"empty patch", "PATCH", "/api/v1/teams/payments", map[string]any{}, nil, 422, "", "", ""},
		{"stale If-Match", "PATCH", "/api/v1/teams/payments", map[string]any{"description": "x"}, []string{"If-Match", `"stale"`}, 412, "", "", ""},
		{"unknown path", "GET", "/api/v1/nothing-here", nil, nil, 404, "", "", ""},
		{"wrong method", "PUT", "/api/v1/teams", nil, nil, 405, "", "", ""},
		{"demote last admin", "PATCH", "/api/v1/teams/payments/members/{alice}", map[string]any{"role": "viewer"}, nil, 409, "", "", "last admin"},
	}
	// alice's own member id, for the last-admin case.
	list := e.must(200, e.do("alice", "GET", "/api/v1/teams/payments/members?kind=user", nil)).json(t)
	for _, m := range list["items"].([]any) {
		if m.(map[string]any)["name"] == "service:alice" {
			ids["alice"] = m.(map[string]any)["id"].(string)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := strings.ReplaceAll(c.path, "{alice}", ids["alice"])
			r := e.do("alice", c.method, path, c.body, c.hdr...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			fields := problemFields(t, r)
			if c.pointer != "" || c.param != "" {
				found := false
				for _, f := range fields {
					if f.pointer == c.pointer && f.parameter == c.param && strings.Contains(f.detail, c.detailHas) {
						found = true
					}
				}
				if !found {
					t.Fatalf("no field %q/%q (detail with %q) in %+v", c.pointer, c.param, c.detailHas, fields)
				}
			} else if c.detailHas != "" && !strings.Contains(string(r.body), c.detailHas) {
				t.Fatalf("detail lacks %q: %s", c.detailHas, r.body)
			}
		})
	}
	if after := e.auditCount(); after != before {
		t.Fatalf("bad requests wrote %d audit events", after-before)
	}
	teams := e.must(200, e.do("root", "GET", "/api/v1/teams", nil)).json(t)["items"].([]any)
	if len(teams) != 1 {
		t.Fatalf("bad requests changed the teams: %v", teams)
	}
}

// Idempotency-Key is bounded, honoured only where the spec declares it, and never claimed by
// a dry run, whichever way the boolean is written.
func TestIdempotencyKeyIsBoundedAndDeclared(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	r := e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "long"}, "Idempotency-Key", strings.Repeat("k", 256))
	if fields := problemFields(t, r); r.status != 400 || len(fields) == 0 || fields[0].parameter != "Idempotency-Key" {
		t.Fatalf("a 256-character key: %d %s", r.status, r.body)
	}
	e.must(404, e.do("root", "GET", "/api/v1/teams/long", nil))
	// checkPolicies does not declare the header: two different bodies with one key are two
	// answers, not a 422 for a reused key.
	manifest := func(name string) map[string]any {
		return map[string]any{"manifests": "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {type: ClusterIP}\n"}
	}
	e.must(200, e.do("ed", "POST", "/api/v1/policy-checks", manifest("a"), "Idempotency-Key", "k-1"))
	e.must(200, e.do("ed", "POST", "/api/v1/policy-checks", manifest("b"), "Idempotency-Key", "k-1"))
	many := strings.Repeat("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n", 201)
	r = e.do("ed", "POST", "/api/v1/policy-checks", map[string]any{"manifests": many})
	if fields := problemFields(t, r); r.status != 422 || len(fields) != 1 || fields[0].pointer != "/manifests" || !strings.Contains(fields[0].detail, "at most 200") {
		t.Fatalf("201 objects: %d %s", r.status, r.body)
	}
	body := map[string]any{"name": "dry", "blueprint": "go-api", "image": "registry.example.com/payments/dry", "tag": "1.0.0", "environments": []string{"dev"}}
	for _, form := range []string{"true", "1", "TRUE"} {
		e.must(200, e.do("ed", "POST", "/api/v1/teams/payments/services?dryRun="+form, body, "Idempotency-Key", "dry-1"))
	}
	if r := e.must(202, e.do("ed", "POST", "/api/v1/teams/payments/services", body, "Idempotency-Key", "dry-1")); r.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the real request replayed a dry run")
	}
}

func TestIdempotentReplay(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := []string{"Idempotency-Key", "create-search-1"}
	first := e.must(201, e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "search", "description": "s"}, key...))
	// The same object serialised with another member order is the same body.
	again := e.must(201, e.do("alice", "POST", "/api/v1/teams", `{"description":"s","name":"search"}`, key...))
	if string(first.body) != string(again.body) || again.header.Get("Idempotent-Replayed") != "true" || again.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("replay differs:\n%s\n%s\n%v", first.body, again.body, again.header)
	}
	if n := e.auditCount(); n != 1 {
		t.Fatalf("%d audit events after a replayed create, want 1", n)
	}
	// Same key, other body: refused, and nothing created.
	r := e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "search2"}, key...)
	if r.status != 422 || !strings.Contains(string(r.body), "idempotency-key-reused") {
		t.Fatalf("reused key: %d %s", r.status, r.body)
	}
	e.must(404, e.do("alice", "GET", "/api/v1/teams/search2", nil))
	// Keys belong to their caller: bob's identical key is a request of his own (a 409 here,
	// since the name is taken), not alice's replay.
	r = e.do("ed", "POST", "/api/v1/teams", `{"description":"s","name":"search"}`, key...)
	if r.status != 409 || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another caller's key: %d %v", r.status, r.header)
	}
	// A first answer that was an error is replayed too.
	r2 := e.do("ed", "POST", "/api/v1/teams", `{"description":"s","name":"search"}`, key...)
	if r2.status != 409 || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed error: %d %v", r2.status, r2.header)
	}
}

func TestConcurrentRetriesCreateOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "race"}, "Idempotency-Key", "race-1").status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 201 && c != 409 {
			t.Fatalf("status %d; want 201 (first or replay) or 409 (first still running)", c)
		}
	}
	if n := e.auditCount(); n != 1 {
		t.Fatalf("%d audit events, want 1", n)
	}
}

// Every mutation writes exactly one audit event with actor, action, target and request id;
// refused mutations write none. Runs on SQLite and PostgreSQL.
func TestAuditEventPerMutation(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, envOptions{driver: driver})
			ids := e.seed()
			e.must(200, e.do("alice", "PATCH", "/api/v1/teams/payments", map[string]any{"description": "Cards"}))
			e.must(403, e.do("ed", "PATCH", "/api/v1/teams/payments", map[string]any{"description": "no"}))
			e.must(200, e.do("alice", "PATCH", "/api/v1/teams/payments/members/"+ids["vi"], map[string]any{"role": "editor"}))
			e.must(204, e.do("alice", "DELETE", "/api/v1/teams/payments/members/"+ids["vi"], nil))
			e.must(404, e.do("alice", "DELETE", "/api/v1/teams/payments/members/"+ids["vi"], nil))
			e.must(204, e.do("alice", "DELETE", "/api/v1/teams/payments", nil, "X-Request-Id", "req-delete-payments"))

			page := e.must(200, e.do("root", "GET", "/api/v1/audit-events?limit=100", nil)).json(t)["items"].([]any)
			var got []string
			for i := len(page) - 1; i >= 0; i-- {
				ev := page[i].(map[string]any)
				got = append(got, fmt.Sprintf("%s %s %s", ev["actor"], ev["action"], ev["target"]))
				if ev["requestId"] == "" || ev["result"] != "success" {
					t.Errorf("event without request id or result: %v", ev)
				}
			}
			want := []string{
				"service:alice team.create team/payments",
				"service:alice member.add team/payments/user/service:ed",
				"service:alice member.add team/payments/user/service:vi",
				"service:alice team.update team/payments",
				"service:alice member.update team/payments/user/service:vi",
				"service:alice member.remove team/payments/user/service:vi",
				"service:alice team.delete team/payments",
			}
			// The two member.add events are written in map order by seed: compare as sets there.
			if len(got) != len(want) || got[0] != want[0] || got[3] != want[3] || got[4] != want[4] || got[5] != want[5] || got[6] != want[6] {
				t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			last := page[0].(map[string]any)
			if last["requestId"] != "req-delete-payments" {
				t.Fatalf("request id not carried into the audit event: %v", last)
			}
			byActor := e.must(200, e.do("root", "GET", "/api/v1/audit-events?action=team.update&actor=service:alice", nil)).json(t)["items"].([]any)
			if len(byActor) != 1 {
				t.Fatalf("filtered audit: %v", byActor)
			}
		})
	}
}

func TestListTeamsPagesAndFilters(t *testing.T) {
	e := newEnv(t, envOptions{})
	for i := range 7 {
		e.must(201, e.do("root", "POST", "/api/v1/teams", map[string]any{"name": fmt.Sprintf("team-%d", i)}))
	}
	e.must(201, e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "alices"}))
	var names []string
	path := "/api/v1/teams?limit=3"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page := e.must(200, e.do("root", "GET", path, nil)).json(t)
		for _, it := range page["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		path = "/api/v1/teams?limit=3&cursor=" + next
	}
	if strings.Join(names, ",") != "alices,team-0,team-1,team-2,team-3,team-4,team-5,team-6" {
		t.Fatalf("pages: %v", names)
	}
	filtered := e.must(200, e.do("root", "GET", "/api/v1/teams?name=m-3", nil)).json(t)["items"].([]any)
	if len(filtered) != 1 {
		t.Fatalf("name filter: %v", filtered)
	}
	// alice only sees her own team.
	mine := e.must(200, e.do("alice", "GET", "/api/v1/teams", nil)).json(t)["items"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["name"] != "alices" {
		t.Fatalf("alice's teams: %v", mine)
	}
}

func TestETags(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	r := e.must(200, e.do("vi", "GET", "/api/v1/teams/payments", nil))
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	e.must(304, e.do("vi", "GET", "/api/v1/teams/payments", nil, "If-None-Match", etag))
	upd := e.must(200, e.do("alice", "PATCH", "/api/v1/teams/payments", map[string]any{"displayName": "Payments & Cards"}, "If-Match", etag))
	if upd.header.Get("ETag") == etag {
		t.Fatal("ETag did not change with the team")
	}
	e.must(412, e.do("alice", "PATCH", "/api/v1/teams/payments", map[string]any{"displayName": "x"}, "If-Match", etag))
	e.must(412, e.do("alice", "DELETE", "/api/v1/teams/payments", nil, "If-Match", etag))
	e.must(200, e.do("vi", "GET", "/api/v1/teams/payments", nil, "If-None-Match", etag))
}

func TestSystemEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(200, e.do("", "GET", "/healthz", nil))
	ready := e.must(200, e.do("", "GET", "/readyz", nil)).json(t)
	// Argo CD missing is said plainly without making Berth unready: teams work without it.
	checks := ready["checks"].(map[string]any)
	if checks["database"] != "ok" || !strings.HasPrefix(checks["argocd"].(string), "degraded: no cluster configured") {
		t.Fatalf("readyz: %v", ready)
	}
	spec := e.must(200, e.do("", "GET", "/openapi.yaml", nil))
	if string(spec.body) != string(openapi.Spec) {
		t.Fatal("/openapi.yaml is not openapi/berth.yaml")
	}
	e.seed()
	m := string(e.must(200, e.do("", "GET", "/metrics", nil)).body)
	for _, want := range []string{`berth_http_requests_total{code="201",operation="createTeam"} 1`, `berth_http_request_duration_seconds_bucket{operation="addTeamMember"`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	actions := e.must(200, e.do("vi", "GET", "/api/v1/actions", nil)).json(t)["items"].([]any)
	found := false
	for _, a := range actions {
		a := a.(map[string]any)
		if a["id"] == "berth:team:create" {
			found = a["method"] == "POST" && a["path"] == "/api/v1/teams"
		}
	}
	if !found {
		t.Fatalf("berth:team:create is not served as POST /api/v1/teams: %v", actions)
	}
}
