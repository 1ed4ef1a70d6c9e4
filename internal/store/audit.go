package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AuditEvent is one record of a mutation: who did what to which target, and when.
type AuditEvent struct {
	ID        string
	Time      time.Time
	Actor     string
	Action    string
	Team      string
	TeamID    string
	Target    string
	Result    string
	RequestID string
	Detail    map[string]any
}

type auditRow struct {
	ID        string `db:"id"`
	Time      int64  `db:"time"`
	Actor     string `db:"actor"`
	Action    string `db:"action"`
	Team      string `db:"team"`
	Target    string `db:"target"`
	Result    string `db:"result"`
	RequestID string `db:"request_id"`
	Detail    string `db:"detail"`
}

// InsertAuditEvent writes e; callers do it in the transaction of the change it records.
func (q Queries) InsertAuditEvent(ctx context.Context, e AuditEvent) error {
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	_, err := q.exec(ctx, "INSERT INTO audit_events (id, time, actor, action, team, team_id, target, result, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, micros(e.Time), e.Actor, e.Action, e.Team, e.TeamID, e.Target, e.Result, e.RequestID, string(detail))
	if err != nil {
		return fmt.Errorf("write audit event: %w", err)
	}
	return nil
}

// AuditFilter selects events for ListAuditEvents. Zero values match everything.
type AuditFilter struct {
	Actor, Action, Team string
	// TeamIDs, when not nil, keeps only events of these teams, by id (what a team admin may
	// see: not the history of an earlier team of the same name).
	TeamIDs      []string
	Since, Until time.Time
	// Before is the (time, id) of the last event of the previous page.
	BeforeTime time.Time
	BeforeID   string
	Limit      int
}

// ListAuditEvents returns up to Limit events, newest first.
func (q Queries) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Team != "" {
		add("team = ?", f.Team)
	}
	if f.TeamIDs != nil {
		if len(f.TeamIDs) == 0 {
			return nil, nil
		}
		add("team_id IN (?"+strings.Repeat(", ?", len(f.TeamIDs)-1)+")", toAny(f.TeamIDs)...)
	}
	if !f.Since.IsZero() {
		add("time >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < ?", micros(f.Until))
	}
	if f.BeforeID != "" {
		t := micros(f.BeforeTime)
		add("(time < ? OR (time = ? AND id < ?))", t, t, f.BeforeID)
	}
	query := "SELECT id, time, actor, action, team, target, result, request_id, detail FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY time DESC, id DESC LIMIT ?"
	args = append(args, f.Limit)
	var rows []auditRow
	if err := q.selectAll(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	out := make([]AuditEvent, len(rows))
	for i, r := range rows {
		e := AuditEvent{ID: r.ID, Time: fromMicros(r.Time), Actor: r.Actor, Action: r.Action, Team: r.Team,
			Target: r.Target, Result: r.Result, RequestID: r.RequestID}
		if r.Detail != "" && r.Detail != "{}" {
			if err := json.Unmarshal([]byte(r.Detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("audit event %s detail: %w", r.ID, err)
			}
		}
		out[i] = e
	}
	return out, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
