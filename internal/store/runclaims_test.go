package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/store"
)

// Eight replicas claiming one run at once: one holds it; the holder renews it; a claim that
// ran out is taken over; a released one is anyone's at once; another's release changes nothing.
func TestStoreRunClaims(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx, q := t.Context(), st.Q()
		if err := q.CreateTeam(ctx, team("t1", "shop")); err != nil {
			t.Fatal(err)
		}
		if err := q.CreateService(ctx, store.Service{ID: "s1", TeamID: "t1", Name: "api", Blueprint: "worker", Image: "x", Tag: "1",
			Parameters: map[string]any{}, Environments: []string{"dev"}, CreatedBy: "user:default/jane", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := q.CreateRun(ctx, store.Run{ID: "r1", TeamID: "t1", ServiceID: "s1", Action: "create", Status: "queued", RequestedBy: "user:default/jane", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		until := t0.Add(20 * time.Second)
		var mu sync.Mutex
		var holders []string
		var wg sync.WaitGroup
		for _, owner := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			wg.Go(func() {
				ok, err := st.Q().ClaimRun(ctx, "r1", owner, until, t0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					holders = append(holders, owner)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(holders) != 1 {
			t.Fatalf("holders %v, want one", holders)
		}
		holder, other := holders[0], "z"
		claim := func(owner string, now time.Time) bool {
			t.Helper()
			ok, err := q.ClaimRun(ctx, "r1", owner, now.Add(20*time.Second), now)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim(holder, t0.Add(10*time.Second)) || claim(other, t0.Add(25*time.Second)) {
			t.Fatal("the holder's renewal (until 30 s) did not hold")
		}
		if !claim(other, t0.Add(31*time.Second)) || claim(holder, t0.Add(32*time.Second)) {
			t.Fatal("a claim that ran out was not taken over, or its old holder took it back")
		}
		if err := q.ReleaseRun(ctx, "r1", holder); err != nil || claim(holder, t0.Add(33*time.Second)) {
			t.Fatalf("the old holder released another's claim (%v)", err)
		}
		if err := q.ReleaseRun(ctx, "r1", other); err != nil || !claim(holder, t0.Add(34*time.Second)) {
			t.Fatalf("a released run was not anyone's (%v)", err)
		}
	})
}
