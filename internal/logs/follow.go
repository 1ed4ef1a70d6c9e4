package logs

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// follower reads one container's log for a stream, again and again while it is followed: after
// the kubelet ends a follow (log rotation, its four-hour limit, a restart) it resumes from the
// last line it read.
type follower struct {
	s         *stream
	pod, name string
	key       uint32
	restarts  atomic.Int32
	pos       Position // the last line read; it starts where the client is
	ctx       context.Context
	cancel    context.CancelFunc
	lastErr   string
}

func newFollower(s *stream, c Container, from Position) *follower {
	f := &follower{s: s, pod: c.Pod, name: c.Name, key: key(c.Pod, c.Name), pos: from}
	f.restarts.Store(c.Restarts)
	f.ctx, f.cancel = context.WithCancel(s.ctx)
	return f
}

// gone stops the follower a moment after its pod went, so that its last lines still come.
func (f *follower) gone() { time.AfterFunc(goneGrace, f.cancel) }

func (f *follower) run() {
	defer f.cancel()
	opened := false
	for f.ctx.Err() == nil {
		ok, err := f.read(opened)
		opened = opened || ok
		if f.ctx.Err() != nil {
			return
		}
		follow := !f.s.finite()
		switch {
		case err == nil:
			if !follow {
				return
			}
			f.sleep(reopenAfter)
		case forbidden(err):
			f.s.end(errors.Join(ErrAccess, err))
			return
		case apierrors.IsNotFound(err):
			return // the pod is gone; the reconcile says so
		default:
			if !follow || f.lastErr != err.Error() {
				f.lastErr = err.Error()
				f.s.queue.push(item{Event: Event{Kind: KindError, Pod: f.pod, Container: f.name, Message: err.Error()}})
			}
			if !follow {
				return
			}
			f.sleep(retryAfter)
		}
	}
}

func (f *follower) sleep(d time.Duration) {
	select {
	case <-f.ctx.Done():
	case <-time.After(d):
	}
}

// read reads the log once from f.pos; opened says whether the kubelet answered.
func (f *follower) read(opened bool) (bool, error) {
	rc, err := f.s.src.Open(f.ctx, f.pod, f.name, f.s.options(f.name, f.pos, opened))
	if err != nil {
		return false, err
	}
	defer rc.Close()
	from, seen := f.pos, 0
	br := bufio.NewReaderSize(rc, 16<<10) // longer lines are read in pieces (readLine)
	for {
		raw, err := readLine(br)
		if raw != "" {
			t, text := splitTimestamp(raw)
			if t.IsZero() {
				t = f.pos.Time // a line without one belongs with the last
			}
			if from.after(t, &seen) {
				if t.Equal(f.pos.Time) {
					f.pos.Same++
				} else {
					f.pos = Position{Time: t, Same: 1}
				}
				if f.s.q.Filter.Keep(text) {
					at := t
					f.s.queue.push(item{Event: Event{Kind: KindLine, Pod: f.pod, Container: f.name, Time: &at, Line: text}, key: f.key, pos: f.pos})
				}
			}
		}
		if err == io.EOF {
			f.lastErr = ""
			return true, nil
		}
		if err != nil {
			return true, err
		}
	}
}

// readLine reads one line without its end, cut at MaxLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		if room := MaxLine - len(b); room > 0 {
			b = append(b, chunk[:min(len(chunk), room)]...)
		} else if len(chunk) > 0 {
			cut = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line := strings.TrimRight(string(b), "\r\n")
		if cut || len(b) == MaxLine && !strings.HasSuffix(string(b), "\n") && err == nil {
			line = strings.ToValidUTF8(line, "") + "…"
		}
		return line, err
	}
}

// splitTimestamp parses the kubelet's RFC 3339 prefix (timestamps=true).
func splitTimestamp(raw string) (time.Time, string) {
	stamp, text, ok := strings.Cut(raw, " ")
	if !ok {
		stamp, text = raw, ""
	}
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return time.Time{}, raw
	}
	return t.UTC(), text
}
