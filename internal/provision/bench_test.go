package provision_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
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
	if err := bench.WriteFigures("provision-latency", "Provisioning, one at a time", "provision-latency.txt", []bench.Figure{
		{What: "request to pods Running, p50 / p99", Berth: fmt.Sprintf("%s / %s", p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond))}}); err != nil {
		b.Error(err)
	}
}

// BenchmarkFiftyServicesTenTeams creates 50 services across 10 teams at once (each team's
// five in quick succession, all teams together) on the local plane with the real Argo CD, and
// reports the time from request until each run succeeded with its pods Running, or was refused
// with its reason; per team, the longest a run was queued before it started. One team (the
// last) has a quota that holds two of its five services: the rest are refused, at the request
// or (asked for at the same moment) when Kubernetes refuses their pods, and no other team
// waits on it. Results go to test/bench/fair-runs.txt.
func BenchmarkFiftyServicesTenTeams(b *testing.B) {
	const teams, perTeam = 10, 5
	f := newFixture(b, "fair-{team}-{env}")
	f.stop()
	f.workers = 8
	f.startExecutor(b)
	root := person("user:default/root")
	root.PlatformAdmin = true
	ctx := b.Context()
	type result struct {
		team, service, outcome string
		took, queued           time.Duration
	}
	var results []result
	var order []string // the teams of the last round, in creation order
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		names := make([]string, teams)
		for t := range teams {
			names[t] = fmt.Sprintf("f%d-%d-%d", time.Now().UnixNano()%10000, i, t)
			if _, err := f.ten.CreateTeam(ctx, person("user:default/owner"), tenancy.NewTeam{Name: names[t]}); err != nil {
				b.Fatal(err)
			}
			// The medium tier's 50 pods hold five 2-replica services with room to roll them out;
			// the last team keeps the small tier's 20 pods.
			if t < teams-1 {
				if _, err := f.ten.ResizeEnvironment(ctx, root, names[t], "dev", tenancy.QuotaChoice{Tier: "medium"}); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, n := range names {
			plane.Eventually(b, time.Minute, n+" dev ready", func() (bool, error) {
				e, err := f.ten.GetEnvironment(ctx, person("user:default/owner"), n, "dev")
				return err == nil && e.Phase == tenancy.PhaseReady, err
			})
		}
		order = names
		type started struct {
			team, service, id string
			at                time.Time
			err               error
		}
		out := make(chan started, teams*perTeam)
		begin := time.Now()
		for t, n := range names {
			go func() {
				for j := range perTeam {
					svc := fmt.Sprintf("svc-%d", j)
					replicas := 2
					if t == teams-1 {
						replicas = 8 // two fit the small tier's 20 pods with a surge pod each; three do not
					}
					at := time.Now()
					run, err := f.prov.Create(ctx, person("user:default/owner"), n, provision.NewService{Name: svc, Blueprint: "worker",
						Image: "registry.example.com/bench/" + svc, Tag: "1.0.0", Parameters: map[string]any{"replicas": replicas}, Environments: []string{"dev"}})
					out <- started{team: n, service: svc, id: run.ID, at: at, err: err}
				}
			}()
		}
		var runs []started
		for range teams * perTeam {
			s := <-out
			if s.err != nil {
				results = append(results, result{team: s.team, service: s.service, outcome: "refused: " + s.err.Error(), took: time.Since(s.at)})
				continue
			}
			runs = append(runs, s)
		}
		for _, s := range runs {
			var r store.Run
			for {
				var err error
				if r, _, err = f.prov.Get(ctx, person("user:default/owner"), s.id); err != nil {
					b.Fatal(err)
				}
				if r.Status == provision.StatusFailed || (r.Status == provision.StatusSucceeded && runningPods(b, f, f.ns(s.team, "dev"), s.service) > 0) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			outcome := "running"
			if r.Status == provision.StatusFailed {
				outcome = "failed: " + r.Error
			}
			results = append(results, result{team: s.team, service: s.service, outcome: outcome, took: r.FinishedAt.Sub(s.at), queued: r.StartedAt.Sub(s.at)})
		}
		b.ReportMetric(time.Since(begin).Seconds(), "s-all-50")
	}
	b.StopTimer()
	var took []time.Duration
	worstQueue := map[string]time.Duration{}
	refused, failed := 0, 0
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.outcome, "refused"):
			refused++
		case strings.HasPrefix(r.outcome, "failed"):
			failed++
		default:
			took = append(took, r.took)
		}
		worstQueue[r.team] = max(worstQueue[r.team], r.queued)
	}
	slices.Sort(took)
	if len(took) == 0 {
		b.Fatal("no service reached Running")
	}
	p := func(q float64) time.Duration { return took[min(len(took)-1, int(q*float64(len(took))))] }
	b.ReportMetric(float64(p(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p(0.95).Milliseconds()), "p95-ms")
	var w strings.Builder
	fmt.Fprintf(&w, "# 50 services across 10 teams at once: request to run succeeded with pods Running (worker blueprint, 2 replicas)\n")
	fmt.Fprintf(&w, "# %s, local plane with Argo CD, 8 run workers, 2 per team; the last team's quota holds 2 of its 5 (8 replicas each)\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&w, "running %d, refused at the request %d, failed %d\n", len(took), refused, failed)
	fmt.Fprintf(&w, "to Running: p50 %s, p95 %s, max %s\n\nlongest queued before its run started, per team:\n", p(0.5).Round(time.Millisecond), p(0.95).Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	for i, t := range order {
		note := ""
		if i == teams-1 {
			note = " (the quota-bound team)"
		}
		fmt.Fprintf(&w, "  team %d %-14s %s%s\n", i, t, worstQueue[t].Round(time.Millisecond), note)
	}
	fmt.Fprintf(&w, "\nrefused and failed:\n")
	for _, r := range results {
		if !strings.HasPrefix(r.outcome, "running") {
			fmt.Fprintf(&w, "  %s/%s %.160s\n", r.team, r.service, r.outcome)
		}
	}
	if err := bench.Write("fair-runs.txt", w.String()); err != nil {
		b.Error(err)
	}
	if err := bench.WriteFigures("provision-fifty", "Provisioning, 50 at once across 10 teams", "fair-runs.txt", []bench.Figure{
		{What: "request to pods Running, p50 / p95 / max", Berth: fmt.Sprintf("%s / %s / %s", p(0.5).Round(time.Millisecond), p(0.95).Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))},
		{What: "running, refused at the request, failed (the last team's quota holds 2 of its 5)", Berth: fmt.Sprintf("%d, %d, %d", len(took), refused, failed)}}); err != nil {
		b.Error(err)
	}
}
