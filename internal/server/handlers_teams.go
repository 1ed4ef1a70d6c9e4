package server

import (
	"context"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/tenancy"
)

func (s *Server) CreateTeam(ctx context.Context, req api.CreateTeamRequestObject) (api.CreateTeamResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	t, err := s.deps.Tenancy.CreateTeam(ctx, p, tenancy.NewTeam{Name: b.Name, DisplayName: deref(b.DisplayName), Description: deref(b.Description)})
	if err != nil {
		return nil, err
	}
	loc, etag := "/api/v1/teams/"+t.Name, tenancy.ETag(t)
	return api.CreateTeam201JSONResponse{Body: apiTeam(t), Headers: api.CreateTeam201ResponseHeaders{Location: &loc, ETag: &etag}}, nil
}

func (s *Server) GetTeam(ctx context.Context, req api.GetTeamRequestObject) (api.GetTeamResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.deps.Tenancy.GetTeam(ctx, p, req.Team)
	if err != nil {
		return nil, err
	}
	etag := tenancy.ETag(t)
	if req.Params.IfNoneMatch != nil && *req.Params.IfNoneMatch == etag {
		return api.GetTeam304Response{Headers: api.GetTeam304ResponseHeaders{ETag: &etag}}, nil
	}
	return api.GetTeam200JSONResponse{Body: apiTeam(t), Headers: api.GetTeam200ResponseHeaders{ETag: &etag}}, nil
}

type teamCursor struct {
	After string `json:"a"`
}

func (s *Server) ListTeams(ctx context.Context, req api.ListTeamsRequestObject) (api.ListTeamsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var cur teamCursor
	if err := decodeCursor(req.Params.Cursor, &cur); err != nil {
		return nil, err
	}
	teams, next, err := s.deps.Tenancy.ListTeams(ctx, p, tenancy.ListFilter{NameContains: deref(req.Params.Name), After: cur.After, Limit: limitOf(req.Params.Limit)})
	if err != nil {
		return nil, err
	}
	out := api.TeamList{Items: make([]api.Team, len(teams))}
	for i, t := range teams {
		out.Items[i] = apiTeam(t)
	}
	if next != "" {
		out.NextCursor = encodeCursor(teamCursor{After: next})
	}
	return api.ListTeams200JSONResponse(out), nil
}

func (s *Server) UpdateTeam(ctx context.Context, req api.UpdateTeamRequestObject) (api.UpdateTeamResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.deps.Tenancy.UpdateTeam(ctx, p, req.Team, tenancy.TeamChange{DisplayName: req.Body.DisplayName, Description: req.Body.Description}, deref(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	etag := tenancy.ETag(t)
	return api.UpdateTeam200JSONResponse{Body: apiTeam(t), Headers: api.UpdateTeam200ResponseHeaders{ETag: &etag}}, nil
}

func (s *Server) DeleteTeam(ctx context.Context, req api.DeleteTeamRequestObject) (api.DeleteTeamResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Tenancy.DeleteTeam(ctx, p, req.Team, deref(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteTeam204Response{}, nil
}
