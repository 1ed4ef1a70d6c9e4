package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
)

// runStream writes a run as server-sent events: the run whenever it changes, until it ends
// or the client goes away.
type runStream struct {
	ctx  context.Context
	prov *provision.Service
	p    access.Principal
	id   string
}

func (s runStream) VisitStreamRunResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // proxies must not hold events back
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	last := ""
	err := s.prov.Follow(s.ctx, s.p, s.id, func(run store.Run, svc store.Service) error {
		b, err := json.Marshal(apiRun(run, svc.TeamName, svc.Name))
		if err != nil {
			return err
		}
		if string(b) == last {
			return nil
		}
		if _, err := fmt.Fprintf(w, "event: run\ndata: %s\n\n", b); err != nil {
			return errClientGone
		}
		if flusher != nil {
			flusher.Flush()
		}
		last = string(b)
		return nil
	})
	if err != nil && !errors.Is(err, errClientGone) {
		_, _ = fmt.Fprintf(w, "event: error\ndata: %q\n\n", err.Error())
	}
	return nil
}

var errClientGone = errors.New("the client went away")

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
