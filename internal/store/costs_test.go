package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/store"
)

// A slot counts once however often and by however many replicas it is written; days sum their
// hours; compaction keeps the sums and leaves one row per day, and two compactions at once
// count nothing twice.
func TestStoreUsage(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		q := st.Q()
		if err := q.CreateTeam(ctx, team("t1", "shop")); err != nil {
			t.Fatal(err)
		}
		if err := q.CreateService(ctx, store.Service{ID: "s1", TeamID: "t1", Name: "web", Blueprint: "worker", Image: "x", Tag: "1",
			Parameters: map[string]any{}, Environments: []string{"dev"}, CreatedBy: "user:default/jane", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		// 60 one-minute slots in each of 30 hours (Dec 1 00:00 to Dec 2 06:00), each 2 pods of
		// 250m and 128 MiB, written twice by two writers at once.
		one := store.Usage{CPUBilled: 2 * 250 * 60, CPURequest: 2 * 250 * 60, RAMBilled: 2 * 128 << 20 * 60, RAMRequest: 2 * 128 << 20 * 60, PodSeconds: 2 * 60,
			PVMiBSeconds: 10 << 10 * 60, LBSeconds: 60} // and a 10 GiB volume and a load balancer
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for h := range 30 {
					for m := range 60 {
						slot := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
						if err := q.AddUsage(ctx, store.UsageSample{ServiceID: "s1", Environment: "dev", Hour: slot.Truncate(time.Hour), Slot: slot.Unix() / 60, Usage: one}); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		check := func(when string) {
			t.Helper()
			got, err := q.UsageByDay(ctx, []string{"s1"}, day, day.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || !got[0].Day.Equal(day) || got[0].CPUBilled != 24*60*one.CPUBilled || got[1].CPUBilled != 6*60*one.CPUBilled ||
				got[0].RAMRequest != 24*60*one.RAMRequest || got[1].PodSeconds != 6*60*one.PodSeconds ||
				got[0].PVMiBSeconds != 24*60*one.PVMiBSeconds || got[1].LBSeconds != 6*60*one.LBSeconds {
				t.Fatalf("%s: %+v", when, got)
			}
		}
		check("written twice")
		// A window that cuts days reads their hours: 4 of Dec 1, 3 of Dec 2.
		cut, err := q.UsageByDay(ctx, []string{"s1"}, day.Add(20*time.Hour), day.Add(27*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(cut) != 2 || cut[0].CPUBilled != 4*60*one.CPUBilled || cut[1].CPUBilled != 3*60*one.CPUBilled || cut[1].LBSeconds != 3*60*one.LBSeconds {
			t.Fatalf("a window of 7 hours across midnight: %+v", cut)
		}
		if within, err := q.UsageByDay(ctx, []string{"s1"}, day.Add(2*time.Hour), day.Add(5*time.Hour)); err != nil || len(within) != 1 || within[0].CPUBilled != 3*60*one.CPUBilled {
			t.Fatalf("a window of 3 hours in a day: %+v %v", within, err)
		}
		// Dec 1's hours are forgotten (its day keeps their sums); Dec 2's stay.
		var mu sync.Mutex
		folded := 0
		for range 2 {
			wg.Go(func() {
				n := 0
				err := st.Tx(ctx, func(q store.Queries) error {
					var err error
					n, err = q.CompactUsage(ctx, day.Add(30*time.Hour))
					return err
				})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				folded += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if folded != 24 {
			t.Fatalf("two compactions forgot %d hours, want 24 in all", folded)
		}
		check("compacted")
		if n, err := q.CompactUsage(ctx, day.Add(30*time.Hour)); err != nil || n != 0 {
			t.Fatalf("compacted again: %d %v", n, err)
		}
		if got, _ := q.UsageByDay(ctx, nil, day, day.Add(time.Hour)); got != nil {
			t.Fatalf("no services: %v", got)
		}
	})
}
