package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// HostsTaken returns those of hosts that another service than serviceID holds.
func (q Queries) HostsTaken(ctx context.Context, serviceID string, hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	var taken []string
	query := "SELECT host FROM hosts WHERE service_id <> ? AND host IN (?" + strings.Repeat(", ?", len(hosts)-1) + ") ORDER BY host"
	if err := q.selectAll(ctx, &taken, query, append([]any{serviceID}, toAny(hosts)...)...); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	return taken, nil
}

// ClaimHosts makes byEnv (environment to host) the service's hosts, releasing those it no
// longer has. A host another service holds is ErrConflict (the primary key decides, so two
// services racing for one host cannot both win).
func (q Queries) ClaimHosts(ctx context.Context, teamID, serviceID string, byEnv map[string]string) error {
	if _, err := q.exec(ctx, "DELETE FROM hosts WHERE service_id = ?", serviceID); err != nil {
		return err
	}
	envs := make([]string, 0, len(byEnv))
	for e := range byEnv {
		envs = append(envs, e)
	}
	sort.Strings(envs)
	for _, e := range envs {
		if _, err := q.exec(ctx, "INSERT INTO hosts (host, team_id, service_id, environment) VALUES (?, ?, ?, ?)", byEnv[e], teamID, serviceID, e); err != nil {
			return fmt.Errorf("host %s: %w", byEnv[e], err)
		}
	}
	return nil
}

// ReleaseEnvironmentHosts drops the hosts of a team's environment (it is being deleted).
func (q Queries) ReleaseEnvironmentHosts(ctx context.Context, teamID, env string) error {
	_, err := q.exec(ctx, "DELETE FROM hosts WHERE team_id = ? AND environment = ?", teamID, env)
	return err
}

// ServiceHosts returns the hosts a service holds, by environment.
func (q Queries) ServiceHosts(ctx context.Context, serviceID string) (map[string]string, error) {
	var rows []struct {
		Host        string `db:"host"`
		Environment string `db:"environment"`
	}
	if err := q.selectAll(ctx, &rows, "SELECT host, environment FROM hosts WHERE service_id = ?", serviceID); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Environment] = r.Host
	}
	return out, nil
}
