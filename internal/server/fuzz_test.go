package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestDecoding sends arbitrary bodies to createTeam and addTeamMember through the
// whole middleware chain. Whatever arrives, the answer is a success or a problem+json with
// a 4xx status, never a 5xx, and a rejected body changes nothing.
func FuzzRequestDecoding(f *testing.F) {
	for _, s := range []string{
		`{"name":"payments"}`, `{"name":"payments","displayName":"P","description":"d"}`, `{"name":`, `[]`, `null`, `""`,
		`{"name":"a"}`, `{"name":"x","extra":{"deep":[1,2,{"a":null}]}}`, `{"name":"\u0000"}`, `{"name":1e400}`,
		`{"kind":"user","name":"user:default/jane","role":"viewer"}`, `{"kind":"group","name":" ","role":"admin"}`,
		"\xff\xfe", `{"name":"payments","name":"dup"}`, strings.Repeat(`{"a":`, 200),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, member bool) {
		e := newEnv(t, envOptions{})
		e.must(201, e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "base"}))
		before := e.auditCount()
		path := "/api/v1/teams"
		if member {
			path = "/api/v1/teams/base/members"
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens["alice"])
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
			if e.auditCount() != before+1 {
				t.Fatalf("a create wrote %d audit events", e.auditCount()-before)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%d with content type %q", rec.Code, ct)
			}
			var p map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["status"] != float64(rec.Code) {
				t.Fatalf("not a problem: %s", rec.Body)
			}
			if e.auditCount() != before {
				t.Fatalf("a rejected body changed state")
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}
