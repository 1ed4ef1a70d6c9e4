package server

import (
	"context"
	"fmt"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

// provisioning returns the caller and the provisioning service every service handler needs.
func (s *Server) provisioning(ctx context.Context) (access.Principal, *provision.Service, error) {
	p, err := principal(ctx)
	if err != nil {
		return p, nil, err
	}
	if s.deps.Provision == nil {
		return p, nil, fmt.Errorf("%w: services need a GitOps repository and a cluster; start Berth with --kubeconfig", errs.ErrUnavailable)
	}
	return p, s.deps.Provision, nil
}

func apiRun(r store.Run, team, service string) api.Run {
	out := api.Run{Id: openapi_types.UUID(mustUUID(r.ID)), Team: team, Service: service, Action: r.Action, Status: api.RunStatus(r.Status),
		RequestedBy: r.RequestedBy, CreatedAt: r.CreatedAt, Steps: make([]api.RunStep, len(r.Steps))}
	if r.CommitSHA != "" {
		out.Commit = &r.CommitSHA
	}
	if r.Error != "" {
		out.Error = &r.Error
	}
	if !r.StartedAt.IsZero() {
		out.StartedAt = &r.StartedAt
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = &r.FinishedAt
	}
	for i, st := range r.Steps {
		step := api.RunStep{Name: st.Name, Status: api.RunStepStatus(st.Status)}
		if st.Message != "" {
			step.Message = &st.Message
		}
		if !st.StartedAt.IsZero() {
			step.StartedAt = &st.StartedAt
		}
		if !st.FinishedAt.IsZero() {
			step.FinishedAt = &st.FinishedAt
			d := st.FinishedAt.Sub(st.StartedAt).Milliseconds()
			step.DurationMs = &d
		}
		out.Steps[i] = step
	}
	return out
}

func apiService(v store.Service) api.Service {
	out := api.Service{Name: v.Name, Team: v.TeamName, Blueprint: v.Blueprint, Image: v.Image, Tag: v.Tag, Parameters: v.Parameters,
		Environments: v.Environments, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
	if v.Repo != "" {
		out.Repo = &v.Repo
	}
	return out
}

func (s *Server) CreateService(ctx context.Context, req api.CreateServiceRequestObject) (api.CreateServiceResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := newService(*b)
	if req.Params.DryRun != nil && *req.Params.DryRun {
		svc, warnings, err := prov.DryRun(ctx, p, req.Team, in)
		if err != nil {
			return nil, err
		}
		return api.CreateService200JSONResponse{DryRun: true, Team: svc.TeamName, Name: svc.Name, Blueprint: svc.Blueprint,
			Environments: svc.Environments, Parameters: svc.Parameters, Warnings: append([]string{}, warnings...)}, nil
	}
	run, err := prov.Create(ctx, p, req.Team, in)
	if err != nil {
		return nil, err
	}
	loc := "/api/v1/runs/" + run.ID
	return api.CreateService202JSONResponse{Body: apiRun(run, req.Team, b.Name), Headers: api.CreateService202ResponseHeaders{Location: &loc}}, nil
}

func (s *Server) ListServices(ctx context.Context, req api.ListServicesRequestObject) (api.ListServicesResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	svcs, err := prov.Services(ctx, p, req.Team)
	if err != nil {
		return nil, err
	}
	out := api.ServiceList{Items: make([]api.Service, len(svcs))}
	for i, v := range svcs {
		out.Items[i] = apiService(v)
	}
	return api.ListServices200JSONResponse(out), nil
}

func (s *Server) GetService(ctx context.Context, req api.GetServiceRequestObject) (api.GetServiceResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	st, err := prov.Status(ctx, p, req.Team, req.Service)
	if err != nil {
		return nil, err
	}
	out := api.ServiceDetail{Service: apiService(st.Service), Environments: []api.ServiceEnvironment{}, Runs: []api.Run{}}
	for _, r := range st.Runs {
		out.Runs = append(out.Runs, apiRun(r, req.Team, req.Service))
	}
	for _, e := range st.Environments {
		se := api.ServiceEnvironment{Name: e.Name, Application: e.Application}
		if e.Namespace != "" {
			se.Namespace = &e.Namespace
		}
		if e.Host != "" {
			se.Host, se.Url = &e.Host, &e.URL
		}
		if a := e.Argo; a != nil {
			argoStatus(&se, a)
		} else if e.Error != "" {
			se.Message = &e.Error
		}
		out.Environments = append(out.Environments, se)
	}
	return api.GetService200JSONResponse(out), nil
}

func (s *Server) GetRun(ctx context.Context, req api.GetRunRequestObject) (api.GetRunResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	run, svc, err := prov.Get(ctx, p, req.Run.String())
	if err != nil {
		return nil, err
	}
	return api.GetRun200JSONResponse(apiRun(run, svc.TeamName, svc.Name)), nil
}

func (s *Server) RetryRun(ctx context.Context, req api.RetryRunRequestObject) (api.RetryRunResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	run, err := prov.Retry(ctx, p, req.Run.String())
	if err != nil {
		return nil, err
	}
	_, svc, err := prov.Get(ctx, p, run.ID)
	if err != nil {
		return nil, err
	}
	return api.RetryRun202JSONResponse(apiRun(run, svc.TeamName, svc.Name)), nil
}

func (s *Server) UpdateService(ctx context.Context, req api.UpdateServiceRequestObject) (api.UpdateServiceResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	r := provision.Release{Tag: req.Body.Tag}
	if req.Body.Parameters != nil {
		r.Parameters = *req.Body.Parameters
	}
	run, err := prov.Update(ctx, p, req.Team, req.Service, r)
	if err != nil {
		return nil, err
	}
	loc := "/api/v1/runs/" + run.ID
	return api.UpdateService202JSONResponse{Body: apiRun(run, req.Team, req.Service), Headers: api.UpdateService202ResponseHeaders{Location: &loc}}, nil
}

func (s *Server) RollbackService(ctx context.Context, req api.RollbackServiceRequestObject) (api.RollbackServiceResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	run, err := prov.Rollback(ctx, p, req.Team, req.Service, req.Body.Run.String())
	if err != nil {
		return nil, err
	}
	loc := "/api/v1/runs/" + run.ID
	return api.RollbackService202JSONResponse{Body: apiRun(run, req.Team, req.Service), Headers: api.RollbackService202ResponseHeaders{Location: &loc}}, nil
}

func (s *Server) SyncService(ctx context.Context, req api.SyncServiceRequestObject) (api.SyncServiceResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	env := req.Body.Environment
	app, err := prov.Sync(ctx, p, req.Team, req.Service, env)
	if err != nil {
		return nil, err
	}
	return api.SyncService202JSONResponse{Environment: env, Application: app}, nil
}

// argoStatus copies what Argo CD reports of an environment's Application.
func argoStatus(se *api.ServiceEnvironment, a *argocd.AppStatus) {
	se.Sync, se.Health, se.Revision = &a.Sync, &a.Health, &a.Revision
	if a.Operation != "" {
		se.Operation = &a.Operation
	}
	if a.Message != "" {
		se.Message = &a.Message
	}
	if o := a.OpState; o != nil {
		op := api.ArgoOperation{Phase: o.Phase, StartedAt: o.StartedAt, FinishedAt: o.FinishedAt}
		op.Message, op.Revision, op.InitiatedBy = optional(o.Message), optional(o.Revision), optional(o.InitiatedBy)
		se.OperationState = &op
	}
	history := make([]api.ArgoDeployment, len(a.History))
	for i, h := range a.History {
		history[i] = api.ArgoDeployment{Id: h.ID, Revision: h.Revision, DeployedAt: h.DeployedAt, InitiatedBy: optional(h.InitiatedBy)}
	}
	conditions := make([]api.ArgoCondition, len(a.Conditions))
	for i, c := range a.Conditions {
		conditions[i] = api.ArgoCondition{Type: c.Type, Message: c.Message}
	}
	se.History, se.Conditions = &history, &conditions
}

// optional is nil for an empty string.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optionalBool is nil for false.
func optionalBool(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

func (s *Server) RenderAppFiles(ctx context.Context, req api.RenderAppFilesRequestObject) (api.RenderAppFilesResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	files, err := prov.NewAppFiles(ctx, p, req.Team, newService(*req.Body))
	if err != nil {
		return nil, err
	}
	return api.RenderAppFiles200JSONResponse(apiAppFiles(files)), nil
}

func (s *Server) GetServiceAppFiles(ctx context.Context, req api.GetServiceAppFilesRequestObject) (api.GetServiceAppFilesResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	files, err := prov.AppFiles(ctx, p, req.Team, req.Service)
	if err != nil {
		return nil, err
	}
	return api.GetServiceAppFiles200JSONResponse(apiAppFiles(files)), nil
}

// newService is the request to create a service (or render its files).
func newService(b api.ServiceCreate) provision.NewService {
	in := provision.NewService{Name: b.Name, Blueprint: b.Blueprint, Image: b.Image, Tag: b.Tag, Repo: deref(b.Repo)}
	if b.Parameters != nil {
		in.Parameters = *b.Parameters
	}
	if b.Environments != nil {
		in.Environments = *b.Environments
	}
	return in
}

func apiAppFiles(files []blueprint.File) api.AppFiles {
	out := api.AppFiles{Files: make([]api.AppFile, len(files))}
	for i, f := range files {
		out.Files[i] = api.AppFile{Path: f.Path, Content: string(f.Content)}
	}
	return out
}
