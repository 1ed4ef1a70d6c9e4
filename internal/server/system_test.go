package server_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/server"
	"github.com/berth-platform/berth/internal/store/storetest"
)

// With --metrics-token, /metrics asks for it; readiness notes are asked once per few
// seconds however often probes come.
func TestMetricsTokenAndNoteCache(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	hash := sha256.Sum256([]byte("scrape-token-0123456789"))
	var asked atomic.Int32
	tok, _ := config.ParseServiceToken("ci=ci-token-0123456789")
	e, err := server.New(server.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st,
		Auth: auth.New(&config.Config{ServiceTokens: []config.ServiceToken{tok}}), Admins: access.NewAdmins(nil), MaxBodyBytes: 1 << 20,
		MetricsToken: &hash,
		ReadyNotes: map[string]func(context.Context) error{"slow-remote": func(context.Context) error {
			asked.Add(1)
			return errors.New("unreachable")
		}, "gitops-remote": func(context.Context) error {
			return fmt.Errorf("fetch: %w", &url.Error{Op: "Get", URL: "https://git.internal.example:8443/gitops.git",
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}})
		}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type") + " " + string(b)
	}
	if code, body := get("/metrics", ""); code != 401 || !strings.Contains(body, "application/problem+json") || !strings.Contains(body, "metrics token") {
		t.Fatalf("no token: %d %s", code, body)
	}
	if code, _ := get("/metrics", "ci-token-0123456789"); code != 401 {
		t.Fatalf("an API token scraped metrics: %d", code)
	}
	if code, body := get("/metrics", "scrape-token-0123456789"); code != 200 || !strings.Contains(body, "berth_http_requests_total") {
		t.Fatalf("with the token: %d %s", code, body)
	}
	for range 5 {
		// Anyone may ask: Berth's own words are said, a transport error's address is not.
		if code, body := get("/readyz", ""); code != 200 || !strings.Contains(body, "degraded: unreachable") ||
			!strings.Contains(body, `"gitops-remote":"degraded: did not answer (Berth's log has the cause)"`) || strings.Contains(body, "git.internal") {
			t.Fatalf("readyz: %d %s", code, body)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("the note was asked %d times for 5 probes", n)
	}
}
