package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/provision"
)

// runStream writes a run as server-sent events: the run whenever it changes, until it ends
// or the client goes away.
type runStream struct {
	ctx  context.Context
	prov *provision.Service
	p    access.Principal
	id   string
}

const streamPoll = 250 * time.Millisecond

func (s runStream) VisitStreamRunResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // proxies must not hold events back
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	last := ""
	for {
		run, svc, err := s.prov.Get(s.ctx, s.p, s.id)
		if err != nil {
			_, _ = fmt.Fprintf(w, "event: error\ndata: %q\n\n", err.Error())
			return nil
		}
		b, err := json.Marshal(apiRun(run, svc.TeamName, svc.Name))
		if err != nil {
			return err
		}
		if string(b) != last {
			if _, err := fmt.Fprintf(w, "event: run\ndata: %s\n\n", b); err != nil {
				return nil // the client went away
			}
			if flusher != nil {
				flusher.Flush()
			}
			last = string(b)
		}
		if run.Status == provision.StatusSucceeded || run.Status == provision.StatusFailed {
			return nil
		}
		select {
		case <-s.ctx.Done():
			return nil
		case <-time.After(streamPoll):
		}
	}
}

func (s *Server) StreamRun(ctx context.Context, req api.StreamRunRequestObject) (api.StreamRunResponseObject, error) {
	p, prov, err := s.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	// Check access before the stream starts, so a refusal is a proper problem response.
	if _, _, err := prov.Get(ctx, p, req.Run.String()); err != nil {
		return nil, err
	}
	return runStream{ctx: ctx, prov: prov, p: p, id: req.Run.String()}, nil
}
