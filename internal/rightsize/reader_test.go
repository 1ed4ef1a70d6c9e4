package rightsize_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/rightsize"
	"github.com/berth-platform/berth/internal/signals"
	"github.com/berth-platform/berth/internal/signals/signalstest"
)

// A real Prometheus scraping cAdvisor-shaped series: the service's pod uses 0.25 cores and
// 100 MiB in container web; the pod of web-api beside it and a pod of the same name in another
// namespace use more and must not count.
func TestUsageFromPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prometheus")
	}
	prom := signalstest.StartPrometheus(t, signalstest.Exporter(t, "shop-dev", "web-5f7d9c8b6-x2x9q"))
	client, err := signals.NewClient(prom)
	if err != nil {
		t.Fatal(err)
	}
	r := rightsize.NewReader(client, 5*time.Second, rightsize.DefaultPolicy)
	var usage map[string]rightsize.Usage
	var q rightsize.Queries
	deadline := time.Now().Add(60 * time.Second)
	for {
		usage, q, err = r.Usage(t.Context(), "shop-dev", "web", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// A rate over a window its young series does not fill reads low (Prometheus
		// extrapolates at most half a scrape before the first sample): wait for it to settle.
		if u := usage["web"]; u.CPU != nil && u.Memory != nil && u.MemoryMax != nil && math.Abs(*u.CPU-0.25) <= 0.0125 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usage of web after 60 s: %+v\n%+v", usage, q)
		}
		time.Sleep(time.Second)
	}
	u := usage["web"]
	if len(usage) != 1 || math.Abs(*u.CPU-0.25) > 0.0125 || *u.Memory != 100<<20 || *u.MemoryMax != 100<<20 {
		t.Fatalf("usage %+v: cpu %v memory %v max %v", usage, *u.CPU, *u.Memory, *u.MemoryMax)
	}
	if !strings.Contains(q.CPU, `namespace="shop-dev"`) || !strings.Contains(q.CPU, "quantile_over_time(0.95") || !strings.Contains(q.CPU, "[1h:12s]") {
		t.Fatalf("cpu query %s", q.CPU)
	}
	if _, _, err := r.Usage(t.Context(), "shop-dev", "web", 31*24*time.Hour, time.Now()); err == nil {
		t.Fatal("a window past 30 days was read")
	}
}
