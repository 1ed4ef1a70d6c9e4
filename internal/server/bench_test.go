package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Benchmarks go through the whole middleware chain (request id, metrics, route lookup,
// authentication, OpenAPI validation, idempotency) and a real SQLite file, without the network.
func serve(b *testing.B, h http.Handler, method, path, body, key string) int {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tokens["alice"])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func BenchmarkGetTeam(b *testing.B) {
	e := newBenchEnv(b)
	for b.Loop() {
		if c := serve(b, e.handler, "GET", "/api/v1/teams/payments", "", ""); c != 200 {
			b.Fatal(c)
		}
	}
}

func BenchmarkCreateTeam(b *testing.B) {
	e := newBenchEnv(b)
	i := 0
	for b.Loop() {
		i++
		if c := serve(b, e.handler, "POST", "/api/v1/teams", fmt.Sprintf(`{"name":"bench-%d"}`, i), ""); c != 201 {
			b.Fatal(c)
		}
	}
}

func BenchmarkIdempotentReplay(b *testing.B) {
	e := newBenchEnv(b)
	serve(b, e.handler, "POST", "/api/v1/teams", `{"name":"replayed"}`, "k")
	for b.Loop() {
		if c := serve(b, e.handler, "POST", "/api/v1/teams", `{"name":"replayed"}`, "k"); c != 201 {
			b.Fatal(c)
		}
	}
}

func BenchmarkListTeams(b *testing.B) {
	e := newBenchEnv(b)
	for i := range 200 {
		serve(b, e.handler, "POST", "/api/v1/teams", fmt.Sprintf(`{"name":"list-%03d"}`, i), "")
	}
	for b.Loop() {
		if c := serve(b, e.handler, "GET", "/api/v1/teams?limit=50", "", ""); c != 200 {
			b.Fatal(c)
		}
	}
}

// BenchmarkCatalogEntities is one round of Backstage's catalog provider over 200 teams,
// each with its creator, three environments and a service.
func BenchmarkCatalogEntities(b *testing.B) {
	e := newBenchEnv(b)
	for i := range 200 {
		serve(b, e.handler, "POST", "/api/v1/teams", fmt.Sprintf(`{"name":"cat-%03d"}`, i), "")
		serve(b, e.handler, "POST", fmt.Sprintf("/api/v1/teams/cat-%03d/services", i),
			`{"name":"api","blueprint":"go-api","image":"registry.example.com/x/api","tag":"1.0.0"}`, "")
	}
	b.ResetTimer()
	for b.Loop() {
		if c := serve(b, e.handler, "GET", "/api/v1/catalog/entities", "", ""); c != 200 {
			b.Fatal(c)
		}
	}
}
