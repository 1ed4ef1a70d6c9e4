package server

import (
	"bytes"
	"context"
	"sync"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/openapi"
	"github.com/prometheus/common/expfmt"
)

func (s *Server) GetHealth(context.Context, api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	return api.GetHealth200JSONResponse{Status: api.HealthStatusOk}, nil
}

// GetReadiness runs every check and note at once, each within checkTimeout, so that the whole
// answer comes within about that however many there are (a kubelet's probe has a time limit too).
func (s *Server) GetReadiness(ctx context.Context, _ api.GetReadinessRequestObject) (api.GetReadinessResponseObject, error) {
	checks := map[string]string{}
	ready := true
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range s.deps.ReadyChecks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			err := check(cctx)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			checks[name] = "ok"
			if err != nil {
				checks[name], ready = withheld(err), false
				s.deps.Log.Warn("readiness check failed", "check", name, "error", err)
			}
		})
	}
	for name, note := range s.deps.ReadyNotes {
		wg.Go(func() {
			v := s.notes.get(ctx, name, note)
			mu.Lock()
			checks[name] = v
			mu.Unlock()
		})
	}
	wg.Wait()
	status := api.HealthStatusOk
	for name := range s.deps.ReadyNotes {
		if checks[name] != "ok" {
			status = api.HealthStatusDegraded
		}
	}
	if !ready {
		return api.GetReadiness503JSONResponse{Status: api.HealthStatusUnavailable, Checks: &checks}, nil
	}
	return api.GetReadiness200JSONResponse{Status: status, Checks: &checks}, nil
}

func (s *Server) GetOpenAPISpec(context.Context, api.GetOpenAPISpecRequestObject) (api.GetOpenAPISpecResponseObject, error) {
	return api.GetOpenAPISpec200ApplicationyamlResponse{Body: bytes.NewReader(openapi.Spec), ContentLength: int64(len(openapi.Spec))}, nil
}

func (s *Server) GetMetrics(context.Context, api.GetMetricsRequestObject) (api.GetMetricsResponseObject, error) {
	families, err := s.metrics.registry.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return nil, err
		}
	}
	return api.GetMetrics200TextResponse(buf.String()), nil
}

func (s *Server) GetMe(ctx context.Context, _ api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	roles, err := s.deps.Tenancy.Memberships(ctx, p)
	if err != nil {
		return nil, err
	}
	teams := make([]api.TeamRole, len(roles))
	for i, r := range roles {
		teams[i] = api.TeamRole{Team: r.Team, Role: api.Role(r.Role)}
	}
	groups := p.Groups
	if groups == nil {
		groups = []string{}
	}
	method := api.MeAuthMethod(p.Method)
	me := api.Me{Subject: p.Subject, PlatformAdmin: p.PlatformAdmin, Groups: groups, Teams: teams, AuthMethod: &method}
	if p.DisplayName != "" {
		me.DisplayName = &p.DisplayName
	}
	return api.GetMe200JSONResponse(me), nil
}

func (s *Server) ListActions(context.Context, api.ListActionsRequestObject) (api.ListActionsResponseObject, error) {
	items := make([]api.ActionDefinition, len(s.actions))
	for i, d := range s.actions {
		ex := make([]api.ActionExample, len(d.Examples))
		for j, e := range d.Examples {
			ex[j] = api.ActionExample{Description: e.Description, Example: e.Example}
		}
		items[i] = api.ActionDefinition{Id: d.ID, Description: d.Description, OperationId: d.OperationID,
			Method: api.ActionDefinitionMethod(d.Method), Path: d.Path, Input: d.Input, Output: d.Output,
			SupportsDryRun: d.SupportsDryRun, Examples: ex, DryRunParameter: optional(d.DryRunParameter),
			Safe: optionalBool(d.Safe), WorkspaceFiles: optional(d.WorkspaceFiles)}
	}
	return api.ListActions200JSONResponse{Items: items}, nil
}
