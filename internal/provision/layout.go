package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/store"
)

// legacyDir is where services lived before the repository put every file under its team.
const legacyDir = "services"

// MigrateLayout moves a GitOps repository of the old layout (services/<service>/..., shared
// by all teams, so two teams' services of one name wrote the same files) to the team-scoped
// one (teams/<team>/services/<service>/...). Every service is rendered again from what Berth
// stores and written under its team, and services/ is removed, in one commit. Before that, the
// Applications of the old layout are deleted without cascading and the new ones are made (they
// wait for the commit), so nothing that runs is pruned on the way. A repository without
// services/ is left alone: running it again changes nothing.
func (s *Service) MigrateLayout(ctx context.Context) (bool, error) {
	has, err := s.deps.Repo.HasPath(ctx, legacyDir)
	if err != nil || !has {
		return false, err
	}
	q := s.deps.Store.Q()
	services, err := q.AllServices(ctx)
	if err != nil {
		return false, err
	}
	type moved struct {
		svc   store.Service
		envs  []store.Environment
		hosts map[string]string
	}
	var files []blueprint.File
	var all []moved
	for _, svc := range services {
		if svc.Tag == "" {
			continue
		}
		m, r, err := s.renderStored(ctx, svc)
		if err != nil {
			return false, fmt.Errorf("service %s/%s: %w", svc.TeamName, svc.Name, err)
		}
		files = append(files, r.GitOps...)
		all = append(all, moved{svc: svc, envs: m.envs, hosts: hostsOf(m.in)})
	}
	if s.deps.Argo != nil && s.deps.Argo.Installed(ctx) == nil {
		if _, err := s.deps.Argo.RemoveUnowned(ctx); err != nil {
			return false, fmt.Errorf("remove the old layout's applications: %w", err)
		}
		for _, m := range all {
			if err := s.ensureApplications(ctx, m.svc, m.envs); err != nil {
				return false, err
			}
		}
	}
	var names []string
	for _, m := range all {
		names = append(names, m.svc.TeamName+"/"+m.svc.Name)
	}
	if _, err := s.deps.Repo.Commit(ctx, gitops.Change{Write: files, Remove: []string{legacyDir},
		Message: "Move every service under its team (teams/<team>/services/<service>)\n\n" + strings.Join(names, "\n"),
		Author:  gitops.Author{Name: "Berth", Email: "berth@localhost"}}); err != nil {
		return false, err
	}
	err = s.deps.Store.Tx(ctx, func(q store.Queries) error {
		for _, m := range all {
			if err := claimHosts(ctx, q, m.svc, m.hosts); err != nil {
				return fmt.Errorf("%s/%s: %w", m.svc.TeamName, m.svc.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		s.deps.Log.Warn("layout migration: hosts not recorded (two services share one; the next change of either says so)", "error", err)
	}
	if s.deps.Argo != nil {
		for _, m := range all {
			for _, e := range m.envs {
				_ = s.deps.Argo.Refresh(ctx, argocd.AppName(ownerOf(m.svc), m.svc.Name, e.Name))
			}
		}
	}
	return true, nil
}

// rendered is a service's input as stored, with its environments.
type rendered struct {
	in   blueprint.Input
	envs []store.Environment
}

// renderStored renders a service from what the database says it is.
func (s *Service) renderStored(ctx context.Context, svc store.Service) (rendered, blueprint.Rendered, error) {
	bp, err := s.deps.Blueprints.Get(svc.Blueprint)
	if err != nil {
		return rendered{}, blueprint.Rendered{}, err
	}
	values, err := blueprint.Resolve(bp, svc.Parameters)
	if err != nil {
		return rendered{}, blueprint.Rendered{}, err
	}
	envs, err := s.deps.Store.Q().ListEnvironments(ctx, svc.TeamID)
	if err != nil {
		return rendered{}, blueprint.Rendered{}, err
	}
	var mine []store.Environment
	for _, e := range envs {
		if e.Cluster == "" && slices.Contains(svc.Environments, e.Name) {
			mine = append(mine, e)
		}
	}
	in, err := s.input(svc, bp, mine, values)
	if err != nil {
		return rendered{}, blueprint.Rendered{}, err
	}
	r, err := blueprint.Render(bp, in)
	return rendered{in: in, envs: mine}, r, err
}
