package server

import (
	"context"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/blueprint"
)

func apiBlueprint(bp *blueprint.Blueprint) api.Blueprint {
	s := bp.Spec
	produces := []string{"ServiceAccount", "Deployment"}
	if s.Produces.Service {
		produces = append(produces, "Service", "NetworkPolicy")
	}
	if s.Produces.PublicParameter != "" {
		produces = append(produces, "Ingress (when "+s.Produces.PublicParameter+")")
	}
	if s.Produces.Autoscaling {
		produces = append(produces, "HorizontalPodAutoscaler")
	}
	if s.Produces.DisruptionBudget {
		produces = append(produces, "PodDisruptionBudget")
	}
	if s.Infrastructure.DatabaseParameter != "" {
		produces = append(produces, "PostgreSQL database (when "+s.Infrastructure.DatabaseParameter+")")
	}
	produces = append(produces, "kustomize base and overlays", "Dockerfile", "GitHub Actions pipeline")
	return api.Blueprint{Name: bp.Metadata.Name, Title: bp.Metadata.Title, Description: bp.Metadata.Description,
		Language: api.BlueprintLanguage(s.Runtime.Language), Produces: produces, Source: bp.Source, ParametersSchema: blueprint.JSONSchema(bp)}
}

func (s *Server) ListBlueprints(context.Context, api.ListBlueprintsRequestObject) (api.ListBlueprintsResponseObject, error) {
	out := api.BlueprintList{Items: []api.Blueprint{}}
	for _, bp := range s.deps.Blueprints.List() {
		out.Items = append(out.Items, apiBlueprint(bp))
	}
	return api.ListBlueprints200JSONResponse(out), nil
}

func (s *Server) GetBlueprint(_ context.Context, req api.GetBlueprintRequestObject) (api.GetBlueprintResponseObject, error) {
	bp, err := s.deps.Blueprints.Get(req.Blueprint)
	if err != nil {
		return nil, err
	}
	return api.GetBlueprint200JSONResponse(apiBlueprint(bp)), nil
}

func (s *Server) ValidateBlueprintParameters(_ context.Context, req api.ValidateBlueprintParametersRequestObject) (api.ValidateBlueprintParametersResponseObject, error) {
	bp, err := s.deps.Blueprints.Get(req.Blueprint)
	if err != nil {
		return nil, err
	}
	v, err := blueprint.Resolve(bp, req.Body.Parameters)
	if err != nil {
		return nil, err
	}
	return api.ValidateBlueprintParameters200JSONResponse{Valid: true, Parameters: v}, nil
}
