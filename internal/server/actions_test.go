package server_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Every documented example of every scaffolder action runs against the real API, the way
// the Backstage module would call it: path parameters from the input, the rest as the body.
// Its output fields must be in the response.
func TestActionExamplesRun(t *testing.T) {
	e := newEnv(t, envOptions{})
	list := e.must(200, e.do("root", "GET", "/api/v1/actions", nil)).json(t)["items"].([]any)
	// Creating the team comes first: the other examples use it; a schedule comes before its
	// override.
	rank := map[string]int{"berth:team:create": -2, "berth:environment:schedule": -1}
	slices.SortStableFunc(list, func(a, b any) int {
		return rank[a.(map[string]any)["id"].(string)] - rank[b.(map[string]any)["id"].(string)]
	})
	for _, item := range list {
		a := item.(map[string]any)
		want := map[string]any{"berth:service:create": "dryRun"}[a["id"].(string)]
		if a["dryRunParameter"] != want {
			t.Errorf("%s: dryRunParameter %v, want %v", a["id"], a["dryRunParameter"], want)
		}
	}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for _, item := range list {
		a := item.(map[string]any)
		for _, ex := range a["examples"].([]any) {
			var doc struct {
				Steps []struct {
					ID     string         `json:"id"`
					Name   string         `json:"name"`
					Action string         `json:"action"`
					Input  map[string]any `json:"input"`
				} `json:"steps"`
			}
			if err := yaml.UnmarshalStrict([]byte(ex.(map[string]any)["example"].(string)), &doc); err != nil || len(doc.Steps) == 0 {
				t.Fatalf("%s: example is not a template step: %v", a["id"], err)
			}
			for _, step := range doc.Steps {
				if step.Action != a["id"] {
					t.Fatalf("example of %s uses %s", a["id"], step.Action)
				}
				body := map[string]any{}
				for k, v := range step.Input {
					body[k] = v
				}
				path := param.ReplaceAllStringFunc(a["path"].(string), func(m string) string {
					name := strings.Trim(m, "{}")
					v := fmt.Sprint(body[name])
					delete(body, name)
					return v
				})
				var b any = body
				if a["method"] == "GET" || a["method"] == "DELETE" {
					b = nil
				}
				r := e.do("root", a["method"].(string), path, b)
				if r.status >= 300 {
					t.Fatalf("%s example: %s %s: %d %s", a["id"], a["method"], path, r.status, r.body)
				}
				out := r.json(t)
				required, _ := a["output"].(map[string]any)["required"].([]any)
				for _, k := range required {
					if _, ok := out[k.(string)]; !ok {
						t.Errorf("%s: output %q is not in the response %s", a["id"], k, r.body)
					}
				}
			}
		}
	}
	// The policy examples changed what Berth enforces, not just what it answered.
	for _, item := range e.must(200, e.do("root", "GET", "/api/v1/teams/payments/policies", nil)).json(t)["items"].([]any) {
		p := item.(map[string]any)
		switch p["name"] {
		case "disallow-latest-tag":
			if p["mode"] != "audit" || p["source"] != "cluster" {
				t.Errorf("disallow-latest-tag after berth:policy:set: %v", p)
			}
		case "restrict-image-registries":
			if p["mode"] != "audit" || p["source"] != "team" || len(p["parameter"].(map[string]any)["value"].([]any)) != 2 {
				t.Errorf("restrict-image-registries after berth:policy:override: %v", p)
			}
		}
	}
}
