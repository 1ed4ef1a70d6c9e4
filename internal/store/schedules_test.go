package store_test

import (
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/store"
)

// A schedule is kept with its environment's team, namespace and cluster; an override needs a
// schedule; state and transition follow what the sleeper records; the schedule goes with its
// environment.
func TestStoreSchedules(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx, q := t.Context(), st.Q()
		if err := q.CreateTeam(ctx, team("t1", "shop")); err != nil {
			t.Fatal(err)
		}
		if err := q.CreateEnvironment(ctx, store.Environment{ID: "e1", TeamID: "t1", Name: "dev", Namespace: "shop-dev", Cluster: "eu", Tier: "small", Phase: "Ready", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if ok, err := q.SetScheduleOverride(ctx, "e1", "awake", t0.Add(time.Hour), "user:default/jane", t0); err != nil || ok {
			t.Fatalf("an override without a schedule: %v %v", ok, err)
		}
		if err := q.PutSchedule(ctx, "e1", `{"timeZone":"UTC"}`, "user:default/jane", t0); err != nil {
			t.Fatal(err)
		}
		if ok, err := q.SetScheduleOverride(ctx, "e1", "awake", t0.Add(time.Hour), "user:default/ed", t0); err != nil || !ok {
			t.Fatalf("an override: %v %v", ok, err)
		}
		if err := q.SetScheduleState(ctx, "e1", "asleep", `{"State":"asleep"}`, "", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := q.SetScheduleState(ctx, "e1", "waking", "", "cluster eu did not answer", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := q.PutSchedule(ctx, "e1", `{"timeZone":"Europe/Berlin"}`, "user:default/jane", t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		all, err := q.AllSchedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := store.EnvironmentSchedule{EnvironmentID: "e1", Spec: `{"timeZone":"Europe/Berlin"}`, OverrideState: "awake", OverrideUntil: t0.Add(time.Hour),
			State: "waking", TransitionAt: t0.Add(time.Minute), Transition: `{"State":"asleep"}`, Problem: "cluster eu did not answer",
			UpdatedAt: t0.Add(3 * time.Minute), UpdatedBy: "user:default/jane", TeamID: "t1", TeamName: "shop", Environment: "dev", Namespace: "shop-dev", Cluster: "eu"}
		if len(all) != 1 || all[0] != want {
			t.Fatalf("schedules %+v\nwant %+v", all, want)
		}
		if _, err := q.SetScheduleOverride(ctx, "e1", "", time.Time{}, "user:default/ed", t0); err != nil {
			t.Fatal(err)
		}
		if s, err := q.ScheduleOf(ctx, "e1"); err != nil || s.OverrideState != "" || !s.OverrideUntil.Equal(time.UnixMicro(0).UTC()) {
			t.Fatalf("cleared: %+v %v", s, err)
		}
		if err := q.DeleteEnvironment(ctx, "e1"); err != nil {
			t.Fatal(err)
		}
		if all, err := q.AllSchedules(ctx); err != nil || len(all) != 0 {
			t.Fatalf("after its environment: %+v %v", all, err)
		}
	})
}
