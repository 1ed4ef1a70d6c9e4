package provision

import (
	"context"
	"fmt"
	"slices"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/store"
)

// Teardown removes what a team's services left outside the database, before the team (env
// "") or one of its environments is deleted: first the Argo CD Applications (so nothing syncs
// any more), then the team's AppProject (the whole team only), then the GitOps files, in one
// commit. The namespaces go after, with the environment rows (tenancy's reconciler). Every
// step is idempotent: a teardown cut short is done again by the retried deletion, and until it
// succeeds nothing is deleted from the database.
func (s *Service) Teardown(ctx context.Context, team store.Team, env string) error {
	q := s.deps.Store.Q()
	services, err := q.ListServices(ctx, team.ID)
	if err != nil {
		return err
	}
	owner := argocd.Team{ID: team.ID, Name: team.Name}
	if s.deps.Argo != nil && s.deps.Argo.Installed(ctx) == nil {
		if _, err := s.deps.Argo.RemoveApplications(ctx, owner, "", env); err != nil {
			return err
		}
		if env == "" {
			if err := s.deps.Argo.RemoveProject(ctx, owner); err != nil {
				return err
			}
		}
	}
	var remove []string
	if env == "" {
		remove = []string{"teams/" + team.Name}
	} else {
		for _, svc := range services {
			if slices.Contains(svc.Environments, env) {
				remove = append(remove, blueprint.ServiceDir(team.Name, svc.Name)+"overlays/"+env)
			}
		}
	}
	if len(remove) > 0 {
		what := "team " + team.Name
		if env != "" {
			what = "environment " + env + " of team " + team.Name
		}
		if _, err := s.deps.Repo.Commit(ctx, gitops.Change{Remove: remove, Message: "Remove " + what,
			Author: gitops.Author{Name: "Berth", Email: "berth@localhost"}}); err != nil {
			return fmt.Errorf("remove the GitOps files of %s: %w", what, err)
		}
	}
	if err := s.dropDatabases(ctx, team, services, env); err != nil {
		return err
	}
	if env == "" {
		return nil
	}
	// The services stop naming the environment, so their next runs do not look for it.
	now := s.now()
	return s.deps.Store.Tx(ctx, func(q store.Queries) error {
		for _, svc := range services {
			if i := slices.Index(svc.Environments, env); i >= 0 {
				if err := q.SetServiceEnvironments(ctx, svc.ID, slices.Delete(slices.Clone(svc.Environments), i, i+1), now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// dropDatabases drops the databases of the removed environments when DropDatabases says so;
// otherwise they are retained, and the log names each (their data outlives the services).
func (s *Service) dropDatabases(ctx context.Context, team store.Team, services []store.Service, env string) error {
	if s.deps.Databases == nil {
		return nil
	}
	for _, svc := range services {
		if !s.hasDatabase(svc) {
			continue
		}
		for _, e := range svc.Environments {
			if env != "" && e != env {
				continue
			}
			t := databases.Target{TeamID: team.ID, Team: team.Name, Service: svc.Name, Env: e}
			if !s.deps.DropDatabases {
				s.deps.Log.Info("database retained (--service-databases-deletion=retain); drop it by hand when its data is no longer needed",
					"team", team.Name, "service", svc.Name, "environment", e, "database", databases.Name(t))
				continue
			}
			if err := s.deps.Databases.Drop(ctx, t); err != nil {
				return fmt.Errorf("drop the database of %s/%s in %s: %w", team.Name, svc.Name, e, err)
			}
		}
	}
	return nil
}

// hasDatabase says whether a service's parameters ask for a database.
func (s *Service) hasDatabase(svc store.Service) bool {
	bp, err := s.deps.Blueprints.Get(svc.Blueprint)
	if err != nil {
		return true // unknown now: Drop of a database that does not exist does nothing
	}
	values, err := blueprint.Resolve(bp, svc.Parameters)
	if err != nil {
		return true
	}
	return blueprint.FootprintOf(bp, svc.TeamName, svc.Name, values).DatabaseSecret != ""
}
