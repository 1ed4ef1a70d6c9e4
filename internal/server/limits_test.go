package server_test

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/server"
)

// Each caller has its own rate: past its burst a caller is told 429 with a Retry-After of
// whole seconds and a problem naming the limit, while another caller and the probes go on;
// every answer carries the security headers.
func TestRateLimitPerCaller(t *testing.T) {
	e := newEnv(t, envOptions{limits: server.Limits{PerCaller: 1, Burst: 3}})
	for i := range 3 {
		if r := e.do("vi", "GET", "/api/v1/teams", nil); r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := e.do("vi", "GET", "/api/v1/teams", nil)
	if r.status != http.StatusTooManyRequests || r.json(t)["type"] != "urn:berth:problem:too-many-requests" {
		t.Fatalf("the fourth at once: %d %s", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Fatalf("Retry-After %q, want the second until a token", r.header.Get("Retry-After"))
	}
	if r := e.do("ed", "GET", "/api/v1/teams", nil); r.status != http.StatusOK {
		t.Fatalf("another caller: %d", r.status)
	}
	for range 5 {
		if r := e.do("", "GET", "/healthz", nil); r.status != http.StatusOK {
			t.Fatalf("a probe: %d", r.status)
		}
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"} {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

// Requests whose credentials are refused spend their address's rate before authentication:
// past its burst the address is answered 429 (a right token too, so a guesser learns nothing),
// the probes go on, and once the bucket refills a right token is served again.
func TestRefusedCredentialsAreLimitedPerAddress(t *testing.T) {
	e := newEnv(t, envOptions{limits: server.Limits{PerCaller: 1, Burst: 3}})
	for i := range 3 {
		if r := e.do("not-a-token-0123456789", "GET", "/api/v1/teams", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("refused credentials %d: %d %s", i, r.status, r.body)
		}
	}
	for _, who := range []string{"not-a-token-0123456789", "vi"} {
		r := e.do(who, "GET", "/api/v1/teams", nil)
		if r.status != http.StatusTooManyRequests || r.json(t)["type"] != "urn:berth:problem:too-many-requests" || r.header.Get("Retry-After") != "1" {
			t.Fatalf("%s past the burst: %d %s (Retry-After %q)", who, r.status, r.body, r.header.Get("Retry-After"))
		}
	}
	if r := e.do("", "GET", "/healthz", nil); r.status != http.StatusOK {
		t.Fatalf("a probe: %d", r.status)
	}
	// X-Forwarded-For is anyone's to write: without trusted proxies it changes nothing.
	if r := e.do("vi", "GET", "/api/v1/teams", nil, "X-Forwarded-For", "203.0.113.9"); r.status != http.StatusTooManyRequests {
		t.Fatalf("another address in an untrusted header: %d", r.status)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := e.do("vi", "GET", "/api/v1/teams", nil); r.status != http.StatusOK {
		t.Fatalf("a right token a second later: %d %s", r.status, r.body)
	}
}

// Behind a trusted proxy each client is counted under the address the proxy names: one
// client's refused credentials stop that client, not the others behind the same proxy.
func TestRefusedCredentialsBehindATrustedProxy(t *testing.T) {
	e := newEnv(t, envOptions{limits: server.Limits{PerCaller: 1, Burst: 3, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	const guesser, other = "203.0.113.7", "198.51.100.4"
	for i := range 3 {
		if r := e.do("not-a-token-0123456789", "GET", "/api/v1/teams", nil, "X-Forwarded-For", guesser); r.status != http.StatusUnauthorized {
			t.Fatalf("refused credentials %d: %d", i, r.status)
		}
	}
	if r := e.do("not-a-token-0123456789", "GET", "/api/v1/teams", nil, "X-Forwarded-For", guesser); r.status != http.StatusTooManyRequests {
		t.Fatalf("the guesser past its burst: %d", r.status)
	}
	if r := e.do("vi", "GET", "/api/v1/teams", nil, "X-Forwarded-For", other); r.status != http.StatusOK {
		t.Fatalf("another client behind the proxy: %d %s", r.status, r.body)
	}
	// The nearest untrusted address counts: a guesser cannot hide behind one it writes itself.
	if r := e.do("not-a-token-0123456789", "GET", "/api/v1/teams", nil, "X-Forwarded-For", other+", "+guesser); r.status != http.StatusTooManyRequests {
		t.Fatalf("the guesser naming another address first: %d", r.status)
	}
}
