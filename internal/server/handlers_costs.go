package server

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/errs"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

// costs runs read for the caller with the window the parameters name (a month by default).
func (s *Server) costs(ctx context.Context, team, window string, start, end *time.Time, read func(*cost.Service, access.Principal, cost.Window, time.Time) (cost.Report, error)) (api.CostReport, error) {
	p, err := principal(ctx)
	if err != nil {
		return api.CostReport{}, err
	}
	if s.deps.Costs == nil {
		if _, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer); err != nil {
			return api.CostReport{}, err
		}
		return api.CostReport{}, fmt.Errorf("%w: costs need a cluster; start Berth with --kubeconfig", errs.ErrUnavailable)
	}
	if window == "" {
		window = "month"
	}
	now := time.Now()
	w, err := cost.ParseWindow(window, start, end, now)
	if err != nil {
		return api.CostReport{}, err
	}
	r, err := read(s.deps.Costs, p, w, now)
	if err != nil {
		return api.CostReport{}, err
	}
	return apiCosts(r), nil
}

func apiCosts(r cost.Report) api.CostReport {
	out := api.CostReport{Team: r.Team, Currency: api.USD, Total: r.Total, Lines: []api.CostLine{}, Days: apiDays(r.Days),
		Prices: api.CostPrices{CpuCoreHour: r.Prices.CPUCoreHour, RamGiBHour: r.Prices.RAMGiBHour, PvGiBMonth: r.Prices.PVGiBMonth, LoadBalancerHour: r.Prices.LoadBalancerHour}}
	out.Window.Name, out.Window.Start, out.Window.End = r.Window.Name, r.Window.Start, r.Window.End
	for _, l := range r.Lines {
		out.Lines = append(out.Lines, api.CostLine{Service: l.Service, Environment: l.Environment, Source: l.Source, CoreHours: l.CoreHours, GibHours: l.GiBHours,
			RequestedCoreHours: l.RequestCoreHours, UsedCoreHours: l.UsedCoreHours, PvGibHours: l.PVGiBHours, LoadBalancerHours: l.LoadBalancerHours,
			CpuCost: l.CPUCost, RamCost: l.RAMCost, PvCost: l.PVCost, LoadBalancerCost: l.LoadBalancerCost, Cost: l.Cost, Days: apiDays(l.Days)})
	}
	if r.Budgets != nil {
		b := []api.CostBudget{}
		for _, x := range r.Budgets {
			b = append(b, api.CostBudget{Environment: x.Environment, Monthly: x.Monthly, MonthToDate: x.MonthToDate, Forecast: x.Forecast, Over: x.Over})
		}
		out.Budgets = &b
	}
	return out
}

func apiDays(days []cost.Day) []api.CostDay {
	out := make([]api.CostDay, 0, len(days))
	for _, d := range days {
		out = append(out, api.CostDay{Day: openapi_types.Date{Time: d.Day}, Cost: d.Cost})
	}
	return out
}

func (s *Server) GetTeamCosts(ctx context.Context, req api.GetTeamCostsRequestObject) (api.GetTeamCostsResponseObject, error) {
	r, err := s.costs(ctx, req.Team, string(valueOf(req.Params.Window)), req.Params.Start, req.Params.End,
		func(c *cost.Service, p access.Principal, w cost.Window, now time.Time) (cost.Report, error) {
			return c.Team(ctx, p, req.Team, w, now)
		})
	if err != nil {
		return nil, err
	}
	return api.GetTeamCosts200JSONResponse(r), nil
}

func (s *Server) GetServiceCosts(ctx context.Context, req api.GetServiceCostsRequestObject) (api.GetServiceCostsResponseObject, error) {
	r, err := s.costs(ctx, req.Team, string(valueOf(req.Params.Window)), req.Params.Start, req.Params.End,
		func(c *cost.Service, p access.Principal, w cost.Window, now time.Time) (cost.Report, error) {
			return c.ServiceCosts(ctx, p, req.Team, req.Service, w, now)
		})
	if err != nil {
		return nil, err
	}
	return api.GetServiceCosts200JSONResponse(r), nil
}
