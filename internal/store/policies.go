package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/errs"
)

// PolicySetting is how one policy runs, cluster-wide (Team "") or for one team.
type PolicySetting struct {
	Policy, Team, Mode string
	// Parameter is nil when the policy's default applies.
	Parameter []string
	UpdatedBy string
	UpdatedAt time.Time
}

type policySettingRow struct {
	Policy    string `db:"policy"`
	Team      string `db:"team"`
	Mode      string `db:"mode"`
	Parameter string `db:"parameter"`
	UpdatedBy string `db:"updated_by"`
	UpdatedAt int64  `db:"updated_at"`
}

// PutPolicySetting creates or replaces a setting.
func (q Queries) PutPolicySetting(ctx context.Context, s PolicySetting) error {
	param := ""
	if s.Parameter != nil {
		b, err := json.Marshal(s.Parameter)
		if err != nil {
			return err
		}
		param = string(b)
	}
	_, err := q.exec(ctx, `INSERT INTO policy_settings (policy, team, mode, parameter, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (policy, team) DO UPDATE SET mode = excluded.mode, parameter = excluded.parameter, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		s.Policy, s.Team, s.Mode, param, s.UpdatedBy, micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("policy setting %s: %w", s.Policy, err)
	}
	return nil
}

// DeletePolicySetting removes a setting; a missing one is ErrNotFound.
func (q Queries) DeletePolicySetting(ctx context.Context, policy, team string) error {
	n, err := q.exec(ctx, "DELETE FROM policy_settings WHERE policy = ? AND team = ?", policy, team)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("policy setting %s: %w", policy, errs.ErrNotFound)
	}
	return nil
}

// DeleteTeamPolicySettings removes a team's overrides and says how many there were.
func (q Queries) DeleteTeamPolicySettings(ctx context.Context, team string) (int64, error) {
	if team == "" {
		return 0, fmt.Errorf("no team: cluster-wide settings are not a team's")
	}
	return q.exec(ctx, "DELETE FROM policy_settings WHERE team = ?", team)
}

// ListPolicySettings returns every setting, cluster-wide first.
func (q Queries) ListPolicySettings(ctx context.Context) ([]PolicySetting, error) {
	var rows []policySettingRow
	if err := q.selectAll(ctx, &rows, "SELECT policy, team, mode, parameter, updated_by, updated_at FROM policy_settings ORDER BY team, policy"); err != nil {
		return nil, fmt.Errorf("list policy settings: %w", err)
	}
	out := make([]PolicySetting, len(rows))
	for i, r := range rows {
		out[i] = PolicySetting{Policy: r.Policy, Team: r.Team, Mode: r.Mode, UpdatedBy: r.UpdatedBy, UpdatedAt: fromMicros(r.UpdatedAt)}
		if r.Parameter != "" {
			if err := json.Unmarshal([]byte(r.Parameter), &out[i].Parameter); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
