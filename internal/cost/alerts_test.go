package cost_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
)

// A forecast over budget raises one alert per environment and month, however many replicas
// check and however often: one audit event, and one delivery the webhook accepted (after it
// refused the first); an environment within its budget raises none.
func TestBudgetAlertOnce(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			st := storetest.Open(t, driver)
			ctx, q := t.Context(), st.Q()
			now := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC) // 216 of December's 744 hours
			storetest.SeedService(t, st, "shop-dev", now.AddDate(0, 0, -9))
			if err := q.UpdateEnvironmentQuota(ctx, store.Environment{ID: "e1", Tier: "small", Budget: 5, Phase: "Ready", UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := q.CreateEnvironment(ctx, store.Environment{ID: "e2", TeamID: "t1", Name: "prod", Namespace: "shop-prod", Tier: "small", Budget: 1000,
				Phase: "Ready", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			// 100 core-hours in dev ($3.1611), 1 in prod, on December 2.
			for env, coreHours := range map[string]int64{"dev": 100, "prod": 1} {
				u := store.Usage{CPUBilled: coreHours * 1000 * 3600, CPURequest: coreHours * 1000 * 3600, PodSeconds: 3600}
				hour := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
				if err := q.AddUsage(ctx, store.UsageSample{ServiceID: "s1", Environment: env, Hour: hour, Slot: hour.Unix() / 60, Usage: u}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			var bodies []cost.Alert
			refused := false
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var a cost.Alert
				if err := json.NewDecoder(r.Body).Decode(&a); err != nil || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("webhook body: %v", err)
				}
				mu.Lock()
				defer mu.Unlock()
				bodies = append(bodies, a)
				if !refused {
					refused = true
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			defer hook.Close()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			replicas := []*cost.Alerts{
				{Store: st, Prices: cost.DefaultPrices, Webhook: hook.URL, Log: log},
				{Store: st, Prices: cost.DefaultPrices, Webhook: hook.URL, Log: log},
			}
			tick := func(at time.Time) {
				t.Helper()
				var wg sync.WaitGroup
				for _, a := range replicas {
					wg.Go(func() {
						if err := a.Tick(ctx, at); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			}
			tick(now)                       // the alert, refused once
			tick(now.Add(30 * time.Second)) // its delivery lease still held
			tick(now.Add(2 * time.Minute))  // offered again, taken
			tick(now.Add(time.Hour))        // nothing more
			mu.Lock()
			got := bodies
			mu.Unlock()
			if len(got) != 2 || got[0] != got[1] {
				t.Fatalf("webhook received %d alerts, want the same one twice (refused, then taken): %+v", len(got), got)
			}
			a := got[1]
			want := 3.1611 / 216 * 744
			if a.Kind != "cost.budget.forecast-over" || a.Team != "shop" || a.Environment != "dev" || a.Month != "2026-12" || a.Budget != 5 ||
				math.Abs(a.MonthToDate-3.1611) > 1e-6 || math.Abs(a.Forecast-want) > 1e-4 || a.Currency != "USD" {
				t.Fatalf("alert %+v, want dev's forecast %.4f over 5", a, want)
			}
			events, err := q.ListAuditEvents(ctx, store.AuditFilter{Action: "cost.budget.forecast-over", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Actor != "service:berth" || events[0].Target != "environment/shop/dev" || events[0].Team != "shop" {
				t.Fatalf("audit events %+v, want one for shop/dev", events)
			}
			alerts, err := q.CostAlerts(ctx, "e1")
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 || !alerts[0].Delivered || alerts[0].Attempts != 2 {
				t.Fatalf("dev's alerts %+v, want one delivered at the second attempt", alerts)
			}
			if alerts, err := q.CostAlerts(ctx, "e2"); err != nil || len(alerts) != 0 {
				t.Fatalf("prod, within budget: %+v %v", alerts, err)
			}
			// January starts afresh: nothing spent yet, nothing raised.
			tick(time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC))
			if alerts, err := q.CostAlerts(ctx, "e1"); err != nil || len(alerts) != 1 {
				t.Fatalf("January: %+v %v", alerts, err)
			}
		})
	}
}
