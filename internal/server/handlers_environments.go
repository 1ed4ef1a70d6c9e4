package server

import (
	"context"
	"slices"
	"strings"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

func quotaChoice(tier *api.Tier, b *api.BudgetInput) tenancy.QuotaChoice {
	c := tenancy.QuotaChoice{}
	if tier != nil {
		c.Tier = string(*tier)
	}
	if b != nil {
		c.Budget = &tenancy.Budget{Monthly: b.Monthly}
		if b.CpuShare != nil {
			c.Budget.CPUShare = *b.CpuShare
		}
		if b.LimitRatio != nil {
			c.Budget.LimitRatio = *b.LimitRatio
		}
	}
	return c
}

func (s *Server) apiEnvironment(e store.Environment) (api.Environment, error) {
	qv, err := s.deps.Tenancy.Quota(e)
	if err != nil {
		return api.Environment{}, err
	}
	out := api.Environment{Name: e.Name, Team: e.TeamName, Namespace: e.Namespace, Cluster: clusterRef(e.Cluster), Phase: api.EnvironmentPhase(e.Phase),
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, Quota: api.EnvironmentQuota{Hard: qv.Hard}}
	if e.Message != "" {
		out.Message = &e.Message
	}
	if !e.AppliedAt.IsZero() {
		out.AppliedAt = &e.AppliedAt
	}
	if !e.DriftRepairedAt.IsZero() {
		out.DriftRepairedAt = &e.DriftRepairedAt
	}
	if qv.Reported {
		out.Quota.Used = &qv.Used
	}
	if e.Budget > 0 {
		out.Quota.Budget = &api.EnvironmentBudget{Monthly: e.Budget, CpuShare: e.CPUShare, LimitRatio: e.LimitRatio}
	} else {
		t := api.Tier(e.Tier)
		out.Quota.Tier = &t
	}
	if a := qv.Arithmetic; a != nil {
		out.Quota.Arithmetic = &api.BudgetArithmetic{CpuCoreHour: a.Prices.CPUCoreHour, RamGiBHour: a.Prices.RAMGiBHour, HoursPerMonth: a.Prices.HoursPerMonth,
			CpuMoney: a.CPUMoney, MemoryMoney: a.MemoryMoney, CpuCores: a.CPUCores, MemoryGiB: a.MemoryGiB, Steps: a.Steps}
	}
	return out, nil
}

func (s *Server) CreateEnvironment(ctx context.Context, req api.CreateEnvironmentRequestObject) (api.CreateEnvironmentResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.deps.Tenancy.CreateEnvironment(ctx, p, req.Team, req.Body.Name, quotaChoice(req.Body.Tier, req.Body.Budget), clusterName(req.Body.Cluster))
	if err != nil {
		return nil, err
	}
	out, err := s.apiEnvironment(e)
	if err != nil {
		return nil, err
	}
	loc := "/api/v1/teams/" + req.Team + "/environments/" + e.Name
	return api.CreateEnvironment201JSONResponse{Body: out, Headers: api.CreateEnvironment201ResponseHeaders{Location: &loc}}, nil
}

func (s *Server) GetEnvironment(ctx context.Context, req api.GetEnvironmentRequestObject) (api.GetEnvironmentResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.deps.Tenancy.GetEnvironment(ctx, p, req.Team, req.Environment)
	if err != nil {
		return nil, err
	}
	out, err := s.apiEnvironment(e)
	if err != nil {
		return nil, err
	}
	return api.GetEnvironment200JSONResponse(out), nil
}

type envCursor struct {
	After string `json:"a"`
}

func (s *Server) ListEnvironments(ctx context.Context, req api.ListEnvironmentsRequestObject) (api.ListEnvironmentsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var cur envCursor
	if err := decodeCursor(req.Params.Cursor, &cur); err != nil {
		return nil, err
	}
	envs, err := s.deps.Tenancy.ListEnvironments(ctx, p, req.Team)
	if err != nil {
		return nil, err
	}
	// A team has a handful of environments: page in memory, by name.
	slices.SortFunc(envs, func(a, b store.Environment) int { return strings.Compare(a.Name, b.Name) })
	limit := limitOf(req.Params.Limit)
	out := api.EnvironmentList{Items: []api.Environment{}}
	for _, e := range envs {
		if e.Name <= cur.After {
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = encodeCursor(envCursor{After: out.Items[len(out.Items)-1].Name})
			break
		}
		ae, err := s.apiEnvironment(e)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, ae)
	}
	return api.ListEnvironments200JSONResponse(out), nil
}

func (s *Server) UpdateEnvironment(ctx context.Context, req api.UpdateEnvironmentRequestObject) (api.UpdateEnvironmentResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var e store.Environment
	if req.Body.Cluster != nil {
		if e, err = s.deps.Tenancy.PlaceEnvironment(ctx, p, req.Team, req.Environment, clusterName(req.Body.Cluster)); err != nil {
			return nil, err
		}
	}
	if req.Body.Tier != nil || req.Body.Budget != nil {
		if e, err = s.deps.Tenancy.ResizeEnvironment(ctx, p, req.Team, req.Environment, quotaChoice(req.Body.Tier, req.Body.Budget)); err != nil {
			return nil, err
		}
	}
	out, err := s.apiEnvironment(e)
	if err != nil {
		return nil, err
	}
	return api.UpdateEnvironment200JSONResponse(out), nil
}

func (s *Server) DeleteEnvironment(ctx context.Context, req api.DeleteEnvironmentRequestObject) (api.DeleteEnvironmentResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Tenancy.DeleteEnvironment(ctx, p, req.Team, req.Environment); err != nil {
		return nil, err
	}
	return api.DeleteEnvironment204Response{}, nil
}
