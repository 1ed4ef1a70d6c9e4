package rightsize

import (
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Policy says how usage becomes a recommendation.
type Policy struct {
	// CPUQuantile and MemoryQuantile are the usage quantiles sized for.
	CPUQuantile, MemoryQuantile float64
	// TargetUtilization is the share of a request the quantile should fill.
	TargetUtilization float64
	// MinCPU (cores) and MinMemory (bytes) are the smallest requests recommended.
	MinCPU, MinMemory float64
	// MemoryLimitHeadroom multiplies the highest working set seen: a memory limit below it
	// would have killed the container.
	MemoryLimitHeadroom float64
}

// DefaultPolicy is Kubecost's way: p95 CPU and p99 memory at 65% utilisation, floors of 10m
// and 20 MiB.
var DefaultPolicy = Policy{CPUQuantile: 0.95, MemoryQuantile: 0.99, TargetUtilization: 0.65, MinCPU: 0.010, MinMemory: 20 << 20, MemoryLimitHeadroom: 1.2}

// Resources are a container's requests and limits: cores and bytes; a nil limit is none.
type Resources struct {
	CPURequest, MemoryRequest float64
	CPULimit, MemoryLimit     *float64
}

// Container is one container of a service as its running pods declare it.
type Container struct {
	Name string
	Pods int // running pods that have it
	Resources
}

// Usage is what a container used over the window; nil where Prometheus has no series.
type Usage struct {
	CPU, Memory, MemoryMax *float64
}

// Prices are what a core-hour and a GiB-hour of memory cost.
type Prices struct{ CPUCoreHour, RAMGiBHour float64 }

// States of a recommendation.
const (
	StateNoUsage = "no-usage"
	StateOver    = "over-provisioned"
	StateUnder   = "under-provisioned"
	StateRight   = "right-sized"
)

// Recommendation is a container's proposed resources and what they save a month across its
// pods (negative: what they cost more).
type Recommendation struct {
	Container
	Usage
	Recommended    Resources
	MonthlySavings float64
	State          string
}

// hoursPerMonth as the cost model counts a month.
const hoursPerMonth = 730

// within is how close a request may be to the recommendation and still be right-sized.
const within = 0.10

// Recommend sizes c from u.
func Recommend(c Container, u Usage, p Policy, prices Prices) Recommendation {
	r := Recommendation{Container: c, Usage: u, Recommended: c.Resources, State: StateNoUsage}
	if u.CPU == nil && u.Memory == nil {
		return r
	}
	if u.CPU != nil {
		r.Recommended.CPURequest = roundUp(math.Max(*u.CPU/p.TargetUtilization, p.MinCPU), 0.005)
		r.Recommended.CPULimit = scaled(c.CPULimit, c.CPURequest, r.Recommended.CPURequest, 0.005)
	}
	if u.Memory != nil {
		r.Recommended.MemoryRequest = roundUp(math.Max(*u.Memory/p.TargetUtilization, p.MinMemory), 1<<20)
		r.Recommended.MemoryLimit = scaled(c.MemoryLimit, c.MemoryRequest, r.Recommended.MemoryRequest, 1<<20)
		if r.Recommended.MemoryLimit != nil && u.MemoryMax != nil {
			floor := roundUp(*u.MemoryMax*p.MemoryLimitHeadroom, 1<<20)
			if *r.Recommended.MemoryLimit < floor {
				r.Recommended.MemoryLimit = &floor
			}
		}
	}
	cpu := (c.CPURequest - r.Recommended.CPURequest) * prices.CPUCoreHour
	ram := (c.MemoryRequest - r.Recommended.MemoryRequest) / (1 << 30) * prices.RAMGiBHour
	r.MonthlySavings = (cpu + ram) * hoursPerMonth * float64(c.Pods)
	switch {
	case near(c.CPURequest, r.Recommended.CPURequest) && near(c.MemoryRequest, r.Recommended.MemoryRequest):
		r.State = StateRight
	case r.MonthlySavings > 0:
		r.State = StateOver
	default:
		r.State = StateUnder
	}
	return r
}

// scaled keeps a limit's ratio to its request for a new request; no limit stays none, and a
// limit of a container without a request is kept as it is.
func scaled(limit *float64, request, newRequest, unit float64) *float64 {
	if limit == nil {
		return nil
	}
	if request <= 0 {
		l := *limit
		return &l
	}
	l := roundUp(*limit/request*newRequest, unit)
	return &l
}

func roundUp(v, unit float64) float64 { return math.Ceil(v/unit-1e-9) * unit }

func near(have, want float64) bool { return math.Abs(have-want) <= within*want }

// Containers are the containers of the running pods, by name, as the newest pod declares
// them (pods of an older revision may still run beside it).
func Containers(pods []*corev1.Pod) []Container {
	running := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running = append(running, p)
		}
	}
	sort.SliceStable(running, func(i, j int) bool { return running[j].CreationTimestamp.Before(&running[i].CreationTimestamp) })
	byName := map[string]*Container{}
	var order []string
	for _, p := range running {
		for _, c := range p.Spec.Containers {
			if x := byName[c.Name]; x != nil {
				x.Pods++
				continue
			}
			x := &Container{Name: c.Name, Pods: 1, Resources: Resources{
				CPURequest: c.Resources.Requests.Cpu().AsApproximateFloat64(), MemoryRequest: c.Resources.Requests.Memory().AsApproximateFloat64()}}
			if l, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
				v := l.AsApproximateFloat64()
				x.CPULimit = &v
			}
			if l, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				v := l.AsApproximateFloat64()
				x.MemoryLimit = &v
			}
			byName[c.Name] = x
			order = append(order, c.Name)
		}
	}
	sort.Strings(order)
	out := make([]Container, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out
}
