package server

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/logs"
	"github.com/berth-platform/berth/internal/workloads"
)

// Log reads open at once: per caller, and in all.
const (
	logStreamsPerCaller = 5
	logStreams          = 200
	// downloadBytes cuts a download: beyond it, a person wants a narrower range.
	downloadBytes = 64 << 20
)

// logParams are the query parameters a stream and a download share.
type logParams struct {
	env, pod, container string
	sinceSeconds, tail  *int
	sinceTime           *time.Time
	previous, regex     *bool
	search              *string
	include, exclude    *[]string
}

func (lp logParams) query() (logs.Query, error) {
	if lp.sinceSeconds != nil && lp.sinceTime != nil {
		return logs.Query{}, errs.InvalidParam("sinceTime", "give sinceSeconds or sinceTime, not both")
	}
	f, err := logs.NewFilter(valueOf(lp.search), valueOf(lp.regex), valueOf(lp.include), valueOf(lp.exclude))
	var fe *logs.FieldError
	if errors.As(err, &fe) {
		return logs.Query{}, errs.InvalidParam(fe.Field, "%v", fe.Err)
	}
	q := logs.Query{Pod: lp.pod, Container: lp.container, Previous: valueOf(lp.previous), Filter: f}
	if lp.sinceSeconds != nil {
		q.SinceSeconds = int64(*lp.sinceSeconds)
	}
	if lp.sinceTime != nil {
		q.SinceTime = *lp.sinceTime
	}
	if lp.tail != nil {
		q.Tail = int64(*lp.tail)
	}
	return q, nil
}

// valueOf is *p, or T's zero value when p is nil.
func valueOf[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// logSource finds where the caller reads the service's logs and takes one of their reads.
func (s *Server) logSource(ctx context.Context, team, service, env string) (*workloads.LogSource, func(), error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, nil, err
	}
	if s.deps.Workloads == nil {
		if _, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: logs need a cluster; start Berth with --kubeconfig", errs.ErrUnavailable)
	}
	src, _, err := s.deps.Workloads.LogSource(ctx, p, team, service, env)
	if err != nil {
		return nil, nil, err
	}
	release, err := s.logLimits.Acquire(p.Subject)
	if err != nil {
		return nil, nil, err
	}
	return src, release, nil
}

func (s *Server) StreamServiceLogs(ctx context.Context, req api.StreamServiceLogsRequestObject) (api.StreamServiceLogsResponseObject, error) {
	r := req.Params
	q, err := logParams{env: r.Environment, pod: deref(r.Pod), container: deref(r.Container), sinceSeconds: r.SinceSeconds, tail: r.Tail,
		sinceTime: r.SinceTime, previous: r.Previous, regex: r.Regex, search: r.Search, include: r.Include, exclude: r.Exclude}.query()
	if err != nil {
		return nil, err
	}
	q.Follow = r.Follow == nil || *r.Follow
	if id := valueOf(r.LastEventID); id != "" {
		if q.Resume, err = logs.ParseCursor(id); err != nil {
			return nil, errs.InvalidParam("Last-Event-ID", "%v", err)
		}
	}
	src, release, err := s.logSource(ctx, req.Team, req.Service, r.Environment)
	if err != nil {
		return nil, err
	}
	return logStream{ctx: ctx, src: src, q: q, release: release}, nil
}

// logStream writes a stream's events as server-sent events.
type logStream struct {
	ctx     context.Context
	src     logs.Source
	q       logs.Query
	release func()
}

func (l logStream) VisitStreamServiceLogsResponse(w http.ResponseWriter) error {
	defer l.release()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	bw := bufio.NewWriterSize(w, 8<<10)
	emit := func(e logs.Event) error {
		var err error
		switch e.Kind {
		case logs.KindKeepAlive:
			_, err = bw.WriteString(": keepalive\n\n")
		default:
			data, merr := json.Marshal(e)
			if merr != nil {
				return merr
			}
			if e.ID != "" {
				_, err = fmt.Fprintf(bw, "id: %s\n", e.ID)
			}
			if err == nil {
				_, err = fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", e.Kind, data)
			}
		}
		if err != nil {
			return errClientGone
		}
		return nil
	}
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return errClientGone
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	err := logs.Stream(l.ctx, l.src, l.q, emit, flush)
	if err != nil && !errors.Is(err, errClientGone) && l.ctx.Err() == nil {
		msg := "the stream ended: " + err.Error()
		if errors.Is(err, logs.ErrAccess) {
			msg = "your access to these logs ended"
		}
		if emit(logs.Event{Kind: logs.KindError, Message: msg}) == nil {
			_ = flush()
		}
	}
	return nil
}

func (s *Server) DownloadServiceLogs(ctx context.Context, req api.DownloadServiceLogsRequestObject) (api.DownloadServiceLogsResponseObject, error) {
	r := req.Params
	q, err := logParams{env: r.Environment, pod: deref(r.Pod), container: deref(r.Container), sinceSeconds: r.SinceSeconds, tail: r.Tail,
		sinceTime: r.SinceTime, previous: r.Previous, regex: r.Regex, search: r.Search, include: r.Include, exclude: r.Exclude}.query()
	if err != nil {
		return nil, err
	}
	src, release, err := s.logSource(ctx, req.Team, req.Service, r.Environment)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%s-%s-logs.txt", req.Team, req.Service, r.Environment)
	return logDownload{ctx: ctx, src: src, q: q, release: release, name: name,
		gzip: r.Format != nil && *r.Format == api.Gzip, timestamps: r.Timestamps == nil || *r.Timestamps}, nil
}

// logDownload writes the logs container after container, as text or gzip.
type logDownload struct {
	ctx              context.Context
	src              logs.Source
	q                logs.Query
	release          func()
	name             string
	gzip, timestamps bool
}

var errCut = errors.New("the download reached its size limit")

func (d logDownload) VisitDownloadServiceLogsResponse(w http.ResponseWriter) error {
	defer d.release()
	w.Header().Set("Cache-Control", "no-store")
	var out io.Writer = w
	if d.gzip {
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.name+".gz"))
		zw := gzip.NewWriter(w)
		defer zw.Close()
		out = zw
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.name))
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(out, 64<<10)
	defer bw.Flush()
	written := 0
	emit := func(e logs.Event) error {
		var line string
		switch {
		case e.Kind == logs.KindLine && d.timestamps:
			line = fmt.Sprintf("%s/%s %s %s\n", e.Pod, e.Container, e.Time.Format(time.RFC3339Nano), e.Line)
		case e.Kind == logs.KindLine:
			line = fmt.Sprintf("%s/%s %s\n", e.Pod, e.Container, e.Line)
		case e.Kind == logs.KindError:
			line = fmt.Sprintf("# %s/%s: %s\n", e.Pod, e.Container, e.Message)
		default:
			return nil
		}
		if written+len(line) > downloadBytes {
			return errCut
		}
		written += len(line)
		if _, err := bw.WriteString(line); err != nil {
			return errClientGone
		}
		return nil
	}
	// One container after the other, in the order the source lists them.
	for _, c := range d.src.Containers() {
		if (d.q.Pod != "" && c.Pod != d.q.Pod) || (d.q.Container != "" && c.Name != d.q.Container) {
			continue
		}
		q := d.q
		q.Pod, q.Container, q.Follow = c.Pod, c.Name, false
		err := logs.Stream(d.ctx, d.src, q, emit, func() error { return nil })
		switch {
		case errors.Is(err, errCut):
			_, _ = fmt.Fprintf(bw, "# cut at %d MiB: download a narrower range (sinceTime, tail, pod)\n", downloadBytes>>20)
			return nil
		case errors.Is(err, logs.ErrAccess):
			_, _ = bw.WriteString("# your access to these logs ended\n")
			return nil
		case err != nil:
			return nil // the client went away
		}
	}
	return nil
}
