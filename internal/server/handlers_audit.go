package server

import (
	"context"
	"time"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/errs"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

type auditCursor struct {
	T  int64  `json:"t"`
	ID string `json:"i"`
}

func (s *Server) ListAuditEvents(ctx context.Context, req api.ListAuditEventsRequestObject) (api.ListAuditEventsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prm := req.Params
	var cur auditCursor
	if err := decodeCursor(prm.Cursor, &cur); err != nil {
		return nil, err
	}
	f := audit.Filter{Limit: limitOf(prm.Limit), Actor: deref(prm.Actor), Action: deref(prm.Action), Team: deref(prm.Team)}
	if cur.ID != "" {
		f.Cursor = audit.Cursor{Time: time.UnixMicro(cur.T), ID: cur.ID}
	}
	if prm.Since != nil {
		f.Since = *prm.Since
	}
	if prm.Until != nil {
		f.Until = *prm.Until
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return nil, errs.InvalidParam("until", "must be after since")
	}
	events, next, err := s.audit.List(ctx, p, f)
	if err != nil {
		return nil, err
	}
	out := api.AuditEventList{Items: make([]api.AuditEvent, len(events))}
	for i, e := range events {
		ev := api.AuditEvent{Id: openapi_types.UUID(mustUUID(e.ID)), Time: e.Time, Actor: e.Actor, Action: e.Action,
			Target: e.Target, Result: api.AuditEventResult(e.Result), RequestId: e.RequestID}
		if e.Team != "" {
			ev.Team = &e.Team
		}
		if len(e.Detail) > 0 {
			d := e.Detail
			ev.Detail = &d
		}
		out.Items[i] = ev
	}
	if next.ID != "" {
		out.NextCursor = encodeCursor(auditCursor{T: next.Time.UnixMicro(), ID: next.ID})
	}
	return api.ListAuditEvents200JSONResponse(out), nil
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
