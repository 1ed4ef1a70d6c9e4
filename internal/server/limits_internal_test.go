package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// A request past its time limit is stopped: its handler's context ends, and the caller gets
// 503 with the problem timeout; a stream is not stopped.
func TestRequestTimeLimit(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	op := func(name string) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { c.Set(ctxOperationID, name); return next(c) }
		}
	}
	slow := func(c echo.Context) error {
		select {
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		case <-time.After(2 * time.Second):
			return c.String(http.StatusOK, "done")
		}
	}
	l := Limits{Request: 50 * time.Millisecond}
	e.GET("/slow", slow, op("listTeams"), timeLimit(l))
	e.GET("/stream", slow, op("streamServiceLogs"), timeLimit(l))
	srv := httptest.NewServer(e)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Type string }
	_ = json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || p.Type != "urn:berth:problem:timeout" {
		t.Fatalf("past the limit: %d %+v", res.StatusCode, p)
	}
	res, err = http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "done" {
		t.Fatalf("a stream: %d %s", res.StatusCode, body)
	}
}

// Past maxCallers callers seen within the minute, newcomers share one bucket: many names or
// addresses neither grow the table nor get a burst each.
func TestCallersStayBounded(t *testing.T) {
	cs := &callers{limit: 1, burst: 1, seen: map[string]*caller{}}
	now := time.Now()
	for i := range maxCallers {
		if d := cs.wait("subject:user-"+strconv.Itoa(i), now); d != 0 {
			t.Fatalf("caller %d waits %s", i, d)
		}
	}
	if d := cs.wait("subject:newcomer-1", now); d != 0 {
		t.Fatalf("the first newcomer waits %s", d)
	}
	if d := cs.wait("subject:newcomer-2", now); d <= 0 {
		t.Fatal("a second newcomer got a burst of its own")
	}
	if len(cs.seen) != maxCallers+1 {
		t.Fatalf("%d buckets, want %d and the shared one", len(cs.seen), maxCallers)
	}
	// A minute later the idle ones are forgotten and newcomers have their own again.
	if d := cs.wait("subject:newcomer-3", now.Add(2*time.Minute)); d != 0 || len(cs.seen) > 2 {
		t.Fatalf("after a minute: waits %s, %d buckets", d, len(cs.seen))
	}
}

// Once the buckets are full of callers seen within the minute, newcomers share one: refused
// credentials from ever new addresses (an IPv6 block rotating) are still stopped.
func TestRefusedCredentialsFromEverNewAddresses(t *testing.T) {
	cs := newCallers(Limits{PerCaller: 1, Burst: 1})
	now := time.Now()
	for i := range maxCallers {
		cs.wait("address:"+strconv.Itoa(i), now)
	}
	if d := cs.exhausted("address:new-1", now); d != 0 {
		t.Fatalf("before any newcomer failed: %s", d)
	}
	cs.wait("address:new-1", now) // a refusal, counted in the shared bucket
	if d := cs.exhausted("address:new-2", now); d <= 0 {
		t.Fatal("another new address is let through once the shared bucket is spent")
	}
}
