package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// NewTeam is what a caller gives to create a team.
type NewTeam struct {
	Name, DisplayName, Description string
}

// CreateTeam creates a team and makes the caller its admin.
func (s *Service) CreateTeam(ctx context.Context, p access.Principal, in NewTeam) (store.Team, error) {
	if !s.opts.AnyoneCreatesTeams && !p.PlatformAdmin {
		return store.Team{}, fmt.Errorf("%w: only platform admins create teams here", errs.ErrForbidden)
	}
	if err := ValidateTeamName(in.Name); err != nil {
		return store.Team{}, err
	}
	var envs []store.Environment
	for _, name := range s.opts.Environments {
		ns, err := s.namespaceFor(in.Name, name)
		if errors.Is(err, errs.ErrConflict) {
			return store.Team{}, unavailable("team name", in.Name)
		}
		if err != nil {
			return store.Team{}, err
		}
		envs = append(envs, store.Environment{Name: name, Namespace: ns, Tier: s.opts.DefaultTier})
	}
	// A namespace the name would take is the same answer as a name taken: which one is not said.
	if err := s.namespacesFree(ctx, "", in.Name, envs); errors.Is(err, errs.ErrConflict) {
		return store.Team{}, unavailable("team name", in.Name)
	} else if err != nil {
		return store.Team{}, err
	}
	if max := s.opts.MaxTeamsPerUser; max > 0 && !p.PlatformAdmin {
		n, err := s.store.Q().CountTeamsCreatedBy(ctx, p.Subject)
		if err != nil {
			return store.Team{}, err
		}
		if n >= max {
			return store.Team{}, fmt.Errorf("%w: you have created %d teams, the most one person may (ask a platform admin for more)", errs.ErrForbidden, n)
		}
	}
	now := s.now()
	t := store.Team{ID: audit.NewID(), Name: in.Name, DisplayName: in.DisplayName, Description: in.Description,
		CreatedBy: p.Subject, CreatedAt: now, UpdatedAt: now, Version: 1}
	if t.DisplayName == "" {
		t.DisplayName = t.Name
	}
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTeam(ctx, t); err != nil {
			if errors.Is(err, errs.ErrConflict) {
				return unavailable("team name", t.Name)
			}
			return err
		}
		owner := store.Member{ID: audit.NewID(), TeamID: t.ID, Kind: "user", Name: p.Subject, Role: string(access.Admin), CreatedAt: now, UpdatedAt: now}
		if err := q.CreateMember(ctx, owner); err != nil {
			return err
		}
		namespaces := make([]string, len(envs))
		for i, e := range envs {
			if err := s.insertEnvironment(ctx, q, t, e, now); err != nil {
				return err
			}
			namespaces[i] = e.Namespace
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "team.create", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name,
			Detail: map[string]any{"displayName": t.DisplayName, "namespaces": namespaces}}, now)
	})
	if err != nil {
		return store.Team{}, err
	}
	if s.opts.TeamCreated != nil {
		if err := s.opts.TeamCreated(ctx); err != nil {
			return t, fmt.Errorf("team %s created, but applying identity-provider group mappings failed (they apply at the next change): %w", t.Name, err)
		}
	}
	for _, e := range envs {
		s.notify(e.Namespace)
	}
	return t, nil
}

// GetTeam returns a team the caller can see.
func (s *Service) GetTeam(ctx context.Context, p access.Principal, name string) (store.Team, error) {
	return s.authorize(ctx, s.store.Q(), p, name, access.Viewer)
}

// ListFilter selects teams.
type ListFilter struct {
	NameContains string
	After        string
	Limit        int
}

// ListTeams returns a page of the teams the caller can see and the name to continue after
// ("" on the last page).
func (s *Service) ListTeams(ctx context.Context, p access.Principal, f ListFilter) ([]store.Team, string, error) {
	sf := store.TeamFilter{NameContains: f.NameContains, After: f.After, Limit: f.Limit + 1}
	if !p.PlatformAdmin {
		subj := subjects(p)
		sf.Subjects = &subj
	}
	teams, err := s.store.Q().ListTeams(ctx, sf)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(teams) > f.Limit {
		teams = teams[:f.Limit]
		next = teams[len(teams)-1].Name
	}
	return teams, next, nil
}

// TeamChange is a partial update; nil fields stay as they are.
type TeamChange struct {
	DisplayName *string
	Description *string
}

// UpdateTeam applies a change if ifMatch ("" for any) is the team's current ETag.
func (s *Service) UpdateTeam(ctx context.Context, p access.Principal, name string, ch TeamChange, ifMatch string) (store.Team, error) {
	var out store.Team
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, name, access.Admin)
		if err != nil {
			return err
		}
		if ifMatch != "" && ifMatch != ETag(t) {
			return fmt.Errorf("%w: team %s has changed since %s", errs.ErrPreconditionFailed, name, ifMatch)
		}
		detail := map[string]any{}
		if ch.DisplayName != nil {
			t.DisplayName = *ch.DisplayName
			detail["displayName"] = t.DisplayName
		}
		if ch.Description != nil {
			t.Description = *ch.Description
			detail["description"] = t.Description
		}
		prev := t.Version
		t.Version++
		t.UpdatedAt = s.now()
		if err := q.UpdateTeam(ctx, t, prev); err != nil {
			return err
		}
		out = t
		return audit.Record(ctx, q, p, audit.Entry{Action: "team.update", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name, Detail: detail}, t.UpdatedAt)
	})
	return out, err
}

// DeleteTeam removes a team, its role assignments and environments; the reconciler then
// deletes the team's namespaces.
func (s *Service) DeleteTeam(ctx context.Context, p access.Principal, name, ifMatch string) error {
	if ifMatch != "" {
		if t, err := s.authorize(ctx, s.store.Q(), p, name, access.Admin); err == nil && ifMatch != ETag(t) {
			return fmt.Errorf("%w: team %s has changed since %s", errs.ErrPreconditionFailed, name, ifMatch)
		}
	}
	if err := s.teardown(ctx, p, name, ""); err != nil {
		return err
	}
	var namespaces []string
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, name, access.Admin)
		if err != nil {
			return err
		}
		if ifMatch != "" && ifMatch != ETag(t) {
			return fmt.Errorf("%w: team %s has changed since %s", errs.ErrPreconditionFailed, name, ifMatch)
		}
		if namespaces, err = s.teamNamespaces(ctx, q, t.ID); err != nil {
			return err
		}
		if err := q.DeleteTeam(ctx, t.ID); err != nil {
			return err
		}
		// Overrides are kept by team name: a team created later under the name must not
		// inherit this one's exceptions.
		overrides, err := q.DeleteTeamPolicySettings(ctx, t.Name)
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "team.delete", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name,
			Detail: map[string]any{"namespaces": namespaces, "policyOverrides": overrides}}, s.now())
	})
	if err == nil {
		s.notify(namespaces...)
	}
	return err
}
