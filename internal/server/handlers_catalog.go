package server

import (
	"context"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/backstage"
	"github.com/berth-platform/berth/internal/store"
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
	entities := backstage.Entities(teams, s.deps.Blueprints)
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
// services.
func (s *Server) catalogTeams(ctx context.Context, p access.Principal) ([]backstage.Team, error) {
	var out []backstage.Team
	q := s.deps.Store.Q()
	after := ""
	for {
		page, next, err := s.deps.Tenancy.ListTeams(ctx, p, tenancy.ListFilter{After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			bt := backstage.Team{Team: t}
			if bt.Members, err = q.ListMembers(ctx, store.MemberFilter{TeamID: t.ID, Limit: 100000}); err != nil {
				return nil, err
			}
			if bt.Environments, err = q.ListEnvironments(ctx, t.ID); err != nil {
				return nil, err
			}
			if bt.Services, err = q.ListServices(ctx, t.ID); err != nil {
				return nil, err
			}
			out = append(out, bt)
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
