// Package costs_test measures Berth's cost model at the scale of the 10,000-pod plane: one
// team of 100 services in 5 environments (500 service environments of 20 pods each), a whole
// month sampled, the week before now kept by the hour and the rest folded into days as the
// sampler keeps it. It times the team's month-to-date report (what the Cost card and
// `berth cost` read) on SQLite and PostgreSQL, and states what the samples take per pod-day.
// It runs in `make bench`; the figures go to test/bench/cost-attribution.txt.
package costs_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/test/bench"
)

const (
	services     = 100
	environments = 5
	podsEach     = 20
	pods         = services * environments * podsEach
	reads        = 200
)

// now is the month's last hour: the report covers the whole of December.
var now = time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)

type fixture struct {
	st    *store.Store
	costs *cost.Service
	rows  int
	bytes int64
	seed  time.Duration
}

var (
	mu sync.Mutex
	// fixtures are seeded once and measured at every -count: they last until TestMain ends.
	fixtures    = map[string]*fixture{}
	closers     []func()
	results     = map[string]string{}
	costFigures = map[string][]bench.Figure{}
)

// seed writes every hour of December for every service environment, each hour the sum of 60
// one-minute samples of 20 pods of 250m and 256 MiB, then compacts what is older than a week.
func seed(b *testing.B, driver string) *fixture {
	mu.Lock()
	defer mu.Unlock()
	if f := fixtures[driver]; f != nil {
		return f
	}
	st, closeStore, err := storetest.Lasting(driver)
	if err != nil {
		b.Fatal(err)
	}
	closers = append(closers, closeStore)
	ctx := b.Context()
	t0 := time.Now()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	envs := []string{"dev", "test", "staging", "perf", "prod"}
	err = st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTeam(ctx, store.Team{ID: "t1", Name: "shop", DisplayName: "shop", CreatedBy: "user:default/jane", CreatedAt: start, UpdatedAt: start, Version: 1}); err != nil {
			return err
		}
		for i, e := range envs {
			if err := q.CreateEnvironment(ctx, store.Environment{ID: fmt.Sprintf("e%d", i), TeamID: "t1", Name: e, Namespace: "shop-" + e, Tier: "small",
				Budget: 5000, Phase: "Ready", CreatedAt: start, UpdatedAt: start}); err != nil {
				return err
			}
		}
		for s := range services {
			if err := q.CreateService(ctx, store.Service{ID: fmt.Sprintf("s%03d", s), TeamID: "t1", Name: fmt.Sprintf("svc-%03d", s), Blueprint: "go-api",
				Image: "x", Tag: "1", Parameters: map[string]any{}, Environments: envs, CreatedBy: "user:default/jane", CreatedAt: start, UpdatedAt: start}); err != nil {
				return err
			}
		}
		const secs = podsEach * 3600
		hour := store.Usage{CPUBilled: 250 * secs, CPURequest: 250 * secs, RAMBilled: 256 << 20 * secs, RAMRequest: 256 << 20 * secs, PodSeconds: secs}
		for h := start; h.Before(now); h = h.Add(time.Hour) {
			for s := range services {
				for _, e := range envs {
					if err := q.AddUsage(ctx, store.UsageSample{ServiceID: fmt.Sprintf("s%03d", s), Environment: e, Hour: h, Slot: h.Unix()/60 + 59, Usage: hour}); err != nil {
						return err
					}
				}
			}
		}
		_, err := q.CompactUsage(ctx, now.Add(-7*24*time.Hour))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{st: st, seed: time.Since(t0)}
	if f.rows, f.bytes, err = st.UsageFootprint(ctx, true); err != nil {
		b.Fatal(err)
	}
	f.costs = cost.NewService(st, tenancy.NewService(st, tenancy.Options{}), cost.DefaultPrices, nil)
	fixtures[driver] = f
	return f
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range closers {
		c()
	}
	os.Exit(code)
}

func BenchmarkTeamMonthCosts(b *testing.B) {
	for _, driver := range storetest.Drivers {
		b.Run(driver, func(b *testing.B) {
			f := seed(b, driver)
			ctx := b.Context()
			admin := access.Principal{Identity: auth.Identity{Subject: "user:default/platform"}, PlatformAdmin: true}
			month, err := cost.ParseWindow("month", nil, nil, now)
			if err != nil {
				b.Fatal(err)
			}
			read := func() cost.Report {
				r, err := f.costs.Team(ctx, admin, "shop", month, now)
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			r := read()
			// The hand computation: 744 hours of 20 pods of 0.25 cores and 0.25 GiB per
			// service environment.
			want := 744 * podsEach * (0.25*cost.DefaultPrices.CPUCoreHour + 0.25*cost.DefaultPrices.RAMGiBHour) * services * environments
			if len(r.Lines) != services*environments || len(r.Days) != 31 || len(r.Budgets) != environments || diff(r.Total, want) > 1e-9 {
				b.Fatalf("report: %d lines, %d days, total %.6f, want %.6f", len(r.Lines), len(r.Days), r.Total, want)
			}
			for b.Loop() {
				read()
			}
			took := make([]time.Duration, reads)
			for i := range took {
				t := time.Now()
				read()
				took[i] = time.Since(t)
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			p50, p99 := took[reads/2], took[reads*99/100]
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			mu.Lock()
			results[driver] = fmt.Sprintf("%-10s  %7.1f ms  %7.1f ms  %8d  %9.1f MB  %6.1f bytes  %s\n", driver,
				float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000, f.rows, float64(f.bytes)/1e6,
				float64(f.bytes)/float64(pods)/31, f.seed.Round(time.Second))
			costFigures[driver] = []bench.Figure{
				{What: driver + ": month-to-date report, p50 / p99", Berth: fmt.Sprintf("%.1f ms / %.1f ms", float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000)},
				{What: driver + ": storage per pod-day", Berth: fmt.Sprintf("%.1f bytes", float64(f.bytes)/float64(pods)/31)}}
			mu.Unlock()
			if err := write(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func diff(a, b float64) float64 {
	if b == 0 {
		return a
	}
	d := (a - b) / b
	if d < 0 {
		return -d
	}
	return d
}

func write() error {
	var out strings.Builder
	fmt.Fprintf(&out, "Cost attribution: a team's month-to-date report over %d pods' samples (make bench, %s)\n\n", pods, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&out, "One team, %d services x %d environments, %d pods each, all of December as a sampler every minute\n", services, environments, podsEach)
	out.WriteString("leaves it (each hour written at once here, to seed faster; the rows are the same);\n")
	out.WriteString("hours older than a week forgotten, their days kept (--cost-compact-after 168h). The report is what\n")
	out.WriteString("GET /api/v1/teams/shop/costs?window=month answers: 500 lines, 31 days, 5 budgets with forecasts,\n")
	fmt.Fprintf(&out, "checked against the hand computation. %d reads after warm-up, one at a time.\n\n", reads)
	out.WriteString("database       p50         p99      rows       on disk   per pod-day  seeding\n")
	for _, d := range storetest.Drivers {
		if r, ok := results[d]; ok {
			out.WriteString(r)
		}
	}
	out.WriteString("\nOn disk: the table and its indexes after a VACUUM (FULL on PostgreSQL, whose MVCC otherwise keeps\n")
	out.WriteString("room for the rows the sampler updates every minute; autovacuum reuses it). Storage grows with\n")
	out.WriteString("service environments and days, not with pods or samples: a row is one service environment's\n")
	out.WriteString("hour (the last week) or day (every day), whatever its number of pods.\n")
	if err := bench.Write("cost-attribution.txt", out.String()); err != nil {
		return err
	}
	var figs []bench.Figure
	for _, d := range storetest.Drivers {
		if f, ok := costFigures[d]; ok {
			figs = append(figs, f...)
		}
	}
	// OpenCost's server is not available here (its module is not served): no peer.
	return bench.WriteFigures("costs", "Cost report over 10,000 pods' samples", "cost-attribution.txt", figs)
}
