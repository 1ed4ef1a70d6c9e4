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
	"log/slog"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// Mapping gives every active member of an IdP group a role in a team. A team named by name
// is bound to that team's id the first time it exists and stays bound after it is deleted,
// so a later team of the same name does not inherit the group; TeamID names one directly.
type Mapping struct {
	Group  string
	Team   string
	TeamID string
	Role   access.Role
}

func (m Mapping) String() string {
	if m.TeamID != "" {
		return fmt.Sprintf("%s=id:%s:%s", m.Group, m.TeamID, m.Role)
	}
	return fmt.Sprintf("%s=%s:%s", m.Group, m.Team, m.Role)
}

// ParseMapping reads GROUP=TEAM:ROLE, or GROUP=id:TEAM-ID:ROLE.
func ParseMapping(s string) (Mapping, error) {
	g, err := config.ParseGroupRole(s)
	if err != nil {
		return Mapping{}, fmt.Errorf("group mapping %w", err)
	}
	return Mapping{Group: g.Group, Team: g.Team, TeamID: g.TeamID, Role: access.Role(g.Role)}, nil
}

// Service applies what the IdP provisions.
type Service struct {
	store      *store.Store
	mappings   []Mapping
	userPrefix string
	notify     func(namespaces ...string)
	log        *slog.Logger
	now        func() time.Time
}

// NewService returns the sync service. userPrefix turns a SCIM userName into the subject
// Berth and Kubernetes know the user by (the same prefix as --oidc-user-prefix).
func NewService(st *store.Store, mappings []Mapping, userPrefix string, notify func(namespaces ...string), log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, mappings: mappings, userPrefix: userPrefix, notify: notify, log: log,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

var idp = access.Principal{Identity: auth.Identity{Subject: "scim", Method: "scim"}}

// change runs fn and the membership sync in one transaction, audits it, then tells the
// reconciler which namespaces to look at.
func (s *Service) change(ctx context.Context, action, target string, fn func(q store.Queries) error) error {
	_, err := s.changeReporting(ctx, action, target, fn)
	return err
}

// changeReporting is change, also returning the mappings whose team was deleted.
func (s *Service) changeReporting(ctx context.Context, action, target string, fn func(q store.Queries) error) ([]Mapping, error) {
	var namespaces []string
	var gone []Mapping
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := fn(q); err != nil {
			return err
		}
		teams, lost, err := s.sync(ctx, q)
		if err != nil {
			return err
		}
		gone = lost
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
	return gone, err
}

// sync recomputes the memberships that the mappings give. It returns the teams whose members
// changed and the mappings left without a team because theirs was deleted.
func (s *Service) sync(ctx context.Context, q store.Queries) (changed []string, gone []Mapping, err error) {
	best := map[[2]string]access.Role{}
	for _, m := range s.mappings {
		teamID, ok, err := s.resolve(ctx, q, m)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			gone = append(gone, m)
			continue
		}
		if teamID == "" {
			continue // mapped before the team exists; it applies once the team does
		}
		users, err := q.ActiveMembersOfGroup(ctx, m.Group)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range users {
			k := [2]string{teamID, s.userPrefix + u}
			best[k] = access.Highest(best[k], m.Role)
		}
	}
	want := make([]store.SyncedMember, 0, len(best))
	for k, r := range best {
		want = append(want, store.SyncedMember{TeamID: k[0], Subject: k[1], Role: string(r)})
	}
	changed, err = q.ReplaceSyncedMembers(ctx, want, audit.NewID, s.now())
	return changed, gone, err
}

// resolve returns the id of the team a mapping gives roles in ("" while no team of its name
// has existed), and false when that team was deleted.
func (s *Service) resolve(ctx context.Context, q store.Queries, m Mapping) (string, bool, error) {
	if m.TeamID != "" {
		ok, err := q.TeamExists(ctx, m.TeamID)
		return m.TeamID, ok, err
	}
	t, err := q.ResolveMappingTeam(ctx, m.Group, m.Team, s.now())
	if errors.Is(err, errs.ErrNotFound) {
		return "", true, nil
	}
	if err != nil {
		return "", false, err
	}
	return t.TeamID, !t.Gone, nil
}

// Resync recomputes memberships without an IdP change (at start, and after teams change),
// and warns of mappings whose team was deleted: a new team of the same name gets no roles
// from them until the mapping names it by id.
func (s *Service) Resync(ctx context.Context) error {
	gone, err := s.changeReporting(ctx, "scim.resync", "mappings", func(store.Queries) error { return nil })
	for _, m := range gone {
		s.log.Warn("an identity-provider group mapping's team was deleted; it gives no roles, and a new team of the same name does not inherit it (name that team by id: GROUP=id:TEAM-ID:ROLE)",
			"mapping", m.String())
	}
	return err
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
