// Package signalstest runs a real Prometheus for tests, scraping an exporter of series
// labelled like a team's pods.
package signalstest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Exporter serves series labelled like a team's pods, growing at known rates, and returns its
// host:port. pod in namespace: 10 requests/s (1 of them a 500), latency buckets of 0.1 s (4 of
// 10), 0.5 s (8 of 10), 0.25 cores, 100 MiB. A pod of a service whose name starts with the
// same words beside it, and the same pod name in another namespace, grow at other rates: the
// service's signals must not count them.
func Exporter(t testing.TB, namespace, pod string) string {
	start := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := time.Since(start).Seconds() + 100
		var b strings.Builder
		series := func(ns, pod string, scale float64) {
			l := fmt.Sprintf(`namespace=%q,pod=%q`, ns, pod)
			fmt.Fprintf(&b, "http_requests_total{%s,code=\"200\"} %f\n", l, 9*scale*s)
			fmt.Fprintf(&b, "http_requests_total{%s,code=\"500\"} %f\n", l, 1*scale*s)
			for _, bk := range []struct {
				le string
				n  float64
			}{{"0.1", 4}, {"0.5", 8}, {"+Inf", 10}} {
				fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=%q} %f\n", l, bk.le, bk.n*scale*s)
			}
			fmt.Fprintf(&b, "container_cpu_usage_seconds_total{%s,container=\"web\"} %f\n", l, 0.25*scale*s)
			fmt.Fprintf(&b, "container_memory_working_set_bytes{%s,container=\"web\"} %f\n", l, 100*scale*(1<<20))
		}
		b.WriteString("# TYPE http_requests_total counter\n")
		series(namespace, pod, 1)
		series(namespace, "web-api-7d9f8c6b5-abcde", 7)
		series("other-dev", pod, 3)
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// StartPrometheus runs Debian's Prometheus (hack/deps.sh installs it) scraping target every
// second, and returns its URL once a first rate can be read.
func StartPrometheus(t testing.TB, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run hack/deps.sh test (make test does)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	config := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: pods\n    honor_labels: true\n    static_configs: [{targets: [%q]}]\n", target)
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file", cfg, "--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", addr, "--log.level", "warn")
	logFile, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logFile.Close() })
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url + "/api/v1/query?query=" + neturl.QueryEscape(`sum(rate(http_requests_total[1m]))`))
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 && strings.Contains(string(body), `"value":[`) {
				return url
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus has no rate after 60 s (%v):\n%s", err, log)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
