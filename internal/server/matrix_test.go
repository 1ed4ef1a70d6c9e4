package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/server"
)

// call is one request of the authorisation matrix. Paths may hold {ed} and {vi}: the member
// ids of the editor and viewer.
type call struct {
	op, method, path string
	body             any
	// want is the status per caller; "none" is no token, "bad" a token nobody issued.
	want map[string]int
}

func matrix() []call {
	all := func(code int) map[string]int {
		return map[string]int{"root": code, "alice": code, "ed": code, "vi": code, "outsider": code}
	}
	with := func(m map[string]int, kv ...any) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1].(int)
		}
		return out
	}
	viewer := map[string]int{"root": 200, "alice": 200, "ed": 200, "vi": 200, "outsider": 404}
	admin := map[string]int{"root": 200, "alice": 200, "ed": 403, "vi": 403, "outsider": 404}
	return []call{
		{op: "getMe", method: "GET", path: "/api/v1/me", want: all(200)},
		{op: "listActions", method: "GET", path: "/api/v1/actions", want: all(200)},
		{op: "listCatalogEntities", method: "GET", path: "/api/v1/catalog/entities", want: all(200)},
		{op: "listTeams", method: "GET", path: "/api/v1/teams", want: all(200)},
		{op: "getTeam", method: "GET", path: "/api/v1/teams/payments", want: viewer},
		{op: "updateTeam", method: "PATCH", path: "/api/v1/teams/payments", body: map[string]any{"description": "x"}, want: admin},
		{op: "listTeamMembers", method: "GET", path: "/api/v1/teams/payments/members", want: viewer},
		{op: "addTeamMember", method: "POST", path: "/api/v1/teams/payments/members", body: map[string]any{"kind": "group", "name": "group:default/{who}", "role": "viewer"}, want: with(admin, "root", 201, "alice", 201)},
		{op: "getTeamMember", method: "GET", path: "/api/v1/teams/payments/members/{vi}", want: viewer},
		{op: "updateTeamMember", method: "PATCH", path: "/api/v1/teams/payments/members/{vi}", body: map[string]any{"role": "viewer"}, want: admin},
		{op: "listEnvironments", method: "GET", path: "/api/v1/teams/payments/environments", want: viewer},
		{op: "getEnvironment", method: "GET", path: "/api/v1/teams/payments/environments/dev", want: viewer},
		{op: "createEnvironment", method: "POST", path: "/api/v1/teams/payments/environments", body: map[string]any{"name": "env-{who}"}, want: with(admin, "root", 201, "alice", 201)},
		// Sizing quotas is for platform admins: everyone else hears 403 before the team is looked up.
		{op: "updateEnvironment", method: "PATCH", path: "/api/v1/teams/payments/environments/dev", body: map[string]any{"tier": "medium"}, want: map[string]int{"root": 200, "alice": 403, "ed": 403, "vi": 403, "outsider": 403}},
		{op: "deleteEnvironment", method: "DELETE", path: "/api/v1/teams/payments/environments/staging", want: map[string]int{"ed": 403, "vi": 403, "outsider": 404, "alice": 204}},
		{op: "listBlueprints", method: "GET", path: "/api/v1/blueprints", want: all(200)},
		{op: "getBlueprint", method: "GET", path: "/api/v1/blueprints/nodejs-api", want: all(200)},
		{op: "validateBlueprintParameters", method: "POST", path: "/api/v1/blueprints/go-api/validations", body: map[string]any{"parameters": map[string]any{}}, want: all(200)},
		{op: "createService", method: "POST", path: "/api/v1/teams/payments/services", body: map[string]any{"name": "svc-{who}", "blueprint": "go-api", "image": "registry.example.com/p/a", "tag": "1.0.0"},
			want: map[string]int{"root": 202, "alice": 202, "ed": 202, "vi": 403, "outsider": 404}},
		// Rendering the repository's files is creating's check without the creation: editors.
		{op: "renderAppFiles", method: "POST", path: "/api/v1/teams/payments/app-files", body: map[string]any{"name": "svc-{who}", "blueprint": "go-api", "image": "registry.example.com/p/a", "tag": "1.0.0"},
			want: map[string]int{"root": 200, "alice": 200, "ed": 200, "vi": 403, "outsider": 404}},
		{op: "getServiceAppFiles", method: "GET", path: "/api/v1/teams/payments/services/seeded/app-files", want: viewer},
		{op: "listServices", method: "GET", path: "/api/v1/teams/payments/services", want: viewer},
		// Without a cluster there are no workloads: members hear 503 (the views themselves are in diagnose's plane test).
		{op: "getServiceWorkloads", method: "GET", path: "/api/v1/teams/payments/services/seeded/workloads", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getEnvironmentWorkloads", method: "GET", path: "/api/v1/teams/payments/environments/dev/workloads", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "diagnoseService", method: "GET", path: "/api/v1/teams/payments/services/seeded/diagnosis", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		// Logs likewise (read on the plane in cli's logs test): an outsider learns nothing, not even that a cluster is missing.
		{op: "streamServiceLogs", method: "GET", path: "/api/v1/teams/payments/services/seeded/logs?environment=dev", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "downloadServiceLogs", method: "GET", path: "/api/v1/teams/payments/services/seeded/logs/download?environment=dev", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getTeamCosts", method: "GET", path: "/api/v1/teams/payments/costs", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getServiceCosts", method: "GET", path: "/api/v1/teams/payments/services/seeded/costs?window=7d", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getServiceSignals", method: "GET", path: "/api/v1/teams/payments/services/seeded/signals?environment=dev", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getServiceSignalRange", method: "GET", path: "/api/v1/teams/payments/services/seeded/signals/cpu?environment=dev", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getServiceRightsizing", method: "GET", path: "/api/v1/teams/payments/services/seeded/rightsizing?environment=dev", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getService", method: "GET", path: "/api/v1/teams/payments/services/svc-alice", want: viewer},
		{op: "getRun", method: "GET", path: "/api/v1/runs/{run}", want: viewer},
		{op: "streamRun", method: "GET", path: "/api/v1/runs/{run}/events", want: viewer},
		// Who may not change a service (the change itself is in TestServiceRuns).
		{op: "updateService", method: "PATCH", path: "/api/v1/teams/payments/services/seeded", body: map[string]any{"tag": "1.0.1"}, want: map[string]int{"vi": 403, "outsider": 404}},
		{op: "syncService", method: "POST", path: "/api/v1/teams/payments/services/seeded/syncs", body: map[string]any{"environment": "dev"}, want: map[string]int{"vi": 403, "outsider": 404, "alice": 503}},
		{op: "rollbackService", method: "POST", path: "/api/v1/teams/payments/services/seeded/rollbacks", body: map[string]any{"run": "{run}"}, want: map[string]int{"vi": 403, "outsider": 404}},
		// Retrying as such is in TestServiceRuns; here, who may not.
		{op: "retryRun", method: "POST", path: "/api/v1/runs/{run}/retries", want: map[string]int{"vi": 403, "outsider": 404}},
		{op: "listClusters", method: "GET", path: "/api/v1/clusters", want: all(200)},
		{op: "getCluster", method: "GET", path: "/api/v1/clusters/nowhere", want: all(404)},
		// Without --cluster-secret-key a platform admin hears 503 (what is missing); others 403.
		{op: "registerCluster", method: "POST", path: "/api/v1/clusters", body: map[string]any{"name": "eu-{who}", "server": "https://127.0.0.1:1", "token": "t"},
			want: map[string]int{"root": 503, "alice": 403, "ed": 403, "vi": 403, "outsider": 403}},
		{op: "unregisterCluster", method: "DELETE", path: "/api/v1/clusters/nowhere", want: map[string]int{"root": 404, "alice": 403, "ed": 403, "vi": 403, "outsider": 403}},
		{op: "listAuditEvents", method: "GET", path: "/api/v1/audit-events", want: map[string]int{"root": 200, "alice": 200, "ed": 403, "vi": 403, "outsider": 403}},
		{op: "listPolicies", method: "GET", path: "/api/v1/policies", want: all(200)},
		{op: "setPolicy", method: "PUT", path: "/api/v1/policies/require-limits", body: map[string]any{"mode": "enforce"}, want: with(all(403), "root", 200)},
		{op: "resetPolicy", method: "DELETE", path: "/api/v1/policies/require-limits", want: with(all(403), "root", 204)},
		{op: "listTeamPolicies", method: "GET", path: "/api/v1/teams/payments/policies", want: viewer},
		{op: "setTeamPolicy", method: "PUT", path: "/api/v1/teams/payments/policies/require-limits", body: map[string]any{"mode": "audit"}, want: with(all(403), "root", 200)},
		{op: "resetTeamPolicy", method: "DELETE", path: "/api/v1/teams/payments/policies/require-limits", want: with(all(403), "root", 204)},
		// Without a cluster there are no PolicyReports: members hear 503 (the reading itself is in policy's plane test).
		{op: "listTeamPolicyViolations", method: "GET", path: "/api/v1/teams/payments/policy-violations", want: map[string]int{"root": 503, "alice": 503, "ed": 503, "vi": 503, "outsider": 404}},
		{op: "getPolicyViolationOverview", method: "GET", path: "/api/v1/policy-violations", want: with(all(403), "root", 503)},
		{op: "checkPolicies", method: "POST", path: "/api/v1/policy-checks", body: map[string]any{"manifests": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP}\n"}, want: all(200)},
		// After listAuditEvents: a creator administers its new team and may then read its audit log.
		{op: "createTeam", method: "POST", path: "/api/v1/teams", body: map[string]any{"name": "team-{who}"}, want: all(201)},
		// Sleep schedules: admins set and remove them, editors wake and sleep now, viewers read.
		{op: "setEnvironmentSchedule", method: "PUT", path: "/api/v1/teams/payments/environments/dev/schedule",
			body: map[string]any{"timeZone": "Europe/Berlin", "awake": []any{map[string]any{"days": []any{"Mon", "Tue"}, "from": "08:00", "to": "18:00"}}},
			want: map[string]int{"root": 200, "alice": 200, "ed": 403, "vi": 403, "outsider": 404}},
		{op: "getEnvironmentSchedule", method: "GET", path: "/api/v1/teams/payments/environments/dev/schedule", want: viewer},
		{op: "overrideEnvironmentSchedule", method: "PUT", path: "/api/v1/teams/payments/environments/dev/schedule/override",
			body: map[string]any{"state": "awake", "until": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
			want: map[string]int{"root": 200, "alice": 200, "ed": 200, "vi": 403, "outsider": 404}},
		{op: "clearEnvironmentScheduleOverride", method: "DELETE", path: "/api/v1/teams/payments/environments/dev/schedule/override",
			want: map[string]int{"root": 200, "alice": 200, "ed": 200, "vi": 403, "outsider": 404}},
		// Awake (no cluster ever slept it), so removing needs no cluster; the second remover finds none.
		{op: "deleteEnvironmentSchedule", method: "DELETE", path: "/api/v1/teams/payments/environments/dev/schedule",
			want: map[string]int{"alice": 204, "root": 404, "ed": 403, "vi": 403, "outsider": 404}},
		// Removal and deletion run last: each caller removes or deletes something of its own.
		{op: "removeTeamMember", method: "DELETE", path: "/api/v1/teams/payments/members/{vi}", want: map[string]int{"ed": 403, "vi": 403, "outsider": 404, "alice": 204}},
		{op: "deleteTeam", method: "DELETE", path: "/api/v1/teams/payments", want: map[string]int{"ed": 403, "outsider": 404, "alice": 204}},
	}
}

// TestAuthorizationMatrix runs every /api operation as every role, with no token and with a
// bad token, and checks the status. Every response is also checked against the spec.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, envOptions{})
	ids := e.seed()
	run := e.must(202, e.do("alice", "POST", "/api/v1/teams/payments/services", map[string]any{"name": "seeded", "blueprint": "go-api", "image": "registry.example.com/p/s", "tag": "1.0.0"})).json(t)
	ids["run"] = run["id"].(string)
	// The admin of another team, with a service of the same name: what an outsider hears,
	// except that it reads its own team's audit log.
	e.must(201, e.do("other", "POST", "/api/v1/teams", map[string]any{"name": "rivals"}))
	e.must(202, e.do("other", "POST", "/api/v1/teams/rivals/services", map[string]any{"name": "seeded", "blueprint": "go-api", "image": "registry.example.com/r/s", "tag": "1.0.0"}))
	covered := map[string]bool{}
	order := []string{"outsider", "other", "vi", "ed", "alice", "root"}
	for _, c := range matrix() {
		covered[c.op] = true
		path := strings.NewReplacer("{ed}", ids["ed"], "{vi}", ids["vi"], "{run}", ids["run"]).Replace(c.path)
		for _, who := range []string{"", "not-a-token-0123456789"} {
			r := e.do(who, c.method, path, c.body)
			if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s as %q: %d, want 401 with WWW-Authenticate", c.op, who, r.status)
			}
		}
		for _, who := range order {
			want, ok := c.want[who]
			if who == "other" && !ok {
				want, ok = c.want["outsider"]
				if c.op == "listAuditEvents" {
					want = 200
				}
			}
			if !ok {
				continue
			}
			var body any = c.body
			if m, ok := c.body.(map[string]any); ok {
				nb := map[string]any{}
				for k, v := range m {
					if s, ok := v.(string); ok {
						v = strings.NewReplacer("{who}", who, "{run}", ids["run"]).Replace(s)
					}
					nb[k] = v
				}
				body = nb
			}
			if r := e.do(who, c.method, path, body); r.status != want {
				t.Errorf("%s as %s: %d, want %d: %s", c.op, who, r.status, want, r.body)
			}
		}
	}
	// What the other team's admin read of the audit log holds nothing of payments.
	for _, ev := range e.must(200, e.do("other", "GET", "/api/v1/audit-events", nil)).json(t)["items"].([]any) {
		if team := ev.(map[string]any)["team"]; team == "payments" {
			t.Errorf("another team's admin reads an event of %v: %v", team, ev)
		}
	}
	doc, err := server.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			if strings.HasPrefix(p, "/api/") && !covered[op.OperationID] {
				t.Errorf("operation %s (%s %s) is missing from the authorisation matrix", op.OperationID, m, p)
			}
		}
	}
}

// Outsiders learn nothing of other teams: not listed, and 404 where a 403 would confirm
// the team exists.
func TestOtherTeamsAreInvisible(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	list := e.must(200, e.do("outsider", "GET", "/api/v1/teams", nil)).json(t)
	if items := list["items"].([]any); len(items) != 0 {
		t.Fatalf("outsider sees %v", items)
	}
	known := e.do("outsider", "GET", "/api/v1/teams/payments", nil)
	unknown := e.do("outsider", "GET", "/api/v1/teams/no-such-team", nil)
	if known.status != 404 || unknown.status != 404 {
		t.Fatalf("existing %d, missing %d: both must be 404", known.status, unknown.status)
	}
	me := e.must(200, e.do("ed", "GET", "/api/v1/me", nil)).json(t)
	if fmt.Sprint(me["teams"]) != "[map[role:editor team:payments]]" || me["platformAdmin"] != false {
		t.Fatalf("ed's /me: %v", me)
	}
}

// A name taken by a team the caller cannot see gets the answer a name the platform keeps
// gets, word for word but the name: neither says which.
func TestTakenNamesRevealNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	detail := func(name string) string {
		r := e.must(409, e.do("outsider", "POST", "/api/v1/teams", map[string]any{"name": name}))
		var p map[string]any
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(p["detail"].(string), name, "NAME")
	}
	if taken, reserved := detail("payments"), detail("kube-system"); taken != reserved {
		t.Fatalf("another team's name: %q; the platform's: %q", taken, reserved)
	}
}

// One caller creates a bounded number of teams.
func TestTeamCreationIsBoundedPerCaller(t *testing.T) {
	e := newEnv(t, envOptions{extraConfig: func(c *config.Config) { c.Boundary.MaxTeamsPerUser = 2 }})
	e.must(201, e.do("outsider", "POST", "/api/v1/teams", map[string]any{"name": "one"}))
	e.must(201, e.do("outsider", "POST", "/api/v1/teams", map[string]any{"name": "two"}))
	r := e.must(403, e.do("outsider", "POST", "/api/v1/teams", map[string]any{"name": "three"}))
	if !strings.Contains(string(r.body), "created 2 teams") {
		t.Fatalf("limit answer: %s", r.body)
	}
	e.must(201, e.do("root", "POST", "/api/v1/teams", map[string]any{"name": "three"})) // platform admins are not bound
}

func TestTeamCreationForAdminsOnly(t *testing.T) {
	e := newEnv(t, envOptions{adminsOnly: true})
	e.must(403, e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "payments"}))
	e.must(201, e.do("root", "POST", "/api/v1/teams", map[string]any{"name": "payments"}))
}
