package main

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/test/bench"
)

// Each figure is a row with its peer's beside it; a benchmark that did not run this time keeps
// its own date; one without a peer says so.
func TestRenderPutsPeersBesideAndDatesOldFigures(t *testing.T) {
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	got := render([]bench.Figures{
		{Benchmark: "Log streams", Details: "logs-stream.txt", MeasuredAt: start.Add(time.Minute),
			Figures: []bench.Figure{{What: "one stream, lines/s", Berth: "102364", PeerName: "kubectl logs -f", Peer: "59829"}}},
		{Benchmark: "Cost report", Details: "cost-attribution.txt", MeasuredAt: start.AddDate(0, 0, -3),
			Figures: []bench.Figure{{What: "sqlite: p50 / p99", Berth: "93.4 ms / 152.3 ms"}}},
	}, "`make bench`", start, start.Add(time.Hour))
	for _, want := range []string{
		"Written after `make bench` at 2026-12-07T16:00:00Z on ",
		"| [Log streams](logs-stream.txt) | one stream, lines/s | 102364 | kubectl logs -f | 59829 |\n",
		"| [Cost report (an earlier run: 2026-12-04)](cost-attribution.txt) | sqlite: p50 / p99 | 93.4 ms / 152.3 ms | none measured |  |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
