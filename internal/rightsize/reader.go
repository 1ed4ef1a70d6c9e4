package rightsize

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/signals"
	"github.com/prometheus/common/model"
)

// Window bounds: an hour says little, a month is as far back as Prometheus usually keeps.
const (
	MinWindow = time.Hour
	MaxWindow = 30 * 24 * time.Hour
	// points is how many rates a window's quantile is taken over.
	points = 300
)

// Reader reads containers' usage from Prometheus (cAdvisor's series, as the kubelet exports
// them: container_cpu_usage_seconds_total, container_memory_working_set_bytes).
type Reader struct {
	client *signals.Client
	rate   time.Duration // the window of each CPU rate
	policy Policy
}

// NewReader reads through client, CPU rates over rate.
func NewReader(client *signals.Client, rate time.Duration, p Policy) *Reader {
	return &Reader{client: client, rate: rate, policy: p}
}

// Policy is how the reader's usage is sized.
func (r *Reader) Policy() Policy { return r.policy }

// Queries are the PromQL a usage was read with.
type Queries struct{ CPU, Memory, MemoryMax string }

// Usage reads each container's usage over window before at: for the pods of service in
// namespace, the highest of their quantiles (a container is sized for its busiest pod).
func (r *Reader) Usage(ctx context.Context, namespace, service string, window time.Duration, at time.Time) (map[string]Usage, Queries, error) {
	if window < MinWindow || window > MaxWindow {
		return nil, Queries{}, fmt.Errorf("window %s: between %s and %s", window, MinWindow, MaxWindow)
	}
	step := (window / points).Truncate(time.Second)
	sel := fmt.Sprintf(`{namespace=%q,pod=~%q,container!="",container!="POD"}`, namespace, signals.PodsOf(service))
	w, s, rt := model.Duration(window).String(), model.Duration(step).String(), model.Duration(r.rate).String()
	q := Queries{
		CPU:       fmt.Sprintf(`max by (container) (quantile_over_time(%g, rate(container_cpu_usage_seconds_total%s[%s])[%s:%s]))`, r.policy.CPUQuantile, sel, rt, w, s),
		Memory:    fmt.Sprintf(`max by (container) (quantile_over_time(%g, container_memory_working_set_bytes%s[%s]))`, r.policy.MemoryQuantile, sel, w),
		MemoryMax: fmt.Sprintf(`max by (container) (max_over_time(container_memory_working_set_bytes%s[%s]))`, sel, w),
	}
	var cpu, mem, memMax map[string]float64
	var errCPU, errMem, errMax error
	var wg sync.WaitGroup
	wg.Go(func() { cpu, errCPU = r.client.ByLabel(ctx, q.CPU, at, "container") })
	wg.Go(func() { mem, errMem = r.client.ByLabel(ctx, q.Memory, at, "container") })
	wg.Go(func() { memMax, errMax = r.client.ByLabel(ctx, q.MemoryMax, at, "container") })
	wg.Wait()
	if err := errors.Join(errCPU, errMem, errMax); err != nil {
		return nil, q, err
	}
	out := map[string]Usage{}
	for _, m := range []map[string]float64{cpu, mem, memMax} {
		for c := range m {
			out[c] = Usage{CPU: value(cpu, c), Memory: value(mem, c), MemoryMax: value(memMax, c)}
		}
	}
	return out, q, nil
}

func value(m map[string]float64, key string) *float64 {
	v, ok := m[key]
	if !ok {
		return nil
	}
	return &v
}
