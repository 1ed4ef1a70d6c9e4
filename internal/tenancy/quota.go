package tenancy

import (
	"fmt"
	"math"

	"github.com/berth-platform/berth/internal/errs"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Prices are what compute costs per hour, OpenCost's defaults unless configured.
type Prices struct {
	CPUCoreHour   float64 // per core-hour
	RAMGiBHour    float64 // per GiB-hour
	HoursPerMonth float64
}

// DefaultPrices are OpenCost's default on-demand prices.
var DefaultPrices = Prices{CPUCoreHour: 0.031611, RAMGiBHour: 0.004237, HoursPerMonth: 730}

// Quota is the hard limits of a team environment's ResourceQuota.
type Quota struct {
	RequestsCPU    resource.Quantity
	RequestsMemory resource.Quantity
	LimitsCPU      resource.Quantity
	LimitsMemory   resource.Quantity
	Pods           int64
}

// Hard is the quota as a ResourceQuota's hard limits.
func (q Quota) Hard() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceRequestsCPU:    q.RequestsCPU,
		corev1.ResourceRequestsMemory: q.RequestsMemory,
		corev1.ResourceLimitsCPU:      q.LimitsCPU,
		corev1.ResourceLimitsMemory:   q.LimitsMemory,
		corev1.ResourcePods:           *resourceInt(q.Pods),
	}
}

// Tier is a named quota size.
type Tier struct {
	Name  string
	Quota Quota
}

func tier(name, cpu, mem string, pods int64) Tier {
	c, m := resource.MustParse(cpu), resource.MustParse(mem)
	lc, lm := c.DeepCopy(), m.DeepCopy()
	lc.Add(c)
	lm.Add(m)
	return Tier{Name: name, Quota: Quota{RequestsCPU: c, RequestsMemory: m, LimitsCPU: lc, LimitsMemory: lm, Pods: pods}}
}

// Tiers are the built-in quota sizes; limits are twice the requests.
var Tiers = map[string]Tier{
	"small":  tier("small", "2", "4Gi", 20),
	"medium": tier("medium", "8", "16Gi", 50),
	"large":  tier("large", "32", "64Gi", 200),
}

// Container defaults of every team LimitRange: what a container gets when it says nothing.
var (
	DefaultRequestCPU    = resource.MustParse("100m")
	DefaultRequestMemory = resource.MustParse("128Mi")
	DefaultLimitCPU      = resource.MustParse("500m")
	DefaultLimitMemory   = resource.MustParse("512Mi")
)

// Budget turns a monthly amount into a quota: the CPU share of the money buys core-hours, the
// rest buys GiB-hours, over a month of HoursPerMonth. Limits allow LimitRatio times the requests.
type Budget struct {
	Monthly    float64
	CPUShare   float64 // 0 < share < 1
	LimitRatio float64 // >= 1
}

// Arithmetic shows how a budget became a quota, for humans.
type Arithmetic struct {
	Prices      Prices
	CPUMoney    float64
	MemoryMoney float64
	CPUCores    float64
	MemoryGiB   float64
	Steps       []string
}

// QuotaForBudget computes the quota a budget pays for. A budget that cannot pay for one
// container at the LimitRange defaults is invalid.
func QuotaForBudget(b Budget, p Prices) (Quota, Arithmetic, error) {
	switch {
	case !(b.Monthly > 0) || math.IsInf(b.Monthly, 0):
		return Quota{}, Arithmetic{}, errs.Invalid("/budget/monthly", "must be a positive amount")
	case !(b.CPUShare > 0 && b.CPUShare < 1):
		return Quota{}, Arithmetic{}, errs.Invalid("/budget/cpuShare", "must be between 0 and 1 (exclusive)")
	case !(b.LimitRatio >= 1) || b.LimitRatio > 10:
		return Quota{}, Arithmetic{}, errs.Invalid("/budget/limitRatio", "must be between 1 and 10")
	}
	a := Arithmetic{Prices: p}
	a.CPUMoney = b.Monthly * b.CPUShare
	a.MemoryMoney = b.Monthly - a.CPUMoney
	a.CPUCores = a.CPUMoney / (p.CPUCoreHour * p.HoursPerMonth)
	a.MemoryGiB = a.MemoryMoney / (p.RAMGiBHour * p.HoursPerMonth)
	a.Steps = []string{
		fmt.Sprintf("CPU: %.2f x %.2f = %.4f per month / (%.6f per core-hour x %.0f h) = %.3f cores", b.Monthly, b.CPUShare, a.CPUMoney, p.CPUCoreHour, p.HoursPerMonth, a.CPUCores),
		fmt.Sprintf("memory: %.2f - %.4f = %.4f per month / (%.6f per GiB-hour x %.0f h) = %.3f GiB", b.Monthly, a.CPUMoney, a.MemoryMoney, p.RAMGiBHour, p.HoursPerMonth, a.MemoryGiB),
		fmt.Sprintf("limits: requests x %.2f", b.LimitRatio),
	}
	// Round down to what Kubernetes expresses exactly: millicores and MiB.
	milli := int64(math.Floor(a.CPUCores * 1000))
	mib := int64(math.Floor(a.MemoryGiB * 1024))
	if milli < DefaultRequestCPU.MilliValue() || mib*1024*1024 < DefaultRequestMemory.Value() {
		minimum := (DefaultRequestCPU.AsApproximateFloat64()*p.CPUCoreHour + DefaultRequestMemory.AsApproximateFloat64()/(1<<30)*p.RAMGiBHour) * p.HoursPerMonth
		return Quota{}, a, errs.Invalid("/budget/monthly", "%.2f per month does not pay for one container at the defaults (%s CPU, %s memory): that needs at least %.2f with this CPU share",
			b.Monthly, DefaultRequestCPU.String(), DefaultRequestMemory.String(), math.Max(minimum, minForShare(b.CPUShare, p)))
	}
	q := Quota{
		RequestsCPU:    *resource.NewMilliQuantity(milli, resource.DecimalSI),
		RequestsMemory: *resource.NewQuantity(mib*1024*1024, resource.BinarySI),
		LimitsCPU:      *resource.NewMilliQuantity(int64(math.Floor(float64(milli)*b.LimitRatio)), resource.DecimalSI),
		LimitsMemory:   *resource.NewQuantity(int64(math.Floor(float64(mib)*b.LimitRatio))*1024*1024, resource.BinarySI),
		// A pod needs at least one default container's requests.
		Pods: min(milli/DefaultRequestCPU.MilliValue(), mib*1024*1024/DefaultRequestMemory.Value()),
	}
	return q, a, nil
}

// minForShare is the smallest budget that, split by share, pays for one default container.
func minForShare(share float64, p Prices) float64 {
	cpu := DefaultRequestCPU.AsApproximateFloat64() * p.CPUCoreHour * p.HoursPerMonth / share
	mem := DefaultRequestMemory.AsApproximateFloat64() / (1 << 30) * p.RAMGiBHour * p.HoursPerMonth / (1 - share)
	return math.Max(cpu, mem)
}

func resourceInt(n int64) *resource.Quantity { return resource.NewQuantity(n, resource.DecimalSI) }
