package provision_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/test/bench"
)

// BenchmarkProvisionLatency measures, on the local control plane with the real Argo CD, the
// time from a service request to its pods Running, one service after another, and the time
// of each run step. It reports p50 and p99 and writes them, with the per-step breakdown, to
// test/bench/provision-latency.txt.
func BenchmarkProvisionLatency(b *testing.B) {
	const samples = 10
	f := newFixture(b, "bench-{team}-{env}")
	jane := person("user:default/jane")
	team := fmt.Sprintf("b%d", time.Now().UnixNano()%100000)
	if _, err := f.ten.CreateTeam(b.Context(), jane, tenancy.NewTeam{Name: team}); err != nil {
		b.Fatal(err)
	}
	root := person("user:default/root")
	root.PlatformAdmin = true
	if _, err := f.ten.ResizeEnvironment(b.Context(), root, team, "dev", tenancy.QuotaChoice{Tier: "large"}); err != nil {
		b.Fatal(err)
	}
	var latencies []time.Duration
	steps := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range samples {
			name := fmt.Sprintf("svc-%d-%d", i, j)
			start := time.Now()
			run, err := f.prov.Create(b.Context(), jane, team, provision.NewService{Name: name, Blueprint: "go-api",
				Image: "registry.example.com/bench/svc", Tag: "1.0.0", Parameters: map[string]any{"replicas": float64(1)}, Environments: []string{"dev"}})
			if err != nil {
				b.Fatal(err)
			}
			ns := f.ns(team, "dev")
			for {
				r, _, err := f.prov.Get(b.Context(), jane, run.ID)
				if err != nil {
					b.Fatal(err)
				}
				if r.Status == provision.StatusFailed {
					b.Fatalf("run failed: %s", r.Error)
				}
				if r.Status == provision.StatusSucceeded && runningPods(b, f, ns, name) == 1 {
					for _, s := range r.Steps {
						steps[s.Name] += s.FinishedAt.Sub(s.StartedAt)
					}
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			latencies = append(latencies, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	p := func(q float64) time.Duration { return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))] }
	b.ReportMetric(float64(p(0.50).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
	var out strings.Builder
	fmt.Fprintf(&out, "# Provisioning latency: request to pods Running, go-api blueprint, 1 replica, local plane with Argo CD\n")
	fmt.Fprintf(&out, "# %s, %d services\n", time.Now().UTC().Format(time.RFC3339), len(latencies))
	fmt.Fprintf(&out, "p50 %s\np99 %s\nmax %s\n\nmean time per step:\n", p(0.5), p(0.99), latencies[len(latencies)-1])
	for _, s := range provision.Steps {
		fmt.Fprintf(&out, "  %-13s %s\n", s, (steps[s] / time.Duration(len(latencies))).Round(time.Microsecond))
	}
	if err := bench.Write("provision-latency.txt", out.String()); err != nil {
		b.Error(err)
	}
}
