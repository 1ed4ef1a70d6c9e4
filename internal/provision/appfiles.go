package provision

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/backstage"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"sigs.k8s.io/yaml"
)

// AppFiles renders the files a service's application repository holds (team viewer): the
// blueprint's Dockerfile and CI workflow, and catalog-info.yaml.
func (s *Service) AppFiles(ctx context.Context, p access.Principal, team, name string) ([]blueprint.File, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return nil, err
	}
	svc, err := s.deps.Store.Q().ServiceByName(ctx, t.ID, name)
	if err != nil {
		return nil, err
	}
	return s.appFiles(ctx, t, svc)
}

// NewAppFiles renders them for a service as createService would make it, before it exists
// (team editor, as creating it); nothing is stored.
func (s *Service) NewAppFiles(ctx context.Context, p access.Principal, team string, in NewService) ([]blueprint.File, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Editor)
	if err != nil {
		return nil, err
	}
	if _, err := s.deps.Blueprints.Get(in.Blueprint); err != nil {
		return nil, errs.Invalid("/blueprint", "no blueprint %q", in.Blueprint)
	}
	if err := blueprint.CheckRelease(in.Name, in.Image, in.Tag); err != nil {
		return nil, err
	}
	envs, err := s.deps.Store.Q().ListEnvironments(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, name := range in.Environments {
		if !slices.ContainsFunc(envs, func(e store.Environment) bool { return e.Name == name }) {
			return nil, errs.Invalid("/environments", "team %s has no environment %q", team, name)
		}
	}
	svc := store.Service{TeamID: t.ID, TeamName: t.Name, Name: in.Name, Blueprint: in.Blueprint, Image: in.Image, Tag: in.Tag,
		Repo: in.Repo, Parameters: in.Parameters, Environments: in.Environments}
	return s.appFiles(ctx, t, svc)
}

// appFiles renders them for the environments of svc that the team has (a service still naming
// one being deleted is rendered without it).
func (s *Service) appFiles(ctx context.Context, t store.Team, svc store.Service) ([]blueprint.File, error) {
	bp, err := s.deps.Blueprints.Get(svc.Blueprint)
	if err != nil {
		return nil, err
	}
	values, err := blueprint.Resolve(bp, svc.Parameters)
	if err != nil {
		return nil, err
	}
	envs, err := s.deps.Store.Q().ListEnvironments(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	if len(svc.Environments) == 0 {
		for _, e := range envs {
			svc.Environments = append(svc.Environments, e.Name)
		}
	}
	in, err := s.input(svc, bp, envs, values)
	if err != nil {
		return nil, err
	}
	r, err := blueprint.Render(bp, in)
	if err != nil {
		return nil, err
	}
	info, err := catalogInfo(t.Name, svc, s.deps.Blueprints, s.deps.Hosts)
	if err != nil {
		return nil, err
	}
	return append(r.App, info), nil
}

// catalogInfo is the service's catalog-info.yaml: the entities Berth's catalog module provides
// for it, so the repository describes itself as the catalog does. (With the module installed,
// the template does not register the file: the two would provide the same entity.)
func catalogInfo(team string, svc store.Service, blueprints *blueprint.Catalog, hosts blueprint.HostNamer) (blueprint.File, error) {
	var b bytes.Buffer
	for i, e := range backstage.ServiceEntities(team, svc, blueprints, hosts) {
		y, err := yaml.Marshal(e)
		if err != nil {
			return blueprint.File{}, fmt.Errorf("catalog-info.yaml: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return blueprint.File{Path: "catalog-info.yaml", Content: b.Bytes()}, nil
}
