package server

import (
	"context"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/backstage"
	"github.com/berth-platform/berth/internal/tenancy"
)

func (s *Server) ListCatalogEntities(ctx context.Context, req api.ListCatalogEntitiesRequestObject) (api.ListCatalogEntitiesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := s.catalogTeams(ctx, p)
	if err != nil {
		return nil, err
	}
	entities := backstage.Entities(teams, s.deps.Blueprints, s.deps.Hosts)
	etag := backstage.ETag(entities)
	if req.Params.IfNoneMatch != nil && *req.Params.IfNoneMatch == etag {
		return api.ListCatalogEntities304Response{Headers: api.ListCatalogEntities304ResponseHeaders{ETag: &etag}}, nil
	}
	out := api.CatalogEntityList{Items: make([]api.CatalogEntity, len(entities))}
	for i, e := range entities {
		out.Items[i] = apiEntity(e)
	}
	return api.ListCatalogEntities200JSONResponse{Body: out, Headers: api.ListCatalogEntities200ResponseHeaders{ETag: &etag}}, nil
}

// catalogTeams reads every team the caller can view with its members, environments and
// services: four queries per page of 200 teams.
func (s *Server) catalogTeams(ctx context.Context, p access.Principal) ([]backstage.Team, error) {
	var out []backstage.Team
	q := s.deps.Store.Q()
	after := ""
	for {
		page, next, err := s.deps.Tenancy.ListTeams(ctx, p, tenancy.ListFilter{After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		// One query each for the page's members, environments and services.
		ids := make([]string, len(page))
		byID := map[string]*backstage.Team{}
		start := len(out)
		for i, t := range page {
			ids[i] = t.ID
			out = append(out, backstage.Team{Team: t})
		}
		for i := start; i < len(out); i++ {
			byID[out[i].Team.ID] = &out[i]
		}
		members, err := q.MembersOfTeams(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			byID[m.TeamID].Members = append(byID[m.TeamID].Members, m)
		}
		envs, err := q.EnvironmentsOfTeams(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, e := range envs {
			byID[e.TeamID].Environments = append(byID[e.TeamID].Environments, e)
		}
		svcs, err := q.ServicesOfTeams(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, sv := range svcs {
			byID[sv.TeamID].Services = append(byID[sv.TeamID].Services, sv)
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

func apiEntity(e backstage.Entity) api.CatalogEntity {
	m := e.Metadata
	meta := api.CatalogEntityMetadata{Name: m.Name, Namespace: m.Namespace, Title: optional(m.Title), Description: optional(m.Description)}
	if len(m.Annotations) > 0 {
		meta.Annotations = &m.Annotations
	}
	if len(m.Labels) > 0 {
		meta.Labels = &m.Labels
	}
	if len(m.Tags) > 0 {
		meta.Tags = &m.Tags
	}
	if len(m.Links) > 0 {
		links := make([]api.CatalogLink, len(m.Links))
		for i, l := range m.Links {
			links[i] = api.CatalogLink{Url: l.URL, Title: optional(l.Title)}
		}
		meta.Links = &links
	}
	return api.CatalogEntity{ApiVersion: e.APIVersion, Kind: api.CatalogEntityKind(e.Kind), Metadata: meta, Spec: e.Spec}
}
