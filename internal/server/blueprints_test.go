package server_test

import (
	"strings"
	"testing"
)

func TestBlueprintEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	list := e.must(200, e.do("vi", "GET", "/api/v1/blueprints", nil)).json(t)["items"].([]any)
	var names []string
	for _, it := range list {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "go-api,nodejs-api,worker" {
		t.Fatalf("blueprints: %v", names)
	}
	bp := e.must(200, e.do("vi", "GET", "/api/v1/blueprints/nodejs-api", nil)).json(t)
	props := bp["parametersSchema"].(map[string]any)["properties"].(map[string]any)
	if len(props["nodeVersion"].(map[string]any)["enum"].([]any)) != 3 {
		t.Fatalf("schema: %v", props)
	}
	ok := e.must(200, e.do("vi", "POST", "/api/v1/blueprints/nodejs-api/validations", map[string]any{"parameters": map[string]any{"replicas": 3}})).json(t)
	if ok["parameters"].(map[string]any)["replicas"] != float64(3) || ok["parameters"].(map[string]any)["nodeVersion"] != "22" {
		t.Fatalf("resolved: %v", ok)
	}
	r := e.do("vi", "POST", "/api/v1/blueprints/nodejs-api/validations", map[string]any{"parameters": map[string]any{"replicas": 11, "colour": "red"}})
	fields := problemFields(t, r)
	if r.status != 422 || len(fields) != 2 || fields[0].pointer != "/parameters/colour" || fields[1].pointer != "/parameters/replicas" {
		t.Fatalf("invalid parameters: %d %+v", r.status, fields)
	}
	e.must(404, e.do("vi", "GET", "/api/v1/blueprints/cobol-api", nil))
}
