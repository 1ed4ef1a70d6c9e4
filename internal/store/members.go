package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/errs"
)

// errConcurrent means a row changed between read and write; callers retry or report 409.
var errConcurrent = fmt.Errorf("%w: changed concurrently, retry", errs.ErrConflict)

// IsConcurrentChange reports whether err came from an optimistic-concurrency miss.
func IsConcurrentChange(err error) bool { return errors.Is(err, errConcurrent) }

// Member is a role assignment of a user or group in a team.
type Member struct {
	ID        string    `db:"id"`
	TeamID    string    `db:"team_id"`
	TeamName  string    `db:"team_name"`
	Kind      string    `db:"kind"`
	Name      string    `db:"name"`
	Role      string    `db:"role"`
	CreatedAt time.Time `db:"-"`
	UpdatedAt time.Time `db:"-"`
}

type memberRow struct {
	Member
	CreatedAtUS int64 `db:"created_at"`
	UpdatedAtUS int64 `db:"updated_at"`
}

func (r memberRow) member() Member {
	m := r.Member
	m.CreatedAt, m.UpdatedAt = fromMicros(r.CreatedAtUS), fromMicros(r.UpdatedAtUS)
	return m
}

const memberSelect = "SELECT m.id, m.team_id, t.name AS team_name, m.kind, m.name, m.role, m.created_at, m.updated_at FROM members m JOIN teams t ON t.id = m.team_id"

// CreateMember inserts m; the same subject twice in a team is ErrConflict.
func (q Queries) CreateMember(ctx context.Context, m Member) error {
	_, err := q.exec(ctx, "INSERT INTO members (id, team_id, kind, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		m.ID, m.TeamID, m.Kind, m.Name, m.Role, micros(m.CreatedAt), micros(m.UpdatedAt))
	if err != nil {
		return fmt.Errorf("add %s %s: %w", m.Kind, m.Name, err)
	}
	return nil
}

// MemberByID returns a member of the team or ErrNotFound.
func (q Queries) MemberByID(ctx context.Context, teamID, id string) (Member, error) {
	var r memberRow
	if err := q.get(ctx, &r, memberSelect+" WHERE m.team_id = ? AND m.id = ?", teamID, id); err != nil {
		return Member{}, fmt.Errorf("member %s: %w", id, err)
	}
	return r.member(), nil
}

// UpdateMemberRole changes the role of a member.
func (q Queries) UpdateMemberRole(ctx context.Context, id, role string, at time.Time) error {
	n, err := q.exec(ctx, "UPDATE members SET role = ?, updated_at = ? WHERE id = ?", role, micros(at), id)
	if err != nil {
		return fmt.Errorf("update member %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("member %s: %w", id, errs.ErrNotFound)
	}
	return nil
}

// DeleteMember removes a member.
func (q Queries) DeleteMember(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, "DELETE FROM members WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete member %s: %w", id, err)
	}
	return nil
}

// CountRole counts the members of a team with a role.
func (q Queries) CountRole(ctx context.Context, teamID, role string) (int, error) {
	var n int
	if err := q.get(ctx, &n, "SELECT COUNT(*) FROM members WHERE team_id = ? AND role = ?", teamID, role); err != nil {
		return 0, fmt.Errorf("count %s: %w", role, err)
	}
	return n, nil
}

// MemberFilter selects members for ListMembers.
type MemberFilter struct {
	TeamID string
	Kind   string
	Role   string
	// After is the (kind, name) of the last member of the previous page.
	AfterKind, AfterName string
	Limit                int
}

// ListMembers returns up to Limit members of a team ordered by kind, then name.
func (q Queries) ListMembers(ctx context.Context, f MemberFilter) ([]Member, error) {
	query := memberSelect + " WHERE m.team_id = ?"
	args := []any{f.TeamID}
	if f.Kind != "" {
		query += " AND m.kind = ?"
		args = append(args, f.Kind)
	}
	if f.Role != "" {
		query += " AND m.role = ?"
		args = append(args, f.Role)
	}
	if f.AfterKind != "" {
		query += " AND (m.kind > ? OR (m.kind = ? AND m.name > ?))"
		args = append(args, f.AfterKind, f.AfterKind, f.AfterName)
	}
	query += " ORDER BY m.kind, m.name LIMIT ?"
	args = append(args, f.Limit)
	var rows []memberRow
	if err := q.selectAll(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = r.member()
	}
	return out, nil
}

// RolesIn returns the roles that the user or one of the groups hold in one team.
func (q Queries) RolesIn(ctx context.Context, teamID string, s Subjects) ([]string, error) {
	clause, args, err := subjectClause(s)
	if err != nil {
		return nil, err
	}
	var roles []string
	if err := q.selectAll(ctx, &roles, "SELECT role FROM members WHERE team_id = ? AND "+clause, append([]any{teamID}, args...)...); err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	return roles, nil
}

// MembershipsOf returns every member row that names the user or one of the groups, across
// teams: what a caller may do is derived from it.
func (q Queries) MembershipsOf(ctx context.Context, s Subjects) ([]Member, error) {
	clause, args, err := subjectClause(s)
	if err != nil {
		return nil, err
	}
	var rows []memberRow
	// The clause's columns are unqualified; qualify through a subquery to keep it reusable.
	query := memberSelect + " WHERE m.id IN (SELECT id FROM members WHERE " + clause + ") ORDER BY t.name"
	if err := q.selectAll(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = r.member()
	}
	return out, nil
}
