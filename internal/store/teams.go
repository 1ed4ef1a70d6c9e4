package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Team is a row of teams.
type Team struct {
	ID          string
	Name        string
	DisplayName string
	Description string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

type teamRow struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	DisplayName string `db:"display_name"`
	Description string `db:"description"`
	CreatedBy   string `db:"created_by"`
	CreatedAt   int64  `db:"created_at"`
	UpdatedAt   int64  `db:"updated_at"`
	Version     int64  `db:"version"`
}

func (r teamRow) team() Team {
	return Team{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName, Description: r.Description,
		CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt), Version: r.Version}
}

const teamCols = "id, name, display_name, description, created_by, created_at, updated_at, version"

// CreateTeam inserts t; a taken name is ErrConflict.
func (q Queries) CreateTeam(ctx context.Context, t Team) error {
	_, err := q.exec(ctx, "INSERT INTO teams ("+teamCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		t.ID, t.Name, t.DisplayName, t.Description, t.CreatedBy, micros(t.CreatedAt), micros(t.UpdatedAt), t.Version)
	if err != nil {
		return fmt.Errorf("create team %s: %w", t.Name, err)
	}
	return nil
}

// TeamByName returns the team or ErrNotFound.
func (q Queries) TeamByName(ctx context.Context, name string) (Team, error) {
	var r teamRow
	if err := q.get(ctx, &r, "SELECT "+teamCols+" FROM teams WHERE name = ?", name); err != nil {
		return Team{}, fmt.Errorf("team %s: %w", name, err)
	}
	return r.team(), nil
}

// UpdateTeam writes t's mutable fields if its version is still expectVersion.
func (q Queries) UpdateTeam(ctx context.Context, t Team, expectVersion int64) error {
	n, err := q.exec(ctx, "UPDATE teams SET display_name = ?, description = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?",
		t.DisplayName, t.Description, micros(t.UpdatedAt), t.Version, t.ID, expectVersion)
	if err != nil {
		return fmt.Errorf("update team %s: %w", t.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("update team %s: %w", t.Name, errConcurrent)
	}
	return nil
}

// DeleteTeam removes the team; its members go with it (ON DELETE CASCADE).
func (q Queries) DeleteTeam(ctx context.Context, id string) error {
	// SQLite honours ON DELETE CASCADE only with foreign_keys on, which Open sets; delete
	// members explicitly too so that a connection without the pragma cannot leave orphans.
	if _, err := q.exec(ctx, "DELETE FROM members WHERE team_id = ?", id); err != nil {
		return fmt.Errorf("delete members of team: %w", err)
	}
	for _, table := range []string{"run_steps WHERE run_id IN (SELECT id FROM runs WHERE team_id = ?)", "runs WHERE team_id = ?", "services WHERE team_id = ?"} {
		if _, err := q.exec(ctx, "DELETE FROM "+table, id); err != nil {
			return fmt.Errorf("delete services of team: %w", err)
		}
	}
	if _, err := q.exec(ctx, "DELETE FROM environments WHERE team_id = ?", id); err != nil {
		return fmt.Errorf("delete environments of team: %w", err)
	}
	if _, err := q.exec(ctx, "DELETE FROM teams WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete team: %w", err)
	}
	return nil
}

// TeamFilter selects teams for ListTeams.
type TeamFilter struct {
	NameContains string
	After        string // names strictly after this one
	Limit        int
	// Subjects, when not nil, keeps only teams where one of these is a member.
	Subjects *Subjects
}

// Subjects is a caller as the members table names them: one user and their groups.
type Subjects struct {
	User   string
	Groups []string
}

// ListTeams returns up to Limit teams ordered by name.
func (q Queries) ListTeams(ctx context.Context, f TeamFilter) ([]Team, error) {
	var where []string
	var args []any
	if f.NameContains != "" {
		where = append(where, "name LIKE ? ESCAPE '\\'")
		args = append(args, "%"+escapeLike(f.NameContains)+"%")
	}
	if f.After != "" {
		where = append(where, "name > ?")
		args = append(args, f.After)
	}
	if f.Subjects != nil {
		clause, sargs, err := subjectClause(*f.Subjects)
		if err != nil {
			return nil, err
		}
		where = append(where, "id IN (SELECT team_id FROM members WHERE "+clause+")")
		args = append(args, sargs...)
	}
	query := "SELECT " + teamCols + " FROM teams"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY name LIMIT ?"
	args = append(args, f.Limit)
	var rows []teamRow
	if err := q.selectAll(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	out := make([]Team, len(rows))
	for i, r := range rows {
		out[i] = r.team()
	}
	return out, nil
}

// subjectClause matches member rows that name the user or one of the groups.
func subjectClause(s Subjects) (string, []any, error) {
	clause := "(kind = 'user' AND name = ?)"
	args := []any{s.User}
	if len(s.Groups) > 0 {
		in, gargs, err := sqlx.In("(kind = 'group' AND name IN (?))", s.Groups)
		if err != nil {
			return "", nil, err
		}
		clause = "(" + clause + " OR " + in + ")"
		args = append(args, gargs...)
	}
	return clause, args, nil
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// CountTeamsCreatedBy counts the existing teams subject created.
func (q Queries) CountTeamsCreatedBy(ctx context.Context, subject string) (int, error) {
	var n int
	err := q.get(ctx, &n, "SELECT COUNT(*) FROM teams WHERE created_by = ?", subject)
	return n, err
}
