package cost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/loop"
	"github.com/berth-platform/berth/internal/store"
)

// maxDeliveries is how often an alert is offered to the webhook before Berth gives up (the
// audit event stays).
const maxDeliveries = 10

// deliveryLease is how long one replica holds an alert it is sending: longer than a post may
// take, so two replicas never send the same alert at once.
const deliveryLease = time.Minute

// Alerts watches budgets: once a month per environment, when the forecast crosses the budget,
// it writes an audit event (cost.budget.forecast-over) and offers the alert to a webhook.
type Alerts struct {
	Store   *store.Store
	Prices  Prices
	Webhook string // "" : audit events only
	Client  *http.Client
	Log     *slog.Logger
}

// berthPrincipal is who the audit log names for what Berth does by itself.
var berthPrincipal = access.Principal{Identity: auth.Identity{Subject: "service:berth"}}

// Alert is what the webhook receives (JSON).
type Alert struct {
	Kind        string  `json:"kind"`
	Team        string  `json:"team"`
	Environment string  `json:"environment"`
	Month       string  `json:"month"`
	Budget      float64 `json:"budget"`
	MonthToDate float64 `json:"monthToDate"`
	Forecast    float64 `json:"forecast"`
	Currency    string  `json:"currency"`
}

// Tick checks every budgeted environment at now, then offers undelivered alerts to the webhook.
func (a *Alerts) Tick(ctx context.Context, now time.Time) error {
	q := a.Store.Q()
	envs, err := q.ListEnvironments(ctx, "")
	if err != nil {
		return err
	}
	services, err := q.AllServices(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(services))
	teamOf := map[string]string{}
	for _, s := range services {
		ids, teamOf[s.ID] = append(ids, s.ID), s.TeamID
	}
	month, _ := ParseWindow("month", nil, nil, now)
	usage, err := q.UsageByDay(ctx, ids, month.Start, month.End)
	if err != nil {
		return err
	}
	mtd := map[[2]string]float64{}
	for _, u := range usage {
		mtd[[2]string{teamOf[u.ServiceID], u.Environment}] += a.Prices.Of(u.Usage).Total()
	}
	label := month.Start.Format("2006-01")
	for _, e := range envs {
		spent := mtd[[2]string{e.TeamID, e.Name}]
		if e.Budget <= 0 || Forecast(spent, now) <= e.Budget {
			continue
		}
		f := Forecast(spent, now)
		err := a.Store.Tx(ctx, func(q store.Queries) error {
			claimed, err := q.ClaimCostAlert(ctx, store.CostAlert{EnvironmentID: e.ID, Month: label, Forecast: f, Budget: e.Budget, AlertedAt: now})
			if err != nil || !claimed {
				return err
			}
			return audit.Record(ctx, q, berthPrincipal, audit.Entry{Action: "cost.budget.forecast-over", Team: e.TeamName, TeamID: e.TeamID,
				Target: "environment/" + e.TeamName + "/" + e.Name,
				Detail: map[string]any{"month": label, "budget": e.Budget, "monthToDate": spent, "forecast": f}}, now)
		})
		if err != nil {
			return err
		}
	}
	return a.deliver(ctx, envs, mtd, now)
}

func (a *Alerts) deliver(ctx context.Context, envs []store.Environment, mtd map[[2]string]float64, now time.Time) error {
	if a.Webhook == "" {
		return nil
	}
	pending, err := a.Store.Q().ClaimCostAlertDeliveries(ctx, now, deliveryLease, maxDeliveries)
	if err != nil {
		return err
	}
	byID := map[string]store.Environment{}
	for _, e := range envs {
		byID[e.ID] = e
	}
	for _, p := range pending {
		e := byID[p.EnvironmentID]
		body, _ := json.Marshal(Alert{Kind: "cost.budget.forecast-over", Team: e.TeamName, Environment: e.Name, Month: p.Month,
			Budget: p.Budget, MonthToDate: mtd[[2]string{e.TeamID, e.Name}], Forecast: p.Forecast, Currency: "USD"})
		if !a.post(ctx, body) {
			continue // offered again once the lease is over
		}
		if err := a.Store.Q().CostAlertDelivered(ctx, p.EnvironmentID, p.Month, now); err != nil {
			return err
		}
	}
	return nil
}

func (a *Alerts) post(ctx context.Context, body []byte) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Webhook, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	c := a.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		a.Log.Warn("cost alert webhook", "error", err)
		return false
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		a.Log.Warn("cost alert webhook", "status", fmt.Sprint(res.StatusCode))
		return false
	}
	return true
}

// Run checks at once and then every interval until ctx ends.
func (a *Alerts) Run(ctx context.Context, every time.Duration) {
	loop.Every(ctx, every, true, a.Log, "cost alerts", a.Tick)
}
