package store_test

import (
	"testing"

	"github.com/berth-platform/berth/internal/store"
)

// Members, environments and services of several teams come back in one query each, only
// for the teams asked (and none for none).
func TestStoreOfTeams(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx, q := t.Context(), st.Q()
		for _, tm := range []store.Team{team("t1", "payments"), team("t2", "search"), team("t3", "risk")} {
			if err := q.CreateTeam(ctx, tm); err != nil {
				t.Fatal(err)
			}
			if err := q.CreateMember(ctx, store.Member{ID: "m-" + tm.ID, TeamID: tm.ID, Kind: "user", Name: "user:default/" + tm.Name, Role: "admin", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if err := q.CreateEnvironment(ctx, store.Environment{ID: "e-" + tm.ID, TeamID: tm.ID, Name: "dev", Namespace: tm.Name + "-dev", Tier: "small", Phase: "Pending", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if err := q.CreateService(ctx, store.Service{ID: "s-" + tm.ID, TeamID: tm.ID, Name: "api", Blueprint: "go-api", Image: "r/x", Tag: "1", Environments: []string{"dev"}, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		ids := []string{"t1", "t3"}
		ms, err := q.MembersOfTeams(ctx, ids)
		if err != nil || len(ms) != 2 || ms[0].TeamID != "t1" || ms[1].TeamName != "risk" {
			t.Fatalf("members: %+v %v", ms, err)
		}
		es, err := q.EnvironmentsOfTeams(ctx, ids)
		if err != nil || len(es) != 2 || es[1].Namespace != "risk-dev" {
			t.Fatalf("environments: %+v %v", es, err)
		}
		ss, err := q.ServicesOfTeams(ctx, ids)
		if err != nil || len(ss) != 2 || ss[0].TeamName != "payments" || ss[1].Environments[0] != "dev" {
			t.Fatalf("services: %+v %v", ss, err)
		}
		if none, err := q.ServicesOfTeams(ctx, nil); err != nil || len(none) != 0 {
			t.Fatalf("no teams: %+v %v", none, err)
		}
	})
}
