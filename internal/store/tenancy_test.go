package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

func TestStoreEnvironmentsClustersAndSCIM(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		q := st.Q()
		if err := q.CreateTeam(ctx, team("t1", "payments")); err != nil {
			t.Fatal(err)
		}
		env := store.Environment{ID: "e1", TeamID: "t1", Name: "dev", Namespace: "payments-dev", Budget: 123.45, CPUShare: 0.3, LimitRatio: 1.5,
			Phase: "Pending", CreatedAt: t0, UpdatedAt: t0}
		if err := q.CreateEnvironment(ctx, env); err != nil {
			t.Fatal(err)
		}
		dup := env
		dup.ID, dup.Name = "e2", "other"
		if err := q.CreateEnvironment(ctx, dup); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("a namespace used twice: %v", err)
		}
		got, err := q.EnvironmentByNamespace(ctx, "payments-dev")
		if err != nil || got.Budget != 123.45 || got.CPUShare != 0.3 || got.TeamName != "payments" || !got.AppliedAt.IsZero() {
			t.Fatalf("round trip: %+v %v", got, err)
		}
		if err := q.SetEnvironmentStatus(ctx, "e1", "Ready", "", t0, t0); err != nil {
			t.Fatal(err)
		}

		c := store.Cluster{ID: "c1", Name: "edge", Server: "https://edge", CAData: "ca", Credentials: "sealed", CreatedAt: t0, UpdatedAt: t0}
		if err := q.CreateCluster(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := q.PlaceEnvironment(ctx, "e1", "edge", t0); err != nil {
			t.Fatal(err)
		}
		if n, _ := q.EnvironmentsOnCluster(ctx, "edge"); n != 1 {
			t.Fatalf("environments on edge: %d", n)
		}

		for i, name := range []string{"jane@example.com", "bob@example.com"} {
			u := store.SCIMUser{ID: fmt.Sprint("u", i), UserName: name, Active: i == 0, Attributes: "{}", Version: 1, CreatedAt: t0, UpdatedAt: t0}
			if err := q.PutSCIMUser(ctx, u, true); err != nil {
				t.Fatal(err)
			}
		}
		g := store.SCIMGroup{ID: "g1", DisplayName: "payments-devs", Version: 1, Members: []string{"u0", "u1"}, CreatedAt: t0, UpdatedAt: t0}
		if err := q.PutSCIMGroup(ctx, g, true); err != nil {
			t.Fatal(err)
		}
		active, err := q.ActiveMembersOfGroup(ctx, "payments-devs")
		if err != nil || fmt.Sprint(active) != "[jane@example.com]" {
			t.Fatalf("active members: %v %v", active, err)
		}
		users, total, err := q.ListSCIMUsers(ctx, "userName", "bob@example.com", 0, 10)
		if err != nil || total != 1 || users[0].Active {
			t.Fatalf("filtered users: %+v %d %v", users, total, err)
		}
		// An API member is never replaced by a synced one; synced ones come and go.
		if err := q.CreateMember(ctx, store.Member{ID: "m1", TeamID: "t1", Kind: "user", Name: "oidc:bob@example.com", Role: "admin", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		n := 0
		id := func() string { n++; return fmt.Sprint("s", n) }
		want := []store.SyncedMember{{TeamID: "t1", Subject: "oidc:jane@example.com", Role: "editor"}, {TeamID: "t1", Subject: "oidc:bob@example.com", Role: "viewer"}}
		if changed, err := q.ReplaceSyncedMembers(ctx, want, id, t0); err != nil || len(changed) != 1 {
			t.Fatalf("sync: %v %v", changed, err)
		}
		if changed, _ := q.ReplaceSyncedMembers(ctx, want, id, t0); len(changed) != 0 {
			t.Fatalf("a repeated sync changed teams %v", changed)
		}
		ms, _ := q.AllMembers(ctx, "t1")
		if len(ms) != 2 || ms[0].Name != "oidc:bob@example.com" || ms[0].Role != "admin" || ms[1].Role != "editor" {
			t.Fatalf("members after sync: %+v", ms)
		}
		if _, err := q.ReplaceSyncedMembers(ctx, nil, id, t0); err != nil {
			t.Fatal(err)
		}
		if ms, _ := q.AllMembers(ctx, "t1"); len(ms) != 1 {
			t.Fatalf("synced member not removed: %+v", ms)
		}
		if err := q.DeleteSCIMUser(ctx, "u0"); err != nil {
			t.Fatal(err)
		}
		if err := q.DeleteSCIMUser(ctx, "u0"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
	})
}
