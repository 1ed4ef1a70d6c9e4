package server

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/rightsize"
	"github.com/berth-platform/berth/internal/signals"
)

func (s *Server) GetServiceRightsizing(ctx context.Context, req api.GetServiceRightsizingRequestObject) (api.GetServiceRightsizingResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if s.deps.Rightsize == nil || s.deps.Workloads == nil {
		if _, err := s.deps.Tenancy.Authorize(ctx, p, req.Team, access.Viewer); err != nil {
			return nil, err
		}
		if s.deps.Workloads == nil {
			return nil, fmt.Errorf("%w: rightsizing needs a cluster; start Berth with --kubeconfig", errs.ErrUnavailable)
		}
		return nil, fmt.Errorf("%w: rightsizing needs Prometheus; start Berth with --prometheus-url", errs.ErrUnavailable)
	}
	hours := 168
	if req.Params.WindowHours != nil {
		hours = *req.Params.WindowHours
	}
	views, err := s.deps.Workloads.Views(ctx, p, req.Team, req.Service)
	if err != nil {
		return nil, err
	}
	env := req.Params.Environment
	for _, ev := range views {
		if ev.Env.Name != env {
			continue
		}
		usage, q, err := s.deps.Rightsize.Usage(ctx, ev.Env.Namespace, ev.Service.Name, time.Duration(hours)*time.Hour, time.Now())
		if err != nil {
			return nil, fmt.Errorf("%w: %s", errs.ErrUnavailable, signals.Problem(err))
		}
		prices := cost.DefaultPrices
		if s.deps.Costs != nil {
			prices = s.deps.Costs.Prices()
		}
		pol := s.deps.Rightsize.Policy()
		out := api.Rightsizing{Environment: env, WindowHours: hours, CpuQuantile: pol.CPUQuantile, MemoryQuantile: pol.MemoryQuantile,
			TargetUtilization: pol.TargetUtilization, Containers: []api.ContainerRecommendation{}}
		out.Queries.Cpu, out.Queries.Memory, out.Queries.MemoryMax = q.CPU, q.Memory, q.MemoryMax
		for _, c := range rightsize.Containers(ev.View.Pods) {
			r := rightsize.Recommend(c, usage[c.Name], pol, rightsize.Prices{CPUCoreHour: prices.CPUCoreHour, RAMGiBHour: prices.RAMGiBHour})
			out.Containers = append(out.Containers, api.ContainerRecommendation{Container: c.Name, Pods: c.Pods,
				Current: apiResources(c.Resources), Recommended: apiResources(r.Recommended),
				Usage:          api.ContainerUsage{Cpu: r.Usage.CPU, Memory: r.Usage.Memory, MemoryMax: r.Usage.MemoryMax},
				MonthlySavings: r.MonthlySavings, State: api.ContainerRecommendationState(r.State)})
			out.MonthlySavings += r.MonthlySavings
		}
		return api.GetServiceRightsizing200JSONResponse(out), nil
	}
	return nil, fmt.Errorf("%w: service %q does not run in environment %q", errs.ErrNotFound, req.Service, env)
}

func apiResources(r rightsize.Resources) api.ContainerResources {
	return api.ContainerResources{CpuRequest: r.CPURequest, MemoryRequest: r.MemoryRequest, CpuLimit: r.CPULimit, MemoryLimit: r.MemoryLimit}
}
