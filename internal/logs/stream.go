package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds of one stream.
const (
	// MaxContainers is how many containers one stream follows; a service with more pods is
	// narrowed by pod.
	MaxContainers = 50
	// MaxLine cuts longer lines (a minified JSON document is one line).
	MaxLine = 16 << 10
	// queueBytes is what a stream holds for a slow client before it drops lines.
	queueBytes = 512 << 10
)

// Intervals of a stream; variables so that tests need not wait for them.
var (
	reconcileEvery = time.Second      // pods come and go
	authorizeEvery = 5 * time.Second  // the caller's access is read again
	reopenAfter    = time.Second      // a log that ended while its container runs is read again
	retryAfter     = 2 * time.Second  // a container that cannot be read yet
	goneGrace      = 3 * time.Second  // a deleted pod's last lines
	KeepAlive      = 15 * time.Second // a comment that keeps proxies from closing the stream
)

// Container is a container of the service's pods, as the informers hold it.
type Container struct {
	Pod, Name string
	Restarts  int32
	// Started: the container has a run with a log (running or terminated); a waiting one has none.
	Started bool
}

// Source is where a stream reads: the service's containers, and their logs as the caller.
type Source interface {
	Containers() []Container
	Open(ctx context.Context, pod, container string, o *corev1.PodLogOptions) (io.ReadCloser, error)
	// Allowed is nil while the caller may still read the logs.
	Allowed(ctx context.Context) error
}

// Query is what to read.
type Query struct {
	Pod, Container string // narrow to one pod, one container ("" all)
	SinceSeconds   int64  // 0: from the start of the log (or Tail)
	SinceTime      time.Time
	Tail           int64 // lines per container at the start; 0: all
	Previous       bool  // the run before the last restart (never followed)
	Follow         bool
	Filter         *Filter
	Resume         Cursor // from Last-Event-ID: where the client is
}

// Event kinds.
const (
	KindLine      = "line"
	KindPodAdded  = "pod-added"
	KindPodGone   = "pod-gone"
	KindRestarted = "restarted"
	KindGap       = "gap"
	KindError     = "error"
	KindKeepAlive = "keepalive"
)

// Event is one thing the client is told. Line events carry the cursor in ID.
type Event struct {
	Kind      string     `json:"-"`
	ID        string     `json:"-"`
	Pod       string     `json:"pod,omitempty"`
	Container string     `json:"container,omitempty"`
	Time      *time.Time `json:"time,omitempty"`
	Line      string     `json:"line,omitempty"`
	Restarts  int32      `json:"restarts,omitempty"`
	Dropped   int        `json:"dropped,omitempty"`
	Message   string     `json:"message,omitempty"`
}

// ErrAccess ends a stream whose caller may no longer read the logs.
var ErrAccess = errors.New("access to the logs ended")

// Stream reads q from src and gives emit every event in order, from one goroutine, until ctx
// ends, the caller loses access (ErrAccess), emit fails (its error), or, without Follow,
// every container's log has been read. emit must not keep the event; flush is called after
// each batch of events (a writer may buffer until then).
func Stream(ctx context.Context, src Source, q Query, emit func(Event) error, flush func() error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &stream{ctx: ctx, src: src, q: q, sent: Cursor{}, followed: map[uint32]*follower{}, known: map[string]bool{},
		queue: newQueue(queueBytes), started: time.Now()}
	for k, p := range q.Resume {
		s.sent[k] = p
	}
	defer s.wg.Wait()
	defer cancel()
	if err := src.Allowed(ctx); err != nil {
		return err
	}
	s.reconcile(true)
	reconcile, authorize, keep := time.NewTicker(reconcileEvery), time.NewTicker(authorizeEvery), time.NewTicker(KeepAlive)
	defer reconcile.Stop()
	defer authorize.Stop()
	defer keep.Stop()
	for {
		for _, e := range s.queue.take() {
			if e.Kind == KindLine {
				s.sent[e.key] = e.pos
				e.ID = s.sent.String()
			}
			if err := emit(e.Event); err != nil {
				return err
			}
		}
		if n := s.queue.dropped(); n > 0 {
			if err := emit(Event{Kind: KindGap, Dropped: n, Message: fmt.Sprintf("%d lines were dropped: the client read too slowly", n)}); err != nil {
				return err
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if err := s.fatal(); err != nil {
			return err
		}
		if s.finite() && s.active() == 0 && s.queue.empty() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.queue.ready:
		case <-reconcile.C:
			if !s.finite() {
				s.reconcile(false)
			}
		case <-authorize.C:
			if err := src.Allowed(ctx); err != nil {
				return err
			}
		case <-keep.C:
			if err := emit(Event{Kind: KindKeepAlive}); err != nil {
				return err
			}
		}
	}
}

type stream struct {
	ctx      context.Context
	src      Source
	q        Query
	sent     Cursor // what the client has, updated as events are emitted
	mu       sync.Mutex
	followed map[uint32]*follower
	known    map[string]bool // pods seen, for added and gone
	queue    *queue
	wg       sync.WaitGroup
	started  time.Time
	err      error // a follower's end of the stream (access refused)
	warned   bool
}

// finite: every log is read once (no follow, or the previous runs, which have ended).
func (s *stream) finite() bool { return !s.q.Follow || s.q.Previous }

func (s *stream) fatal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stream) active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.followed)
}

// reconcile follows containers that appeared, tells of pods added and gone and of restarts.
func (s *stream) reconcile(first bool) {
	var cs []Container
	for _, c := range s.src.Containers() {
		if (s.q.Pod == "" || c.Pod == s.q.Pod) && (s.q.Container == "" || c.Name == s.q.Container) {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Pod+"/"+cs[i].Name < cs[j].Pod+"/"+cs[j].Name })
	if len(cs) > MaxContainers {
		if !s.warned {
			s.warned = true
			s.queue.push(item{Event: Event{Kind: KindError, Message: fmt.Sprintf("following %d of %d containers; narrow the stream to a pod", MaxContainers, len(cs))}})
		}
		cs = cs[:MaxContainers]
	}
	pods := map[string]bool{}
	for _, c := range cs {
		pods[c.Pod] = true
	}
	for pod := range pods {
		if !s.known[pod] {
			s.known[pod] = true
			if !first {
				s.queue.push(item{Event: Event{Kind: KindPodAdded, Pod: pod}})
			}
		}
	}
	for pod := range s.known {
		if !pods[pod] {
			delete(s.known, pod)
			s.queue.push(item{Event: Event{Kind: KindPodGone, Pod: pod}})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, f := range s.followed {
		if !pods[f.pod] {
			f.gone()
			delete(s.followed, k)
		}
	}
	// The cursor keeps only containers the stream still has, so its ids stay short however
	// many pods come and go in a long stream.
	current := map[uint32]bool{}
	for _, c := range cs {
		current[key(c.Pod, c.Name)] = true
	}
	for k := range s.sent {
		if _, followed := s.followed[k]; !current[k] && !followed {
			delete(s.sent, k)
		}
	}
	for _, c := range cs {
		k := key(c.Pod, c.Name)
		if f, ok := s.followed[k]; ok {
			if c.Restarts > f.restarts.Load() && !s.q.Previous {
				f.restarts.Store(c.Restarts)
				s.queue.push(item{Event: Event{Kind: KindRestarted, Pod: c.Pod, Container: c.Name, Restarts: c.Restarts}})
			}
			continue
		}
		if (!first && s.finite()) || !c.Started {
			continue // a waiting container has no log yet: the next reconcile starts it
		}
		f := newFollower(s, c, s.sent[k])
		s.followed[k] = f
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			f.run()
			s.mu.Lock()
			if s.followed[k] == f {
				delete(s.followed, k)
			}
			s.mu.Unlock()
			s.queue.wake()
		}()
	}
}

func (s *stream) end(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.queue.wake()
}

// forbidden says whether Kubernetes refused the caller: the stream ends.
func forbidden(err error) bool { return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) }

// options are the kubelet's for a read from pos (the client's or the reader's), or from the
// query when there is none.
func (s *stream) options(container string, pos Position, opened bool) *corev1.PodLogOptions {
	o := &corev1.PodLogOptions{Container: container, Timestamps: true, Previous: s.q.Previous, Follow: s.q.Follow && !s.q.Previous}
	switch {
	case !pos.Time.IsZero():
		o.SinceTime = &metav1.Time{Time: pos.Time.Truncate(time.Second)}
	case opened: // read again before any line: from when the stream began
		o.SinceTime = &metav1.Time{Time: s.started.Add(-time.Second).Truncate(time.Second)}
	default:
		if s.q.SinceSeconds > 0 {
			o.SinceSeconds = &s.q.SinceSeconds
		}
		if !s.q.SinceTime.IsZero() {
			o.SinceTime = &metav1.Time{Time: s.q.SinceTime}
		}
		if s.q.Tail > 0 {
			o.TailLines = &s.q.Tail
		}
	}
	return o
}
