package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Reading many teams' members, environments and services takes one query each with the
// team ids in an IN list, instead of one query per team.

// MembersOfTeams returns the members of the given teams, by team, kind and name.
func (q Queries) MembersOfTeams(ctx context.Context, teamIDs []string) ([]Member, error) {
	var rows []memberRow
	if err := q.selectIn(ctx, &rows, memberSelect+" WHERE m.team_id IN (?) ORDER BY m.team_id, m.kind, m.name", teamIDs); err != nil {
		return nil, fmt.Errorf("members of teams: %w", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = r.member()
	}
	return out, nil
}

// EnvironmentsOfTeams returns the environments of the given teams, in creation order.
func (q Queries) EnvironmentsOfTeams(ctx context.Context, teamIDs []string) ([]Environment, error) {
	var rows []environmentRow
	if err := q.selectIn(ctx, &rows, envSelect+" WHERE e.team_id IN (?) ORDER BY e.team_id, e.created_at, e.name", teamIDs); err != nil {
		return nil, fmt.Errorf("environments of teams: %w", err)
	}
	out := make([]Environment, len(rows))
	for i, r := range rows {
		out[i] = r.env()
	}
	return out, nil
}

// ServicesOfTeams returns the services of the given teams, by name.
func (q Queries) ServicesOfTeams(ctx context.Context, teamIDs []string) ([]Service, error) {
	var rows []serviceRow
	if err := q.selectIn(ctx, &rows, serviceSelect+" WHERE s.team_id IN (?) ORDER BY s.team_id, s.name", teamIDs); err != nil {
		return nil, fmt.Errorf("services of teams: %w", err)
	}
	return servicesOf(rows)
}

// selectIn expands the one IN (?) of query to ids; no ids selects nothing.
func (q Queries) selectIn(ctx context.Context, dst any, query string, ids []string) error {
	if len(ids) == 0 {
		ids = []string{""} // IN () is not SQL; no team has the empty id
	}
	expanded, args, err := sqlx.In(query, ids)
	if err != nil {
		return err
	}
	return q.selectAll(ctx, dst, expanded, args...)
}
