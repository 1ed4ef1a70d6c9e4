package cost

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/berth-platform/berth/internal/loop"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/workloads"
	corev1 "k8s.io/api/core/v1"
)

// Sampler adds the running pods' requests (and usage, where Usage knows it) to the usage table
// every Interval.
type Sampler struct {
	Store    *store.Store
	Registry *workloads.Registry
	Interval time.Duration
	// Usage, when set, tells what the containers of Berth's own cluster ("") use: each is
	// billed the larger of its request and its usage, as OpenCost bills.
	Usage UsageSource
	// CompactAfter is how long hours are kept (their days stay).
	CompactAfter time.Duration
	Log          *slog.Logger
	compacted    time.Time
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	loop.Every(ctx, s.Interval, false, s.Log, "cost sample failed", s.Tick)
}

// Tick records the slot that now falls in: every service environment whose cluster's caches are
// synced, with its running pods' requests over one interval.
func (s *Sampler) Tick(ctx context.Context, now time.Time) error {
	secs := int64(s.Interval / time.Second)
	slot := now.Unix() / secs
	hour := time.Unix(slot*secs, 0).UTC().Truncate(time.Hour)
	deployed, err := s.Store.Q().AllDeployed(ctx)
	if err != nil {
		return err
	}
	var use map[string]Use
	if s.Usage != nil {
		// A usage source that does not answer costs the slot nothing: it is billed at requests.
		if use, err = s.Usage.Containers(ctx, now); err != nil {
			s.Log.Warn("cost sample at requests only", "error", err)
		}
	}
	var samples []store.UsageSample
	for _, d := range deployed {
		if !d.Found {
			continue
		}
		c := s.Registry.Get(d.Env.Cluster)
		if c == nil || !c.Synced() {
			continue
		}
		var known map[string]Use
		if d.Env.Cluster == "" {
			known = use
		}
		u := Of(c.Service(d.Env.Namespace, d.Service.Name), secs, known)
		if u.Zero() {
			continue
		}
		samples = append(samples, store.UsageSample{ServiceID: d.Service.ID, Environment: d.EnvName, Hour: hour, Slot: slot, Usage: u})
	}
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		for _, smp := range samples {
			if err := q.AddUsage(ctx, smp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if now.Sub(s.compacted) >= time.Hour {
		if err := s.Store.Tx(ctx, func(q store.Queries) error {
			_, err := q.CompactUsage(ctx, now.Add(-s.CompactAfter))
			return err
		}); err != nil {
			return err
		}
		s.compacted = now
	}
	return nil
}

// Of is what a service's view costs over secs seconds: its running pods' requests or usage
// (use, by namespace/pod/container, may be nil), its bound volumes' capacity and its
// LoadBalancer Service, which cost whether or not a pod runs.
func Of(v workloads.View, secs int64, use map[string]Use) store.Usage {
	u := Billed(v.Pods, secs, use)
	for _, pvc := range v.PVCs {
		if pvc.Status.Phase != corev1.ClaimBound || pvc.DeletionTimestamp != nil {
			continue
		}
		size := pvc.Status.Capacity.Storage()
		if size.IsZero() {
			size = pvc.Spec.Resources.Requests.Storage()
		}
		u.PVMiBSeconds += (size.Value() >> 20) * secs
	}
	if v.Svc != nil && v.Svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		u.LBSeconds += secs
	}
	return u
}

// Requests is what running pods requested over secs seconds: millicore-seconds, byte-seconds
// and pod-seconds; billed equals requested while Berth knows no usage.
func Requests(pods []*corev1.Pod, secs int64) store.Usage { return Billed(pods, secs, nil) }

// Billed is what running pods requested and used over secs seconds, each container billed the
// larger of the two (its request where its usage is not known).
func Billed(pods []*corev1.Pod, secs int64, use map[string]Use) store.Usage {
	var u store.Usage
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Spec.Containers {
			cpu, ram := c.Resources.Requests.Cpu().MilliValue(), c.Resources.Requests.Memory().Value()
			billedCPU, billedRAM := cpu, ram
			if x, ok := use[p.Namespace+"/"+p.Name+"/"+c.Name]; ok {
				usedCPU, usedRAM := int64(math.Round(x.CPU*1000)), int64(math.Round(x.Memory))
				u.CPUUsage += usedCPU * secs
				u.RAMUsage += usedRAM * secs
				billedCPU, billedRAM = max(cpu, usedCPU), max(ram, usedRAM)
			}
			u.CPURequest += cpu * secs
			u.RAMRequest += ram * secs
			u.CPUBilled += billedCPU * secs
			u.RAMBilled += billedRAM * secs
		}
		u.PodSeconds += secs
	}
	return u
}
