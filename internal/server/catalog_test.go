package server_test

import (
	"strings"
	"testing"
)

// A team's data as Backstage entities, visible to its members only, with an ETag that
// changes when anything does.
func TestCatalogEntities(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed()
	e.must(201, e.do("alice", "POST", "/api/v1/teams/payments/members", map[string]any{"kind": "user", "name": "user:default/jane", "role": "viewer"}))
	body := map[string]any{"name": "fraud-api", "blueprint": "nodejs-api", "image": "registry.example.com/payments/fraud-api", "tag": "1.0.0",
		"repo": "https://github.com/acme/fraud-api", "parameters": map[string]any{"database": true, "public": true}, "environments": []string{"dev", "prod"}}
	e.must(202, e.do("ed", "POST", "/api/v1/teams/payments/services", body))

	first := e.must(200, e.do("vi", "GET", "/api/v1/catalog/entities", nil))
	byRef := map[string]map[string]any{}
	for _, it := range first.json(t)["items"].([]any) {
		ent := it.(map[string]any)
		m := ent["metadata"].(map[string]any)
		byRef[strings.ToLower(ent["kind"].(string))+":"+m["namespace"].(string)+"/"+m["name"].(string)] = ent
	}
	want := []string{"group:default/payments", "system:default/payments", "user:default/jane", "component:payments/fraud-api",
		"resource:payments/fraud-api-db", "resource:payments/payments-dev", "resource:payments/payments-staging", "resource:payments/payments-prod"}
	for _, ref := range want {
		if byRef[ref] == nil {
			t.Errorf("no %s in %v", ref, keys(byRef))
		}
	}
	if len(byRef) != len(want) {
		t.Errorf("entities: %v", keys(byRef))
	}
	comp := byRef["component:payments/fraud-api"]
	spec, meta := comp["spec"].(map[string]any), comp["metadata"].(map[string]any)
	ann := meta["annotations"].(map[string]any)
	for k, v := range map[string]string{"backstage.io/kubernetes-id": "payments-fraud-api",
		"argocd/app-selector": "berth.dev/team=payments,berth.dev/service=fraud-api", "github.com/project-slug": "acme/fraud-api",
		"backstage.io/kubernetes-label-selector": "app.kubernetes.io/name=fraud-api,app.kubernetes.io/part-of=payments"} {
		if ann[k] != v {
			t.Errorf("annotation %s = %v, want %s", k, ann[k], v)
		}
	}
	// The Application's name carries a hash of the team's id, service and environment.
	if name, _ := ann["argocd/app-name"].(string); !strings.HasPrefix(name, "payments-fraud-api-dev-") || len(name) != len("payments-fraud-api-dev-")+12 {
		t.Errorf("annotation argocd/app-name = %v", ann["argocd/app-name"])
	}
	if spec["owner"] != "group:default/payments" || spec["system"] != "system:default/payments" || spec["lifecycle"] != "production" ||
		spec["dependsOn"].([]any)[0] != "resource:payments/fraud-api-db" {
		t.Errorf("component spec: %v", spec)
	}
	if links := meta["links"].([]any); links[0].(map[string]any)["url"] != "https://fraud-api.dev.payments.apps.example.com" {
		t.Errorf("links: %v", links)
	}
	if got := byRef["user:default/jane"]["spec"].(map[string]any)["memberOf"].([]any); len(got) != 1 || got[0] != "group:default/payments" {
		t.Errorf("jane's groups: %v", got)
	}

	// Someone outside the team sees none of it.
	if items := e.must(200, e.do("outsider", "GET", "/api/v1/catalog/entities", nil)).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("an outsider sees %d entities", len(items))
	}
	etag := first.header.Get("ETag")
	e.must(304, e.do("vi", "GET", "/api/v1/catalog/entities", nil, "If-None-Match", etag))
	e.must(200, e.do("alice", "PATCH", "/api/v1/teams/payments", map[string]any{"displayName": "Payments & Fraud"}))
	if again := e.must(200, e.do("vi", "GET", "/api/v1/catalog/entities", nil, "If-None-Match", etag)); again.header.Get("ETag") == etag {
		t.Fatal("the ETag did not change with the team")
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
