package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cli"
	"github.com/berth-platform/berth/internal/config"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"version"}, 0, "berth ", ""},
		{[]string{"migrate", "--data-dir", dir, "--service-tokens", "ci=ci-token-0123456789"}, 0, "up to date", ""},
		{[]string{"serve", "--addr", "nope"}, 1, "", "--addr"},
		{[]string{"serve", "--help"}, 0, "", "BERTH_DATABASE_URL"},
		{[]string{"frobnicate"}, 2, "", "unknown command"},
		{nil, 2, "", "Usage"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := cli.Run(t.Context(), c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errb.String(), c.err) {
			t.Errorf("berth %v: exit %d (want %d)\nstdout: %s\nstderr: %s", c.args, code, c.code, out.String(), errb.String())
		}
	}
}

// startServe runs "berth serve" on a free loopback port with SQLite under a temporary folder
// and a service token ci=ci-token-0123456789; cancel stops it and done reports its return.
func startServe(t *testing.T, args ...string) (addr string, c *config.Config, cancel context.CancelFunc, done chan error) {
	t.Helper()
	c = &config.Config{}
	fs := config.NewFlagSet("berth serve", c)
	base := []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d"), "--service-tokens", "ci=ci-token-0123456789"}
	if err := config.Parse(fs, append(base, args...), c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done = make(chan error, 1)
	go func() { done <- cli.Serve(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	return addr, c, cancel, done
}

// Serve drains and returns cleanly when its context ends (SIGTERM in main).
func TestServeShutsDownGracefully(t *testing.T) {
	addr, c, cancel, done := startServe(t)
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(c.ShutdownTimeout + 5*time.Second):
		t.Fatal("serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still listening after shutdown")
	}
}

// apiCall sends one request to a berth serve at base as token and decodes the answer into
// into (when not nil); it returns the status.
func apiCall(t *testing.T, base, token, method, path, body string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if into != nil {
		_ = json.NewDecoder(res.Body).Decode(into)
	}
	return res.StatusCode
}
