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

// NewMember is a role assignment to make.
type NewMember struct {
	Kind string // user or group
	Name string
	Role access.Role
}

// AddMember gives a user or group a role in a team (team admin).
func (s *Service) AddMember(ctx context.Context, p access.Principal, team string, in NewMember) (store.Member, error) {
	if in.Kind != "user" && in.Kind != "group" {
		return store.Member{}, errs.Invalid("/kind", "must be user or group")
	}
	if !in.Role.Valid() {
		return store.Member{}, errs.Invalid("/role", "must be viewer, editor or admin")
	}
	var m store.Member
	var namespaces []string
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, team, access.Admin)
		if err != nil {
			return err
		}
		now := s.now()
		m = store.Member{ID: audit.NewID(), TeamID: t.ID, TeamName: t.Name, Kind: in.Kind, Name: in.Name, Role: string(in.Role), CreatedAt: now, UpdatedAt: now}
		if err := q.CreateMember(ctx, m); err != nil {
			if errors.Is(err, errs.ErrConflict) {
				return fmt.Errorf("%w: %s %s already has a role in team %s", errs.ErrConflict, in.Kind, in.Name, team)
			}
			return err
		}
		if namespaces, err = s.teamNamespaces(ctx, q, t.ID); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "member.add", Team: t.Name, TeamID: t.ID, Target: memberTarget(m),
			Detail: map[string]any{"role": m.Role}}, now)
	})
	if err == nil {
		s.notify(namespaces...)
	}
	return m, err
}

// GetMember returns one member (team viewer).
func (s *Service) GetMember(ctx context.Context, p access.Principal, team, id string) (store.Member, error) {
	q := s.store.Q()
	t, err := s.authorize(ctx, q, p, team, access.Viewer)
	if err != nil {
		return store.Member{}, err
	}
	return q.MemberByID(ctx, t.ID, id)
}

// MemberFilter selects members.
type MemberFilter struct {
	Kind, Role           string
	AfterKind, AfterName string
	Limit                int
}

// ListMembers returns a page of a team's members and whether there are more.
func (s *Service) ListMembers(ctx context.Context, p access.Principal, team string, f MemberFilter) ([]store.Member, bool, error) {
	q := s.store.Q()
	t, err := s.authorize(ctx, q, p, team, access.Viewer)
	if err != nil {
		return nil, false, err
	}
	ms, err := q.ListMembers(ctx, store.MemberFilter{TeamID: t.ID, Kind: f.Kind, Role: f.Role,
		AfterKind: f.AfterKind, AfterName: f.AfterName, Limit: f.Limit + 1})
	if err != nil {
		return nil, false, err
	}
	if len(ms) > f.Limit {
		return ms[:f.Limit], true, nil
	}
	return ms, false, nil
}

// UpdateMemberRole changes a member's role (team admin). The last admin cannot be demoted.
func (s *Service) UpdateMemberRole(ctx context.Context, p access.Principal, team, id string, role access.Role) (store.Member, error) {
	if !role.Valid() {
		return store.Member{}, errs.Invalid("/role", "must be viewer, editor or admin")
	}
	var m store.Member
	var namespaces []string
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, team, access.Admin)
		if err != nil {
			return err
		}
		if m, err = q.MemberByID(ctx, t.ID, id); err != nil {
			return err
		}
		if m.Role == string(role) {
			return nil // nothing changes, nothing to audit
		}
		if err := keepAnAdmin(ctx, q, t, m); err != nil {
			return err
		}
		from := m.Role
		m.Role, m.UpdatedAt = string(role), s.now()
		if err := q.UpdateMemberRole(ctx, m.ID, m.Role, m.UpdatedAt); err != nil {
			return err
		}
		if namespaces, err = s.teamNamespaces(ctx, q, t.ID); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "member.update", Team: t.Name, TeamID: t.ID, Target: memberTarget(m),
			Detail: map[string]any{"from": from, "role": m.Role}}, m.UpdatedAt)
	})
	if err == nil {
		s.notify(namespaces...)
	}
	return m, err
}

// RemoveMember removes a role assignment (team admin). The last admin cannot be removed.
func (s *Service) RemoveMember(ctx context.Context, p access.Principal, team, id string) error {
	var namespaces []string
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, team, access.Admin)
		if err != nil {
			return err
		}
		m, err := q.MemberByID(ctx, t.ID, id)
		if err != nil {
			return err
		}
		if err := keepAnAdmin(ctx, q, t, m); err != nil {
			return err
		}
		if err := q.DeleteMember(ctx, m.ID); err != nil {
			return err
		}
		if namespaces, err = s.teamNamespaces(ctx, q, t.ID); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "member.remove", Team: t.Name, TeamID: t.ID, Target: memberTarget(m),
			Detail: map[string]any{"role": m.Role}}, s.now())
	})
	if err == nil {
		s.notify(namespaces...)
	}
	return err
}

// keepAnAdmin refuses to take away the team's last admin: nobody could manage it then.
func keepAnAdmin(ctx context.Context, q store.Queries, t store.Team, m store.Member) error {
	if m.Role != string(access.Admin) {
		return nil
	}
	n, err := q.CountRole(ctx, t.ID, string(access.Admin))
	if err != nil {
		return err
	}
	if n <= 1 {
		return fmt.Errorf("%w: %s %s is the last admin of team %s; make someone else admin first", errs.ErrConflict, m.Kind, m.Name, t.Name)
	}
	return nil
}

func memberTarget(m store.Member) string {
	return "team/" + m.TeamName + "/" + m.Kind + "/" + m.Name
}
