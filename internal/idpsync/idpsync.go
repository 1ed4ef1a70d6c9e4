// Package idpsync is the access capability's link to the identity provider: users and groups
// provisioned over SCIM 2.0 (internal/scim speaks the protocol) and the configured mappings
// from IdP groups to team roles. After every change it recomputes the team memberships the
// mappings give, in the same transaction, so that deactivating a user or taking them out of
// a group removes their roles, and the tenancy reconciler their role bindings, within seconds.
package idpsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// Mapping gives every active member of an IdP group a role in a team.
type Mapping struct {
	Group string
	Team  string
	Role  access.Role
}

// ParseMapping reads GROUP=TEAM:ROLE.
func ParseMapping(s string) (Mapping, error) {
	group, rest, ok := strings.Cut(s, "=")
	team, role, ok2 := strings.Cut(rest, ":")
	m := Mapping{Group: strings.TrimSpace(group), Team: strings.TrimSpace(team), Role: access.Role(strings.TrimSpace(role))}
	if !ok || !ok2 || m.Group == "" || m.Team == "" || !m.Role.Valid() {
		return Mapping{}, fmt.Errorf("group mapping %q: want GROUP=TEAM:ROLE with ROLE viewer, editor or admin", s)
	}
	return m, nil
}

// Service applies what the IdP provisions.
type Service struct {
	store      *store.Store
	mappings   []Mapping
	userPrefix string
	notify     func(namespaces ...string)
	now        func() time.Time
}

// NewService returns the sync service. userPrefix turns a SCIM userName into the subject
// Berth and Kubernetes know the user by (the same prefix as --oidc-user-prefix).
func NewService(st *store.Store, mappings []Mapping, userPrefix string, notify func(namespaces ...string)) *Service {
	return &Service{store: st, mappings: mappings, userPrefix: userPrefix, notify: notify,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

var idp = access.Principal{Identity: auth.Identity{Subject: "scim", Method: "scim"}}

// change runs fn and the membership sync in one transaction, audits it, then tells the
// reconciler which namespaces to look at.
func (s *Service) change(ctx context.Context, action, target string, fn func(q store.Queries) error) error {
	var namespaces []string
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := fn(q); err != nil {
			return err
		}
		teams, err := s.sync(ctx, q)
		if err != nil {
			return err
		}
		for _, t := range teams {
			envs, err := q.ListEnvironments(ctx, t)
			if err != nil {
				return err
			}
			for _, e := range envs {
				namespaces = append(namespaces, e.Namespace)
			}
		}
		return audit.Record(ctx, q, idp, audit.Entry{Action: action, Target: target}, s.now())
	})
	if err == nil && s.notify != nil && len(namespaces) > 0 {
		s.notify(namespaces...)
	}
	return err
}

// sync recomputes the memberships that the mappings give.
func (s *Service) sync(ctx context.Context, q store.Queries) ([]string, error) {
	best := map[[2]string]access.Role{}
	for _, m := range s.mappings {
		t, err := q.TeamByName(ctx, m.Team)
		if errors.Is(err, errs.ErrNotFound) {
			continue // mapped before the team exists; it applies once the team does
		}
		if err != nil {
			return nil, err
		}
		users, err := q.ActiveMembersOfGroup(ctx, m.Group)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			k := [2]string{t.ID, s.userPrefix + u}
			best[k] = access.Highest(best[k], m.Role)
		}
	}
	want := make([]store.SyncedMember, 0, len(best))
	for k, r := range best {
		want = append(want, store.SyncedMember{TeamID: k[0], Subject: k[1], Role: string(r)})
	}
	return q.ReplaceSyncedMembers(ctx, want, audit.NewID, s.now())
}

// Resync recomputes memberships without an IdP change (at start, and after teams change).
func (s *Service) Resync(ctx context.Context) error {
	return s.change(ctx, "scim.resync", "mappings", func(store.Queries) error { return nil })
}

// CreateUser provisions a user.
func (s *Service) CreateUser(ctx context.Context, u store.SCIMUser) (store.SCIMUser, error) {
	now := s.now()
	u.ID, u.Version, u.CreatedAt, u.UpdatedAt = audit.NewID(), 1, now, now
	err := s.change(ctx, "scim.user.create", "user/"+u.UserName, func(q store.Queries) error {
		if err := q.PutSCIMUser(ctx, u, true); err != nil {
			return dupe(err, "userName", u.UserName)
		}
		return nil
	})
	return u, err
}

// UpdateUser replaces a user with what update makes of the current one.
func (s *Service) UpdateUser(ctx context.Context, id string, update func(store.SCIMUser) (store.SCIMUser, error)) (store.SCIMUser, error) {
	var out store.SCIMUser
	err := s.change(ctx, "scim.user.update", "user/"+id, func(q store.Queries) error {
		cur, err := q.SCIMUserByID(ctx, id)
		if err != nil {
			return err
		}
		next, err := update(cur)
		if err != nil {
			return err
		}
		next.ID, next.CreatedAt, next.Version, next.UpdatedAt = cur.ID, cur.CreatedAt, cur.Version+1, s.now()
		if err := q.PutSCIMUser(ctx, next, false); err != nil {
			return dupe(err, "userName", next.UserName)
		}
		out = next
		return nil
	})
	return out, err
}

// DeleteUser deprovisions a user.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	return s.change(ctx, "scim.user.delete", "user/"+id, func(q store.Queries) error { return q.DeleteSCIMUser(ctx, id) })
}

// CreateGroup provisions a group.
func (s *Service) CreateGroup(ctx context.Context, g store.SCIMGroup) (store.SCIMGroup, error) {
	now := s.now()
	g.ID, g.Version, g.CreatedAt, g.UpdatedAt = audit.NewID(), 1, now, now
	err := s.change(ctx, "scim.group.create", "group/"+g.DisplayName, func(q store.Queries) error {
		if err := s.checkMembers(ctx, q, g.Members); err != nil {
			return err
		}
		if err := q.PutSCIMGroup(ctx, g, true); err != nil {
			return dupe(err, "displayName", g.DisplayName)
		}
		return nil
	})
	return g, err
}

// UpdateGroup replaces a group with what update makes of the current one.
func (s *Service) UpdateGroup(ctx context.Context, id string, update func(store.SCIMGroup) (store.SCIMGroup, error)) (store.SCIMGroup, error) {
	var out store.SCIMGroup
	err := s.change(ctx, "scim.group.update", "group/"+id, func(q store.Queries) error {
		cur, err := q.SCIMGroupByID(ctx, id)
		if err != nil {
			return err
		}
		next, err := update(cur)
		if err != nil {
			return err
		}
		if err := s.checkMembers(ctx, q, next.Members); err != nil {
			return err
		}
		next.ID, next.CreatedAt, next.Version, next.UpdatedAt = cur.ID, cur.CreatedAt, cur.Version+1, s.now()
		if err := q.PutSCIMGroup(ctx, next, false); err != nil {
			return dupe(err, "displayName", next.DisplayName)
		}
		out = next
		return nil
	})
	return out, err
}

// DeleteGroup deprovisions a group.
func (s *Service) DeleteGroup(ctx context.Context, id string) error {
	return s.change(ctx, "scim.group.delete", "group/"+id, func(q store.Queries) error { return q.DeleteSCIMGroup(ctx, id) })
}

func (s *Service) checkMembers(ctx context.Context, q store.Queries, ids []string) error {
	for _, id := range ids {
		if _, err := q.SCIMUserByID(ctx, id); errors.Is(err, errs.ErrNotFound) {
			return errs.Invalid("/members", "no user with id %q", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func dupe(err error, attr, value string) error {
	if errors.Is(err, errs.ErrConflict) {
		return fmt.Errorf("%w: %s %q is already taken", errs.ErrConflict, attr, value)
	}
	return err
}

// Store exposes reads to the protocol layer.
func (s *Service) Store() store.Queries { return s.store.Q() }
