package server

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/policy"
)

func (s *Server) policies(ctx context.Context) (access.Principal, *policy.Service, error) {
	p, err := principal(ctx)
	if err != nil {
		return p, nil, err
	}
	if s.deps.Policies == nil {
		return p, nil, fmt.Errorf("%w: policies are not configured", errs.ErrUnavailable)
	}
	return p, s.deps.Policies, nil
}

func apiPolicy(v policy.View) api.Policy {
	pol := v.Policy
	out := api.Policy{Name: pol.Name, Title: pol.Title, Category: pol.Category, Severity: api.PolicySeverity(pol.Severity), Description: pol.Description,
		Remediation: pol.Remediation, Scope: api.PolicyScope(pol.Scope), Mode: api.PolicyMode(v.Mode), Source: api.PolicySource(v.Source)}
	if pol.Parameter != "" {
		out.Parameter = &api.PolicyParameter{Default: pol.Default, Name: pol.Parameter, Value: v.Param}
	}
	if v.Overrides != nil {
		teams := slices.Sorted(maps.Keys(v.Overrides))
		ov := make([]api.PolicyOverride, len(teams))
		for i, t := range teams {
			o := v.Overrides[t]
			ov[i] = api.PolicyOverride{Team: t, Mode: api.PolicyOverrideMode(o.Mode)}
			if o.Param != nil {
				ov[i].Parameter = &o.Param
			}
		}
		out.Overrides = &ov
	}
	return out
}

func (s *Server) ListPolicies(ctx context.Context, _ api.ListPoliciesRequestObject) (api.ListPoliciesResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	views, err := svc.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := api.PolicyList{Items: make([]api.Policy, len(views))}
	for i, v := range views {
		out.Items[i] = apiPolicy(v)
	}
	return api.ListPolicies200JSONResponse(out), nil
}

// setAndRead stores a setting and reads the policy back as it now runs (for team, or
// cluster-wide).
func (s *Server) setAndRead(ctx context.Context, team, name string, body *api.PolicySettingInput) (api.Policy, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return api.Policy{}, err
	}
	set := policy.Setting{Mode: string(body.Mode)}
	if body.Parameter != nil {
		set.Param = *body.Parameter
	}
	if err := svc.Set(ctx, p, team, name, set); err != nil {
		return api.Policy{}, err
	}
	return s.readPolicy(ctx, p, svc, team, name)
}

func (s *Server) readPolicy(ctx context.Context, p access.Principal, svc *policy.Service, team, name string) (api.Policy, error) {
	var views []policy.View
	var err error
	if team == "" {
		views, err = svc.List(ctx, p)
	} else {
		views, err = svc.ForTeam(ctx, p, team)
	}
	if err != nil {
		return api.Policy{}, err
	}
	for _, v := range views {
		if v.Policy.Name == name {
			return apiPolicy(v), nil
		}
	}
	return api.Policy{}, fmt.Errorf("policy %s: %w", name, errs.ErrNotFound)
}

func (s *Server) SetPolicy(ctx context.Context, req api.SetPolicyRequestObject) (api.SetPolicyResponseObject, error) {
	out, err := s.setAndRead(ctx, "", req.Policy, req.Body)
	if err != nil {
		return nil, err
	}
	return api.SetPolicy200JSONResponse(out), nil
}

func (s *Server) ResetPolicy(ctx context.Context, req api.ResetPolicyRequestObject) (api.ResetPolicyResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	if err := svc.Clear(ctx, p, "", req.Policy); err != nil {
		return nil, err
	}
	return api.ResetPolicy204Response{}, nil
}

func (s *Server) ListTeamPolicies(ctx context.Context, req api.ListTeamPoliciesRequestObject) (api.ListTeamPoliciesResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	views, err := svc.ForTeam(ctx, p, req.Team)
	if err != nil {
		return nil, err
	}
	out := api.PolicyList{Items: make([]api.Policy, len(views))}
	for i, v := range views {
		out.Items[i] = apiPolicy(v)
	}
	return api.ListTeamPolicies200JSONResponse(out), nil
}

func (s *Server) SetTeamPolicy(ctx context.Context, req api.SetTeamPolicyRequestObject) (api.SetTeamPolicyResponseObject, error) {
	out, err := s.setAndRead(ctx, req.Team, req.Policy, req.Body)
	if err != nil {
		return nil, err
	}
	return api.SetTeamPolicy200JSONResponse(out), nil
}

func (s *Server) ResetTeamPolicy(ctx context.Context, req api.ResetTeamPolicyRequestObject) (api.ResetTeamPolicyResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	if err := svc.Clear(ctx, p, req.Team, req.Policy); err != nil {
		return nil, err
	}
	return api.ResetTeamPolicy204Response{}, nil
}

// maxCheckObjects bounds the objects one policy check evaluates.
const maxCheckObjects = 200

func (s *Server) CheckPolicies(ctx context.Context, req api.CheckPoliciesRequestObject) (api.CheckPoliciesResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	team := deref(req.Body.Team)
	if team != "" {
		if _, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer); err != nil {
			return nil, err
		}
	}
	objs, err := policy.Parse([]byte(req.Body.Manifests))
	if err != nil {
		return nil, errs.Invalid("/manifests", "not a YAML stream of Kubernetes objects: %v", err)
	}
	if len(objs) == 0 {
		return nil, errs.Invalid("/manifests", "no Kubernetes object (each needs apiVersion and kind)")
	}
	// The body is bounded in bytes (--max-body-bytes); objects are bounded too, since each is
	// evaluated against every policy.
	if len(objs) > maxCheckObjects {
		return nil, errs.Invalid("/manifests", "%d objects; at most %d per check (split the manifests)", len(objs), maxCheckObjects)
	}
	findings, err := svc.Check(ctx, team, deref(req.Body.Namespace), objs)
	if err != nil {
		return nil, err
	}
	out := api.PolicyCheck{Passed: true, Objects: len(objs), Violations: apiViolations(findings)}
	for _, f := range findings {
		if f.Mode == policy.ModeEnforce {
			out.Passed = false
		}
	}
	return api.CheckPolicies200JSONResponse(out), nil
}

func apiViolations(findings []policy.Finding) []api.PolicyViolation {
	out := make([]api.PolicyViolation, len(findings))
	for i, f := range findings {
		out[i] = api.PolicyViolation{Policy: f.Policy, Title: f.Title, Severity: f.Severity, Mode: api.PolicyViolationMode(f.Mode), Rule: f.Policy,
			Kind: f.Kind, Name: f.Name, Message: f.Message, Remediation: f.Remediation}
		if f.Namespace != "" {
			ns := f.Namespace
			out[i].Namespace = &ns
		}
	}
	return out
}

func (s *Server) ListTeamPolicyViolations(ctx context.Context, req api.ListTeamPolicyViolationsRequestObject) (api.ListTeamPolicyViolationsResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	q := req.Params
	f := policy.ViolationFilter{Service: deref(q.Service), Environment: deref(q.Environment), Policy: deref(q.Policy)}
	if q.Limit != nil {
		f.Limit = *q.Limit
	}
	vs, err := svc.Violations(ctx, p, req.Team, f)
	if err != nil {
		return nil, err
	}
	out := api.PolicyViolationReport{Total: vs.Total, Truncated: vs.Truncated, Incomplete: vs.Incomplete,
		ByPolicy: apiCounts(vs.ByPolicy), ByService: apiCounts(vs.ByService), ByEnvironment: apiCounts(vs.ByEnvironment),
		Items: make([]api.ReportedViolation, len(vs.Items))}
	for i, v := range vs.Items {
		out.Items[i] = api.ReportedViolation{Policy: v.Policy, Library: v.Library, Title: optional(v.Title), Severity: optional(v.Severity),
			Remediation: optional(v.Remediation), Rule: optional(v.Rule), Result: api.ReportedViolationResult(v.Result), Message: v.Message,
			Team: v.Team, Cluster: optional(v.Cluster), Environment: v.Environment, Namespace: v.Namespace, Service: optional(v.Service), Kind: v.Kind, Name: v.Name}
		if !v.At.IsZero() {
			out.Items[i].ReportedAt = &v.At
		}
	}
	return api.ListTeamPolicyViolations200JSONResponse(out), nil
}

func apiCounts(cs []policy.Count) []api.ViolationCount {
	out := make([]api.ViolationCount, len(cs))
	for i, c := range cs {
		out[i] = api.ViolationCount{Key: c.Key, Count: c.Count, Title: optional(c.Title), Severity: optional(c.Severity)}
	}
	return out
}

func (s *Server) GetPolicyViolationOverview(ctx context.Context, _ api.GetPolicyViolationOverviewRequestObject) (api.GetPolicyViolationOverviewResponseObject, error) {
	p, svc, err := s.policies(ctx)
	if err != nil {
		return nil, err
	}
	o, err := svc.Overview(ctx, p)
	if err != nil {
		return nil, err
	}
	return api.GetPolicyViolationOverview200JSONResponse(api.PolicyViolationOverview{Total: o.Total, ByTeam: apiCounts(o.ByTeam), ByPolicy: apiCounts(o.ByPolicy), Incomplete: o.Incomplete}), nil
}
