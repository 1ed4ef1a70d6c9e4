package cost

import (
	"context"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/opencost"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// ServiceLabel is the label OpenCost aggregates a service's pods by: Berth's blueprints set it.
const ServiceLabel = "app.kubernetes.io/name"

// Service answers cost questions for callers, within the tenant boundary.
type Service struct {
	store   *store.Store
	tenancy *tenancy.Service
	prices  Prices
	// openCost holds an OpenCost per cluster that has one ("" is Berth's own).
	openCost map[string]*opencost.Client
}

// NewService attributes with prices, asking OpenCost on the clusters of openCost.
func NewService(st *store.Store, ten *tenancy.Service, prices Prices, openCost map[string]*opencost.Client) *Service {
	return &Service{store: st, tenancy: ten, prices: prices, openCost: openCost}
}

// Report is a team's (or one service's) costs over a window.
type Report struct {
	Team   string
	Window Window
	Lines  []Line
	Days   []Day
	Total  float64
	// Budgets are the environments' monthly budgets this month (team reports only).
	Budgets []Budget
	Prices  Prices
}

// Team reports every service of team (team viewer; an outsider hears the team does not exist).
func (s *Service) Team(ctx context.Context, p access.Principal, team string, w Window, now time.Time) (Report, error) {
	return s.report(ctx, p, team, "", w, now)
}

// ServiceCosts reports one service of team.
func (s *Service) ServiceCosts(ctx context.Context, p access.Principal, team, service string, w Window, now time.Time) (Report, error) {
	return s.report(ctx, p, team, service, w, now)
}

func (s *Service) report(ctx context.Context, p access.Principal, team, service string, w Window, now time.Time) (Report, error) {
	t, err := s.tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return Report{}, err
	}
	q := s.store.Q()
	var services []store.Service
	if service != "" {
		svc, err := q.ServiceByName(ctx, t.ID, service)
		if err != nil {
			return Report{}, err
		}
		services = []store.Service{svc}
	} else if services, err = q.ListServices(ctx, t.ID); err != nil {
		return Report{}, err
	}
	envs, err := q.ListEnvironments(ctx, t.ID)
	if err != nil {
		return Report{}, err
	}
	names := map[string]string{}
	ids := make([]string, 0, len(services))
	for _, svc := range services {
		names[svc.ID], ids = svc.Name, append(ids, svc.ID)
	}
	usage, err := q.UsageByDay(ctx, ids, w.Start, w.End)
	if err != nil {
		return Report{}, err
	}
	lines, days := Attribute(usage, names, s.prices)
	lines, days = s.fromOpenCost(ctx, services, envs, w, lines, days)
	r := Report{Team: t.Name, Window: w, Lines: lines, Days: days, Prices: s.prices}
	for _, l := range lines {
		r.Total += l.Cost
	}
	if service == "" {
		var month []store.DailyUsage
		if w.Name == "month" {
			month = usage
		}
		if r.Budgets, err = s.budgets(ctx, q, ids, envs, now, month); err != nil {
			return Report{}, err
		}
	}
	return r, nil
}

// fromOpenCost replaces the lines of environments on a cluster with OpenCost by what it says;
// where it does not answer, Berth's own figures stay, marked so.
func (s *Service) fromOpenCost(ctx context.Context, services []store.Service, envs []store.Environment, w Window, lines []Line, days []Day) ([]Line, []Day) {
	if len(s.openCost) == 0 {
		return lines, days
	}
	byEnv := map[string]store.Environment{}
	for _, e := range envs {
		byEnv[e.Name] = e
	}
	own := map[[2]string]int{}
	for i, l := range lines {
		own[[2]string{l.ServiceID, l.Environment}] = i
	}
	window := w.Start.Format(time.RFC3339) + "," + w.End.Format(time.RFC3339)
	changed := false
	for _, svc := range services {
		for _, name := range svc.Environments {
			env, ok := byEnv[name]
			c := s.openCost[env.Cluster]
			if !ok || c == nil {
				continue
			}
			i, had := own[[2]string{svc.ID, name}]
			allocs, err := c.ServiceCosts(ctx, opencost.Service{Namespace: env.Namespace, Name: svc.Name, Label: ServiceLabel}, window, "1d")
			if err != nil {
				if had {
					lines[i].Source = "berth (OpenCost did not answer)"
				}
				continue
			}
			l := Line{ServiceID: svc.ID, Service: svc.Name, Environment: name, Source: "opencost"}
			for _, a := range allocs {
				l.CoreHours += a.CPUCoreHours
				l.GiBHours += a.RAMByteHours / (1 << 30)
				l.RequestCoreHours += a.CPUCoreRequestAverage * a.Minutes / 60
				l.UsedCoreHours += a.CPUCoreUsageAverage * a.Minutes / 60
				l.PVGiBHours += a.PVByteHours / (1 << 30)
				l.CPUCost += a.CPUCost
				l.RAMCost += a.RAMCost
				l.PVCost += a.PVCost
				l.LoadBalancerCost += a.LoadBalancerCost
				l.Cost += a.TotalCost
				l.Days = append(l.Days, Day{Day: a.Window.Start.UTC(), Cost: a.TotalCost})
			}
			if had {
				lines[i] = l
			} else if len(allocs) > 0 {
				lines = append(lines, l)
			}
			changed = true
		}
	}
	if !changed {
		return lines, days
	}
	Sort(lines)
	total := map[time.Time]float64{}
	for _, l := range lines {
		for _, d := range l.Days {
			total[d.Day] += d.Cost
		}
	}
	return lines, sortedDays(total)
}

// budgets compares each budgeted environment's month so far with its budget; usage is the
// month's when the report read it already (nil: read it).
func (s *Service) budgets(ctx context.Context, q store.Queries, ids []string, envs []store.Environment, now time.Time, usage []store.DailyUsage) ([]Budget, error) {
	if usage == nil {
		month, _ := ParseWindow("month", nil, nil, now)
		var err error
		if usage, err = q.UsageByDay(ctx, ids, month.Start, month.End); err != nil {
			return nil, err
		}
	}
	mtd := map[string]float64{}
	for _, u := range usage {
		mtd[u.Environment] += s.prices.Of(u.Usage).Total()
	}
	var out []Budget
	for _, e := range envs {
		if e.Budget <= 0 {
			continue
		}
		f := Forecast(mtd[e.Name], now)
		out = append(out, Budget{Environment: e.Name, Monthly: e.Budget, MonthToDate: mtd[e.Name], Forecast: f, Over: f > e.Budget})
	}
	return out, nil
}

// Prices are what Berth's model prices usage at.
func (s *Service) Prices() Prices { return s.prices }
