// Package audit records who changed what. Record is called by domain packages inside the
// transaction of the change, so an event exists exactly when the change does; List serves
// the audit log to platform admins and, for their teams, to team admins.
package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"github.com/google/uuid"
)

type requestIDKey struct{}

// WithRequestID stores the request id that audit events carry.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Entry is what a domain operation says about itself.
type Entry struct {
	Action string // <object>.<verb>, e.g. team.create
	Team   string
	// TeamID is the team's stable id; when empty and Team is set, Record looks it up.
	TeamID string
	Target string // e.g. team/payments
	Detail map[string]any
}

// Record writes one successful event in q's transaction.
func Record(ctx context.Context, q store.Queries, p access.Principal, e Entry, now time.Time) error {
	if e.TeamID == "" && e.Team != "" {
		if t, err := q.TeamByName(ctx, e.Team); err == nil {
			e.TeamID = t.ID
		}
	}
	return q.InsertAuditEvent(ctx, store.AuditEvent{
		ID: NewID(), Time: now, Actor: p.Subject, Action: e.Action, Team: e.Team, TeamID: e.TeamID,
		Target: e.Target, Result: "success", RequestID: RequestID(ctx), Detail: e.Detail,
	})
}

// NewID returns a random (version 4) UUID. IDs are not ordered; ordering uses time.
func NewID() string {
	return uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
}

// Filter is what a caller asks of the log.
type Filter struct {
	Actor, Action, Team string
	Since, Until        time.Time
	Cursor              Cursor
	Limit               int
}

// Cursor points after the last event of a page.
type Cursor struct {
	Time time.Time
	ID   string
}

// Log reads audit events.
type Log struct {
	store *store.Store
}

// NewLog returns a Log over st.
func NewLog(st *store.Store) *Log { return &Log{store: st} }

// List returns a page of events the caller may see, newest first, and the cursor of the
// next page (zero when there is none).
func (l *Log) List(ctx context.Context, p access.Principal, f Filter) ([]store.AuditEvent, Cursor, error) {
	sf := store.AuditFilter{Actor: f.Actor, Action: f.Action, Team: f.Team, Since: f.Since, Until: f.Until,
		BeforeTime: f.Cursor.Time, BeforeID: f.Cursor.ID, Limit: f.Limit + 1}
	if !p.PlatformAdmin {
		teams, err := adminTeams(ctx, l.store.Q(), p)
		if err != nil {
			return nil, Cursor{}, err
		}
		if len(teams) == 0 {
			return nil, Cursor{}, fmt.Errorf("%w: the audit log is for platform admins and team admins", errs.ErrForbidden)
		}
		sf.TeamIDs = teams
	}
	events, err := l.store.Q().ListAuditEvents(ctx, sf)
	if err != nil {
		return nil, Cursor{}, err
	}
	var next Cursor
	if len(events) > f.Limit {
		events = events[:f.Limit]
		last := events[len(events)-1]
		next = Cursor{Time: last.Time, ID: last.ID}
	}
	return events, next, nil
}

func adminTeams(ctx context.Context, q store.Queries, p access.Principal) ([]string, error) {
	ms, err := q.MembershipsOf(ctx, store.Subjects{User: p.Subject, Groups: p.Groups})
	if err != nil {
		return nil, err
	}
	roles := map[string]access.Role{}
	for _, m := range ms {
		roles[m.TeamID] = access.Highest(roles[m.TeamID], access.Role(m.Role))
	}
	teams := []string{}
	for t, r := range roles {
		if r == access.Admin {
			teams = append(teams, t)
		}
	}
	return teams, nil
}
