package store

import (
	"context"
	"fmt"
	"github.com/berth-platform/berth/internal/errs"
	"time"
)

// SCIMUser is a user provisioned by the identity provider. Attributes keeps the rest of
// the SCIM representation (name, emails, ...) as JSON.
type SCIMUser struct {
	ID          string    `db:"id"`
	UserName    string    `db:"user_name"`
	ExternalID  string    `db:"external_id"`
	DisplayName string    `db:"display_name"`
	Active      bool      `db:"-"`
	Attributes  string    `db:"attributes"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"-"`
	UpdatedAt   time.Time `db:"-"`
}

// SCIMGroup is a group provisioned by the identity provider, with its members' user ids.
type SCIMGroup struct {
	ID          string    `db:"id"`
	DisplayName string    `db:"display_name"`
	ExternalID  string    `db:"external_id"`
	Version     int64     `db:"version"`
	Members     []string  `db:"-"`
	CreatedAt   time.Time `db:"-"`
	UpdatedAt   time.Time `db:"-"`
}

type scimUserRow struct {
	SCIMUser
	ActiveInt   int64 `db:"active"`
	CreatedAtUS int64 `db:"created_at"`
	UpdatedAtUS int64 `db:"updated_at"`
}

type scimGroupRow struct {
	SCIMGroup
	CreatedAtUS int64 `db:"created_at"`
	UpdatedAtUS int64 `db:"updated_at"`
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

const scimUserCols = "id, user_name, external_id, display_name, active, attributes, version, created_at, updated_at"

func (r scimUserRow) user() SCIMUser {
	u := r.SCIMUser
	u.Active, u.CreatedAt, u.UpdatedAt = r.ActiveInt != 0, fromMicros(r.CreatedAtUS), fromMicros(r.UpdatedAtUS)
	return u
}

// PutSCIMUser inserts or replaces a user; a userName taken by another user is ErrConflict.
func (q Queries) PutSCIMUser(ctx context.Context, u SCIMUser, create bool) error {
	var err error
	if create {
		_, err = q.exec(ctx, "INSERT INTO scim_users ("+scimUserCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			u.ID, u.UserName, u.ExternalID, u.DisplayName, boolInt(u.Active), u.Attributes, u.Version, micros(u.CreatedAt), micros(u.UpdatedAt))
	} else {
		_, err = q.exec(ctx, "UPDATE scim_users SET user_name = ?, external_id = ?, display_name = ?, active = ?, attributes = ?, version = ?, updated_at = ? WHERE id = ?",
			u.UserName, u.ExternalID, u.DisplayName, boolInt(u.Active), u.Attributes, u.Version, micros(u.UpdatedAt), u.ID)
	}
	if err != nil {
		return fmt.Errorf("scim user %s: %w", u.UserName, err)
	}
	return nil
}

// SCIMUserByID returns a user or ErrNotFound.
func (q Queries) SCIMUserByID(ctx context.Context, id string) (SCIMUser, error) {
	var r scimUserRow
	if err := q.get(ctx, &r, "SELECT "+scimUserCols+" FROM scim_users WHERE id = ?", id); err != nil {
		return SCIMUser{}, fmt.Errorf("scim user %s: %w", id, err)
	}
	return r.user(), nil
}

// ListSCIMUsers returns users, optionally those whose attr ("userName", "externalId",
// "displayName" or "id") equals value, ordered by userName, from offset, at most limit.
func (q Queries) ListSCIMUsers(ctx context.Context, attr, value string, offset, limit int) ([]SCIMUser, int, error) {
	where, args := scimWhere(attr, value, map[string]string{"userName": "user_name", "externalId": "external_id", "displayName": "display_name", "id": "id"})
	var total int
	if err := q.get(ctx, &total, "SELECT COUNT(*) FROM scim_users"+where, args...); err != nil {
		return nil, 0, err
	}
	var rows []scimUserRow
	if err := q.selectAll(ctx, &rows, "SELECT "+scimUserCols+" FROM scim_users"+where+" ORDER BY user_name LIMIT ? OFFSET ?", append(args, limit, offset)...); err != nil {
		return nil, 0, err
	}
	out := make([]SCIMUser, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, total, nil
}

func scimWhere(attr, value string, cols map[string]string) (string, []any) {
	if col, ok := cols[attr]; ok {
		return " WHERE " + col + " = ?", []any{value}
	}
	return "", nil
}

// DeleteSCIMUser removes a user and their group memberships.
func (q Queries) DeleteSCIMUser(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, "DELETE FROM scim_group_members WHERE user_id = ?", id); err != nil {
		return err
	}
	n, err := q.exec(ctx, "DELETE FROM scim_users WHERE id = ?", id)
	if err == nil && n == 0 {
		return fmt.Errorf("scim user %s: %w", id, errs.ErrNotFound)
	}
	return err
}

const scimGroupCols = "id, display_name, external_id, version, created_at, updated_at"

func (q Queries) groupMembers(ctx context.Context, g *SCIMGroup) error {
	return q.selectAll(ctx, &g.Members, "SELECT user_id FROM scim_group_members WHERE group_id = ? ORDER BY user_id", g.ID)
}

// PutSCIMGroup inserts or replaces a group and its member list. Unknown user ids are ErrInvalid.
func (q Queries) PutSCIMGroup(ctx context.Context, g SCIMGroup, create bool) error {
	var err error
	if create {
		_, err = q.exec(ctx, "INSERT INTO scim_groups ("+scimGroupCols+") VALUES (?, ?, ?, ?, ?, ?)",
			g.ID, g.DisplayName, g.ExternalID, g.Version, micros(g.CreatedAt), micros(g.UpdatedAt))
	} else {
		_, err = q.exec(ctx, "UPDATE scim_groups SET display_name = ?, external_id = ?, version = ?, updated_at = ? WHERE id = ?",
			g.DisplayName, g.ExternalID, g.Version, micros(g.UpdatedAt), g.ID)
	}
	if err != nil {
		return fmt.Errorf("scim group %s: %w", g.DisplayName, err)
	}
	if _, err := q.exec(ctx, "DELETE FROM scim_group_members WHERE group_id = ?", g.ID); err != nil {
		return err
	}
	for _, uid := range g.Members {
		if _, err := q.exec(ctx, "INSERT INTO scim_group_members (group_id, user_id) SELECT ?, id FROM scim_users WHERE id = ?", g.ID, uid); err != nil {
			return fmt.Errorf("scim group member %s: %w", uid, err)
		}
	}
	return nil
}

// SCIMGroupByID returns a group with its members or ErrNotFound.
func (q Queries) SCIMGroupByID(ctx context.Context, id string) (SCIMGroup, error) {
	var r scimGroupRow
	if err := q.get(ctx, &r, "SELECT "+scimGroupCols+" FROM scim_groups WHERE id = ?", id); err != nil {
		return SCIMGroup{}, fmt.Errorf("scim group %s: %w", id, err)
	}
	g := r.SCIMGroup
	g.CreatedAt, g.UpdatedAt = fromMicros(r.CreatedAtUS), fromMicros(r.UpdatedAtUS)
	return g, q.groupMembers(ctx, &g)
}

// ListSCIMGroups is ListSCIMUsers for groups ("displayName", "externalId", "id").
func (q Queries) ListSCIMGroups(ctx context.Context, attr, value string, offset, limit int) ([]SCIMGroup, int, error) {
	where, args := scimWhere(attr, value, map[string]string{"displayName": "display_name", "externalId": "external_id", "id": "id"})
	var total int
	if err := q.get(ctx, &total, "SELECT COUNT(*) FROM scim_groups"+where, args...); err != nil {
		return nil, 0, err
	}
	var rows []scimGroupRow
	if err := q.selectAll(ctx, &rows, "SELECT "+scimGroupCols+" FROM scim_groups"+where+" ORDER BY display_name LIMIT ? OFFSET ?", append(args, limit, offset)...); err != nil {
		return nil, 0, err
	}
	out := make([]SCIMGroup, len(rows))
	for i, r := range rows {
		g := r.SCIMGroup
		g.CreatedAt, g.UpdatedAt = fromMicros(r.CreatedAtUS), fromMicros(r.UpdatedAtUS)
		if err := q.groupMembers(ctx, &g); err != nil {
			return nil, 0, err
		}
		out[i] = g
	}
	return out, total, nil
}

// DeleteSCIMGroup removes a group.
func (q Queries) DeleteSCIMGroup(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, "DELETE FROM scim_group_members WHERE group_id = ?", id); err != nil {
		return err
	}
	n, err := q.exec(ctx, "DELETE FROM scim_groups WHERE id = ?", id)
	if err == nil && n == 0 {
		return fmt.Errorf("scim group %s: %w", id, errs.ErrNotFound)
	}
	return err
}

// ActiveMembersOfGroup returns the userNames of a group's active users, by group name.
func (q Queries) ActiveMembersOfGroup(ctx context.Context, displayName string) ([]string, error) {
	var names []string
	err := q.selectAll(ctx, &names, "SELECT u.user_name FROM scim_users u JOIN scim_group_members m ON m.user_id = u.id JOIN scim_groups g ON g.id = m.group_id WHERE g.display_name = ? AND u.active = 1 ORDER BY u.user_name", displayName)
	return names, err
}

// SyncedMember is a role a SCIM group mapping gives a user in a team.
type SyncedMember struct {
	TeamID, Subject, Role string
}

// ReplaceSyncedMembers makes the 'scim' member rows exactly want; rows added through the
// API are never touched (and win over a mapping for the same user). It returns the ids of the
// teams whose members changed.
func (q Queries) ReplaceSyncedMembers(ctx context.Context, want []SyncedMember, newID func() string, now time.Time) ([]string, error) {
	type key struct{ team, subject string }
	desired := map[key]string{}
	for _, w := range want {
		desired[key{w.TeamID, w.Subject}] = w.Role
	}
	var rows []struct {
		ID     string `db:"id"`
		TeamID string `db:"team_id"`
		Name   string `db:"name"`
		Role   string `db:"role"`
		Source string `db:"source"`
	}
	if err := q.selectAll(ctx, &rows, "SELECT id, team_id, name, role, source FROM members WHERE kind = 'user'"); err != nil {
		return nil, err
	}
	changed := map[string]bool{}
	have := map[key]bool{}
	for _, r := range rows {
		k := key{r.TeamID, r.Name}
		have[k] = true
		if r.Source != "scim" {
			continue
		}
		role, ok := desired[k]
		switch {
		case !ok:
			if _, err := q.exec(ctx, "DELETE FROM members WHERE id = ?", r.ID); err != nil {
				return nil, err
			}
			changed[r.TeamID] = true
		case role != r.Role:
			if err := q.UpdateMemberRole(ctx, r.ID, role, now); err != nil {
				return nil, err
			}
			changed[r.TeamID] = true
		}
	}
	for k, role := range desired {
		if have[k] {
			continue
		}
		if _, err := q.exec(ctx, "INSERT INTO members (id, team_id, kind, name, role, created_at, updated_at, source) VALUES (?, ?, 'user', ?, ?, ?, ?, 'scim')",
			newID(), k.team, k.subject, role, micros(now), micros(now)); err != nil {
			return nil, err
		}
		changed[k.team] = true
	}
	out := make([]string, 0, len(changed))
	for t := range changed {
		out = append(out, t)
	}
	return out, nil
}

// SCIMUserActive says whether the identity provider has a user by that userName, and if so
// whether it is active.
func (q Queries) SCIMUserActive(ctx context.Context, userName string) (known, active bool, err error) {
	var flags []int64
	if err := q.selectAll(ctx, &flags, "SELECT active FROM scim_users WHERE user_name = ?", userName); err != nil {
		return false, false, err
	}
	if len(flags) == 0 {
		return false, false, nil
	}
	return true, flags[0] != 0, nil
}

// MappingTeam is the team an IdP group mapping names, once resolved.
type MappingTeam struct {
	TeamID string
	// Gone says the mapping was bound to a team that has since been deleted: it gives no
	// roles, whatever team now has the name.
	Gone bool
}

// ResolveMappingTeam returns the team id a mapping of group to teamName gives roles in. The
// first time a team of that name exists the mapping is bound to its id, for good; ErrNotFound
// while no team of the name has existed yet.
func (q Queries) ResolveMappingTeam(ctx context.Context, group, teamName string, now time.Time) (MappingTeam, error) {
	var ids []string
	if err := q.selectAll(ctx, &ids, "SELECT team_id FROM idp_mapping_teams WHERE group_name = ? AND team_name = ?", group, teamName); err != nil {
		return MappingTeam{}, err
	}
	if len(ids) == 1 {
		ok, err := q.TeamExists(ctx, ids[0])
		return MappingTeam{TeamID: ids[0], Gone: !ok}, err
	}
	t, err := q.TeamByName(ctx, teamName)
	if err != nil {
		return MappingTeam{}, err
	}
	if _, err := q.exec(ctx, "INSERT INTO idp_mapping_teams (group_name, team_name, team_id, bound_at) VALUES (?, ?, ?, ?)",
		group, teamName, t.ID, micros(now)); err != nil {
		return MappingTeam{}, err
	}
	return MappingTeam{TeamID: t.ID}, nil
}

// TeamExists says whether a team has the id.
func (q Queries) TeamExists(ctx context.Context, id string) (bool, error) {
	var n []int64
	err := q.selectAll(ctx, &n, "SELECT 1 FROM teams WHERE id = ?", id)
	return len(n) > 0, err
}
