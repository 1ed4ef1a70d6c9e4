package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
)

// Every test here runs against SQLite and a real PostgreSQL server.
func forEachDriver(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, d := range storetest.Drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, d))
		})
	}
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)

func team(id, name string) store.Team {
	return store.Team{ID: id, Name: name, DisplayName: name, CreatedBy: "user:default/jane", CreatedAt: t0, UpdatedAt: t0, Version: 1}
}

func TestStoreMigrateIsRepeatable(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		n, err := st.Migrate(t.Context())
		if err != nil || n != 0 {
			t.Fatalf("second migrate: applied %d, err %v; want 0, nil", n, err)
		}
	})
}

func TestStoreTeams(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		q := st.Q()
		for i, n := range []string{"search", "payments", "pay_ments", "risk"} {
			if err := q.CreateTeam(ctx, team(fmt.Sprintf("id-%d", i), n)); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.CreateTeam(ctx, team("id-x", "payments")); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("duplicate name: got %v, want ErrConflict", err)
		}
		got, err := q.TeamByName(ctx, "payments")
		if err != nil {
			t.Fatal(err)
		}
		if want := team("id-1", "payments"); got != want {
			t.Fatalf("round trip: got %+v, want %+v", got, want)
		}
		if _, err := q.TeamByName(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("missing team: got %v", err)
		}

		page, err := q.ListTeams(ctx, store.TeamFilter{Limit: 2})
		if err != nil || names(page) != "pay_ments,payments" {
			t.Fatalf("first page: %v %v", names(page), err)
		}
		page, _ = q.ListTeams(ctx, store.TeamFilter{Limit: 2, After: "payments"})
		if names(page) != "risk,search" {
			t.Fatalf("second page: %v", names(page))
		}
		// LIKE wildcards in the filter are literal.
		page, _ = q.ListTeams(ctx, store.TeamFilter{Limit: 10, NameContains: "y_m"})
		if names(page) != "pay_ments" {
			t.Fatalf("escaped filter: %v", names(page))
		}

		got.DisplayName, got.Version = "Payments", 2
		if err := q.UpdateTeam(ctx, got, 1); err != nil {
			t.Fatal(err)
		}
		if err := q.UpdateTeam(ctx, got, 1); !store.IsConcurrentChange(err) {
			t.Fatalf("stale version: got %v", err)
		}
	})
}

func TestStoreMembersAndVisibility(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		q := st.Q()
		for _, tm := range []store.Team{team("t1", "payments"), team("t2", "search"), team("t3", "risk")} {
			if err := q.CreateTeam(ctx, tm); err != nil {
				t.Fatal(err)
			}
		}
		add := func(id, teamID, kind, name, role string) {
			t.Helper()
			if err := q.CreateMember(ctx, store.Member{ID: id, TeamID: teamID, Kind: kind, Name: name, Role: role, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		add("m1", "t1", "user", "user:default/jane", "admin")
		add("m2", "t2", "group", "group:default/search", "viewer")
		add("m3", "t3", "user", "user:default/bob", "admin")
		if err := q.CreateMember(ctx, store.Member{ID: "m4", TeamID: "t1", Kind: "user", Name: "user:default/jane", Role: "viewer"}); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("same subject twice: %v", err)
		}
		jane := store.Subjects{User: "user:default/jane", Groups: []string{"group:default/search"}}
		visible, err := q.ListTeams(ctx, store.TeamFilter{Limit: 10, Subjects: &jane})
		if err != nil || names(visible) != "payments,search" {
			t.Fatalf("jane sees %v (%v)", names(visible), err)
		}
		ms, err := q.MembershipsOf(ctx, jane)
		if err != nil || len(ms) != 2 || ms[0].TeamName != "payments" || ms[1].Role != "viewer" {
			t.Fatalf("memberships: %+v %v", ms, err)
		}
		if n, _ := q.CountRole(ctx, "t1", "admin"); n != 1 {
			t.Fatalf("admins of t1: %d", n)
		}
		// Deleting a team takes its members with it.
		if err := q.DeleteTeam(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if _, err := q.MemberByID(ctx, "t1", "m1"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("member of deleted team: %v", err)
		}
	})
}

func TestStoreTransactionRollsBack(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		boom := errors.New("boom")
		err := st.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateTeam(ctx, team("t1", "payments")); err != nil {
				return err
			}
			if err := q.InsertAuditEvent(ctx, store.AuditEvent{ID: "e1", Time: t0, Actor: "a", Action: "team.create", Target: "team/payments", Result: "success"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("tx error: %v", err)
		}
		if _, err := st.Q().TeamByName(ctx, "payments"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("team survived rollback: %v", err)
		}
		ev, _ := st.Q().ListAuditEvents(ctx, store.AuditFilter{Limit: 10})
		if len(ev) != 0 {
			t.Fatalf("audit event survived rollback: %+v", ev)
		}
	})
}

func TestStoreAuditFiltersAndPages(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		q := st.Q()
		for i := range 7 {
			e := store.AuditEvent{ID: fmt.Sprintf("e%d", i), Time: t0.Add(time.Duration(i/2) * time.Minute), Actor: []string{"jane", "bob"}[i%2],
				Action: "team.create", Team: []string{"payments", "search"}[i%2], TeamID: []string{"id-payments", "id-search"}[i%2], Target: "x", Result: "success", RequestID: "r",
				Detail: map[string]any{"n": float64(i)}}
			if err := q.InsertAuditEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Pages walk newest first, with ties on time broken by id, and never repeat or skip.
		var seen []string
		f := store.AuditFilter{Limit: 3}
		for {
			page, err := q.ListAuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				seen = append(seen, e.ID)
			}
			if len(page) < 3 {
				break
			}
			last := page[len(page)-1]
			f.BeforeTime, f.BeforeID = last.Time, last.ID
		}
		if fmt.Sprint(seen) != "[e6 e5 e4 e3 e2 e1 e0]" {
			t.Fatalf("pages: %v", seen)
		}
		jane, _ := q.ListAuditEvents(ctx, store.AuditFilter{Actor: "jane", Limit: 10})
		if len(jane) != 4 || jane[0].Detail["n"] != float64(6) {
			t.Fatalf("actor filter: %+v", jane)
		}
		window, _ := q.ListAuditEvents(ctx, store.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute), Limit: 10})
		if len(window) != 4 {
			t.Fatalf("time window: %d events", len(window))
		}
		scoped, _ := q.ListAuditEvents(ctx, store.AuditFilter{TeamIDs: []string{"id-search"}, Limit: 10})
		if len(scoped) != 3 {
			t.Fatalf("team scope: %d events", len(scoped))
		}
		none, _ := q.ListAuditEvents(ctx, store.AuditFilter{TeamIDs: []string{}, Limit: 10})
		if len(none) != 0 {
			t.Fatalf("empty team scope must see nothing, got %d", len(none))
		}
	})
}

func TestStoreIdempotencyClaimIsExclusive(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rec := store.IdempotencyRecord{Subject: "jane", Key: "k", Method: "POST", Path: "/api/v1/teams", BodyHash: "h", CreatedAt: time.Now().UnixMicro()}
		var wg sync.WaitGroup
		var mu sync.Mutex
		claims := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, claimed, err := st.Q().ClaimIdempotencyKey(ctx, rec, time.Now().Add(-time.Hour))
				if err != nil {
					t.Error(err)
				}
				if claimed {
					mu.Lock()
					claims++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if claims != 1 {
			t.Fatalf("%d concurrent claims succeeded, want exactly 1", claims)
		}
		if err := st.Q().CompleteIdempotencyKey(ctx, "jane", "k", 201, "{}", `{"ok":true}`); err != nil {
			t.Fatal(err)
		}
		got, claimed, err := st.Q().ClaimIdempotencyKey(ctx, rec, time.Now().Add(-time.Hour))
		if err != nil || claimed || got.Status != 201 || got.Body != `{"ok":true}` {
			t.Fatalf("replay record: %+v claimed=%v err=%v", got, claimed, err)
		}
		// Past the window the key is free again.
		_, claimed, err = st.Q().ClaimIdempotencyKey(ctx, rec, time.Now().Add(time.Hour))
		if err != nil || !claimed {
			t.Fatalf("expired key not reclaimed: %v %v", claimed, err)
		}
	})
}

func names(ts []store.Team) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.Name
	}
	return s
}

// At most one queued or running run per service, whatever the callers race: the database
// refuses the second (ErrConflict), and a finished run makes room for the next.
func TestStoreOneActiveRunPerService(t *testing.T) {
	forEachDriver(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		q := st.Q()
		if err := q.CreateTeam(ctx, team("t1", "shop")); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"s1", "s2"} {
			if err := q.CreateService(ctx, store.Service{ID: id, TeamID: "t1", Name: id, Blueprint: "worker", Image: "x", Tag: "1",
				Parameters: map[string]any{}, Environments: []string{"dev"}, CreatedBy: "user:default/jane", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		run := func(id, service string) store.Run {
			return store.Run{ID: id, TeamID: "t1", ServiceID: service, Action: "update", Status: "queued", RequestedBy: "user:default/jane", CreatedAt: t0}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		results := map[string]int{}
		for i := range 8 {
			wg.Go(func() {
				err := st.Tx(ctx, func(q store.Queries) error { return q.CreateRun(ctx, run(fmt.Sprintf("r%d", i), "s1")) })
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					results["ok"]++
				case errors.Is(err, errs.ErrConflict):
					results["conflict"]++
				default:
					results[err.Error()]++
				}
			})
		}
		wg.Wait()
		if results["ok"] != 1 || results["conflict"] != 7 {
			t.Fatalf("8 concurrent runs of one service: %v; want 1 ok and 7 conflicts", results)
		}
		if err := q.CreateRun(ctx, run("other", "s2")); err != nil {
			t.Fatalf("another service's run: %v", err)
		}
		runs, err := q.ListServiceRuns(ctx, "s1", 10)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs of s1: %d %v", len(runs), err)
		}
		done := runs[0]
		done.Status, done.FinishedAt = "succeeded", t0.Add(time.Minute)
		if err := q.UpdateRun(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := q.CreateRun(ctx, run("next", "s1")); err != nil {
			t.Fatalf("a run after the last one finished: %v", err)
		}
	})
}
