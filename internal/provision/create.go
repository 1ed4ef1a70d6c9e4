package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// Create validates a service, stores it with a queued run, and starts the run (team editor).
func (s *Service) Create(ctx context.Context, p access.Principal, team string, in NewService) (store.Run, error) {
	pr, err := s.prepare(ctx, p, team, in)
	if err != nil {
		return store.Run{}, err
	}
	t, svc, now := pr.team, pr.svc, pr.svc.CreatedAt
	run := newRun(t.ID, svc.ID, "create", svc.Tag, svc.Parameters, p, now)
	err = s.deps.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateService(ctx, svc); err != nil {
			if errors.Is(err, errs.ErrConflict) {
				return fmt.Errorf("%w: team %s already has a service %s", errs.ErrConflict, team, in.Name)
			}
			return err
		}
		if err := claimHosts(ctx, q, svc, pr.hosts); err != nil {
			return err
		}
		if err := q.CreateRun(ctx, run); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "service.create", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/service/" + in.Name,
			Detail: map[string]any{"blueprint": in.Blueprint, "run": run.ID, "environments": svc.Environments}}, now)
	})
	if err != nil {
		return store.Run{}, err
	}
	s.enqueue(run.ID)
	return run, nil
}

// prepared is a service request that passed every check but the name's uniqueness.
type prepared struct {
	team     store.Team
	svc      store.Service
	hosts    map[string]string // environment to public host
	warnings []string
}

// prepare checks a request to create a service as Create and DryRun share it: access,
// blueprint and parameters, environments, release, and the policy preflight.
func (s *Service) prepare(ctx context.Context, p access.Principal, team string, in NewService) (prepared, error) {
	t, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Editor)
	if err != nil {
		return prepared{}, err
	}
	bp, err := s.deps.Blueprints.Get(in.Blueprint)
	if err != nil {
		return prepared{}, errs.Invalid("/blueprint", "no blueprint %q", in.Blueprint)
	}
	values, err := blueprint.Resolve(bp, in.Parameters)
	if err != nil {
		return prepared{}, err
	}
	envs, err := s.deps.Tenancy.ListEnvironments(ctx, p, team)
	if err != nil {
		return prepared{}, err
	}
	known := map[string]bool{}
	var all []string
	for _, e := range envs {
		known[e.Name] = true
		all = append(all, e.Name)
	}
	if len(in.Environments) == 0 {
		in.Environments = all
	}
	for _, e := range in.Environments {
		if !known[e] {
			return prepared{}, errs.Invalid("/environments", "team %s has no environment %q", team, e)
		}
	}
	if err := blueprint.CheckRelease(in.Name, in.Image, in.Tag); err != nil {
		return prepared{}, err
	}
	params := map[string]any{}
	for k, v := range values {
		params[k] = v
	}
	now := s.now()
	svc := store.Service{ID: audit.NewID(), TeamID: t.ID, TeamName: t.Name, Name: in.Name, Blueprint: in.Blueprint, Image: in.Image, Tag: in.Tag,
		Repo: in.Repo, Parameters: params, Environments: in.Environments, CreatedBy: p.Subject, CreatedAt: now, UpdatedAt: now}
	rin, err := s.input(svc, bp, envs, values)
	if err != nil {
		return prepared{}, err
	}
	hosts := hostsOf(rin)
	if err := s.hostsFree(ctx, s.deps.Store.Q(), svc.ID, hosts); err != nil {
		return prepared{}, err
	}
	warnings, err := s.checkPolicies(ctx, svc, bp, rin)
	if err != nil {
		return prepared{}, err
	}
	room, err := s.quotaRoom(svc, envs, blueprint.FootprintOf(bp, t.Name, in.Name, values), nil)
	if err != nil {
		return prepared{}, err
	}
	return prepared{team: t, svc: svc, hosts: hosts, warnings: append(warnings, room...)}, nil
}

// DryRun checks a request to create a service as Create would, and changes nothing: it
// answers the service as it would be made and the audited policies' warnings.
func (s *Service) DryRun(ctx context.Context, p access.Principal, team string, in NewService) (store.Service, []string, error) {
	pr, err := s.prepare(ctx, p, team, in)
	if err != nil {
		return store.Service{}, nil, err
	}
	if _, err := s.deps.Store.Q().ServiceByName(ctx, pr.team.ID, in.Name); err == nil {
		return store.Service{}, nil, fmt.Errorf("%w: team %s already has a service %s", errs.ErrConflict, team, in.Name)
	} else if !errors.Is(err, errs.ErrNotFound) {
		return store.Service{}, nil, err
	}
	return pr.svc, pr.warnings, nil
}
