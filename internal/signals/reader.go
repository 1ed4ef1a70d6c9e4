package signals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
)

// Target is what the signals are of: a service in an environment's namespace, with its pods
// (for what they request) and its blueprint's runtime (for the queries).
type Target struct {
	Namespace, Service, Runtime string
	Pods                        []*corev1.Pod
}

// Signal is one value now, with the query that gave it; Value is nil when Prometheus has no
// such series, and Problem says why when it did not answer.
type Signal struct {
	Name    string
	Value   *float64
	Query   string
	Problem string
}

// Snapshot is every signal at one time, and what the running pods request and may use.
type Snapshot struct {
	At      time.Time
	Window  string
	Signals []Signal // in Names' order
	// Cores and bytes; a limit is nil when a container has none (it may use the node's all).
	CPURequested, MemoryRequested float64
	CPULimit, MemoryLimit         *float64
}

// Reader reads signals from one Prometheus.
type Reader struct {
	client  *Client
	queries *Queries
	window  time.Duration
}

// NewReader reads through client with queries, rates over window.
func NewReader(client *Client, queries *Queries, window time.Duration) *Reader {
	return &Reader{client: client, queries: queries, window: window}
}

func (r *Reader) vars(t Target) Vars {
	return Vars{Namespace: t.Namespace, Service: t.Service, Pods: PodsOf(t.Service), Window: model.Duration(r.window).String()}
}

// Now reads every signal at at, the queries side by side.
func (r *Reader) Now(ctx context.Context, t Target, at time.Time) (Snapshot, error) {
	s := Snapshot{At: at, Window: model.Duration(r.window).String(), Signals: make([]Signal, len(Names))}
	var wg sync.WaitGroup
	for i, name := range Names {
		q, err := r.queries.Render(t.Runtime, name, r.vars(t))
		if err != nil {
			return Snapshot{}, err
		}
		s.Signals[i] = Signal{Name: name, Query: q}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.client.Instant(ctx, q, at)
			s.Signals[i].Value, s.Signals[i].Problem = v, Problem(err)
		}()
	}
	wg.Wait()
	s.CPURequested, s.CPULimit, s.MemoryRequested, s.MemoryLimit = Requests(t.Pods)
	return s, nil
}

// Range reads one signal over time, and the query that gave it.
func (r *Reader) Range(ctx context.Context, t Target, signal string, start, end time.Time, step time.Duration) ([]Point, string, error) {
	if !known(signal) {
		return nil, "", fmt.Errorf("unknown signal %q", signal)
	}
	q, err := r.queries.Render(t.Runtime, signal, r.vars(t))
	if err != nil {
		return nil, "", err
	}
	points, err := r.client.Range(ctx, q, start, end, step)
	if err != nil {
		return nil, q, errors.New(Problem(err))
	}
	return points, q, nil
}

// Problem says why a query failed without the Prometheus address in a transport error: the
// caller is a team member, not the platform.
func Problem(err error) string {
	var pe *promv1.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe) && pe.Type == promv1.ErrBadData:
		return "Prometheus refused the query (the platform's signals queries): " + pe.Msg
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Prometheus did not answer within %s", queryTimeout)
	default:
		return "Prometheus did not answer"
	}
}

// Requests sums what the running pods' containers request and may use: cores and bytes.
func Requests(pods []*corev1.Pod) (cpu float64, cpuLimit *float64, mem float64, memLimit *float64) {
	var cl, ml float64
	unlimitedCPU, unlimitedMem, counted := false, false, false
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Spec.Containers {
			counted = true
			cpu += c.Resources.Requests.Cpu().AsApproximateFloat64()
			mem += c.Resources.Requests.Memory().AsApproximateFloat64()
			if l, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
				cl += l.AsApproximateFloat64()
			} else {
				unlimitedCPU = true
			}
			if l, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				ml += l.AsApproximateFloat64()
			} else {
				unlimitedMem = true
			}
		}
	}
	if counted && !unlimitedCPU {
		cpuLimit = &cl
	}
	if counted && !unlimitedMem {
		memLimit = &ml
	}
	return cpu, cpuLimit, mem, memLimit
}
