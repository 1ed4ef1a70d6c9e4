package rightsize_test

import (
	"math"
	"testing"

	"github.com/berth-platform/berth/internal/rightsize"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func f(v float64) *float64 { return &v }

var prices = rightsize.Prices{CPUCoreHour: 0.031611, RAMGiBHour: 0.004237}

// Each case worked by hand: the quantile over 65%, rounded up to 5m and 1 MiB, floors of 10m
// and 20 MiB; limits keep their ratio, a memory limit at least the peak plus 20%; savings at
// 730 hours a month across the pods.
func TestRecommend(t *testing.T) {
	const mi = 1 << 20
	cases := []struct {
		name    string
		c       rightsize.Container
		u       rightsize.Usage
		want    rightsize.Resources
		savings float64
		state   string
	}{
		{"over-provisioned, three pods", rightsize.Container{Name: "app", Pods: 3, Resources: rightsize.Resources{CPURequest: 1, MemoryRequest: 1024 * mi, CPULimit: f(2), MemoryLimit: f(2048 * mi)}},
			rightsize.Usage{CPU: f(0.13), Memory: f(130 * mi), MemoryMax: f(150 * mi)},
			rightsize.Resources{CPURequest: 0.2, MemoryRequest: 200 * mi, CPULimit: f(0.4), MemoryLimit: f(400 * mi)},
			3 * 730 * (0.8*0.031611 + 824.0/1024*0.004237), rightsize.StateOver},
		{"under-provisioned, the memory limit raised to the peak", rightsize.Container{Name: "app", Pods: 1, Resources: rightsize.Resources{CPURequest: 0.25, MemoryRequest: 128 * mi, CPULimit: f(0.25), MemoryLimit: f(128 * mi)}},
			rightsize.Usage{CPU: f(0.25), Memory: f(100 * mi), MemoryMax: f(300 * mi)},
			rightsize.Resources{CPURequest: 0.385, MemoryRequest: 154 * mi, CPULimit: f(0.385), MemoryLimit: f(360 * mi)},
			730 * (-0.135*0.031611 - 26.0/1024*0.004237), rightsize.StateUnder},
		{"idle: the floors, no limits stay none", rightsize.Container{Name: "app", Pods: 2, Resources: rightsize.Resources{CPURequest: 0.1, MemoryRequest: 64 * mi}},
			rightsize.Usage{CPU: f(0.0001), Memory: f(1 * mi), MemoryMax: f(2 * mi)},
			rightsize.Resources{CPURequest: 0.01, MemoryRequest: 20 * mi},
			2 * 730 * (0.09*0.031611 + 44.0/1024*0.004237), rightsize.StateOver},
		{"right-sized within 10%", rightsize.Container{Name: "app", Pods: 1, Resources: rightsize.Resources{CPURequest: 0.5, MemoryRequest: 256 * mi}},
			rightsize.Usage{CPU: f(0.3), Memory: f(160 * mi)},
			rightsize.Resources{CPURequest: 0.465, MemoryRequest: 247 * mi},
			730 * (0.035*0.031611 + 9.0/1024*0.004237), rightsize.StateRight},
		{"no usage known", rightsize.Container{Name: "app", Pods: 1, Resources: rightsize.Resources{CPURequest: 0.5, MemoryRequest: 256 * mi}},
			rightsize.Usage{}, rightsize.Resources{CPURequest: 0.5, MemoryRequest: 256 * mi}, 0, rightsize.StateNoUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rightsize.Recommend(c.c, c.u, rightsize.DefaultPolicy, prices)
			got := r.Recommended
			if math.Abs(got.CPURequest-c.want.CPURequest) > 1e-9 || math.Abs(got.MemoryRequest-c.want.MemoryRequest) > 0.5 ||
				!same(got.CPULimit, c.want.CPULimit, 1e-9) || !same(got.MemoryLimit, c.want.MemoryLimit, 0.5) {
				t.Fatalf("recommended %+v (limits %v %v), want %+v (limits %v %v)", got, deref(got.CPULimit), deref(got.MemoryLimit), c.want, deref(c.want.CPULimit), deref(c.want.MemoryLimit))
			}
			if math.Abs(r.MonthlySavings-c.savings) > 1e-6 || r.State != c.state {
				t.Fatalf("savings %.6f %s, want %.6f %s", r.MonthlySavings, r.State, c.savings, c.state)
			}
		})
	}
}

func same(a, b *float64, tol float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= tol
}

func deref(v *float64) any {
	if v == nil {
		return "none"
	}
	return *v
}

// The newest running pod says what a container asks; pods that do not run are not counted.
func TestContainers(t *testing.T) {
	pod := func(name string, age int64, phase corev1.PodPhase, cpu string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Unix(1_800_000_000-age, 0)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}, Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}},
				{Name: "proxy"}}},
			Status: corev1.PodStatus{Phase: phase}}
	}
	got := rightsize.Containers([]*corev1.Pod{pod("old", 100, corev1.PodRunning, "1"), pod("new", 10, corev1.PodRunning, "500m"), pod("pending", 1, corev1.PodPending, "2")})
	if len(got) != 2 || got[0].Name != "app" || got[0].Pods != 2 || got[0].CPURequest != 0.5 || got[0].CPULimit != nil || got[0].MemoryLimit == nil ||
		*got[0].MemoryLimit != 1<<30 || got[1].Name != "proxy" || got[1].Pods != 2 {
		t.Fatalf("%+v", got)
	}
}
