package cost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/signals"
	"github.com/prometheus/common/model"
)

// Use is what one container uses now: cores and bytes of working set.
type Use struct{ CPU, Memory float64 }

// UsageSource tells what containers use, by "namespace/pod/container"; a container it does
// not know is billed its request.
type UsageSource interface {
	Containers(ctx context.Context, at time.Time) (map[string]Use, error)
}

// PrometheusUsage reads cAdvisor's series (as the kubelet exports them) from Prometheus:
// CPU as a rate over Rate, memory as the working set.
type PrometheusUsage struct {
	Client *signals.Client
	Rate   time.Duration
}

// Containers reads every container's usage at at, one query for CPU and one for memory.
func (p PrometheusUsage) Containers(ctx context.Context, at time.Time) (map[string]Use, error) {
	const sel = `{container!="",container!="POD"}`
	cpuQ := fmt.Sprintf(`sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total%s[%s]))`, sel, model.Duration(p.Rate))
	memQ := `sum by (namespace, pod, container) (container_memory_working_set_bytes` + sel + `)`
	var cpu, mem map[string]float64
	var errCPU, errMem error
	var wg sync.WaitGroup
	wg.Go(func() { cpu, errCPU = p.Client.ByLabel(ctx, cpuQ, at, "namespace", "pod", "container") })
	wg.Go(func() { mem, errMem = p.Client.ByLabel(ctx, memQ, at, "namespace", "pod", "container") })
	wg.Wait()
	if err := errors.Join(errCPU, errMem); err != nil {
		return nil, fmt.Errorf("container usage from Prometheus: %w", err)
	}
	out := make(map[string]Use, len(cpu))
	for k, v := range cpu {
		u := out[k]
		u.CPU = v
		out[k] = u
	}
	for k, v := range mem {
		u := out[k]
		u.Memory = v
		out[k] = u
	}
	return out, nil
}
