package cli_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/signals/signalstest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The golden signals through berth serve: from a real Prometheus scraping series labelled like
// the service's pod, requests and limits from that pod as Berth's informers hold it, a range
// for a chart; an outsider learns nothing, and a range of too many points is refused.
func TestSignalsEndpoint(t *testing.T) {
	p := ownPlane(t)
	const podName = "web-5f7d9c8b6-x2x9q"
	prom := signalstest.StartPrometheus(t, signalstest.Exporter(t, "shop-dev", podName))
	addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig, "--service-tokens", "eve=eve-token-0123456789",
		"--prometheus-url", prom, "--signals-window", "5s")
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	get := func(token, path string, into any) int { return apiCall(t, base, token, "GET", path, "", into) }
	post := func(path, body string) int { return apiCall(t, base, "ci-token-0123456789", "POST", path, body, nil) }
	if s := post("/api/v1/teams", `{"name":"shop"}`); s != 201 {
		t.Fatalf("team: %d", s)
	}
	if s := post("/api/v1/teams/shop/services", `{"name":"web","blueprint":"go-api","image":"registry.example.com/shop/web","tag":"1.0.0","environments":["dev"]}`); s != 202 {
		t.Fatalf("service: %d", s)
	}
	plane.Eventually(t, time.Minute, "namespace shop-dev", func() (bool, error) {
		_, err := p.Client.CoreV1().Namespaces().Get(t.Context(), "shop-dev", metav1.GetOptions{})
		return err == nil, err
	})
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: "shop-dev",
		Labels: map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "berth"}},
		Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/web:1.0.0", Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
	if _, err := p.Client.CoreV1().Pods("shop-dev").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	type signal struct {
		Name, Unit string
		Value      *float64
		Missing    bool
		Query      string
	}
	var now struct {
		Signals     []signal
		Cpu, Memory struct {
			Requested float64
			Limit     *float64
		}
	}
	near := func(v *float64, want float64) bool { return v != nil && math.Abs(*v-want) <= 0.05*want }
	plane.Eventually(t, 60*time.Second, "the signals of web's running pod", func() (bool, error) {
		if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/signals?environment=dev", &now); s != 200 {
			return false, fmt.Errorf("status %d", s)
		}
		return len(now.Signals) == 7 && near(now.Signals[3].Value, 10) && now.Cpu.Requested == 0.25, fmt.Errorf("%+v", now)
	})
	want := map[string]float64{"latencyP50": 0.2, "latencyP95": 0.5, "latencyP99": 0.5, "requestRate": 10, "errorRatio": 0.1, "cpu": 0.25, "memory": 100 << 20}
	for _, s := range now.Signals {
		if !near(s.Value, want[s.Name]) || s.Missing || !strings.Contains(s.Query, `namespace="shop-dev"`) {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if now.Cpu.Limit == nil || *now.Cpu.Limit != 0.25 || now.Memory.Requested != 128<<20 {
		t.Errorf("requests and limits: %+v", now)
	}
	var rng struct {
		Step   int
		Points []struct{ V float64 }
	}
	if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/signals/requestRate?environment=dev&sinceSeconds=60&step=2", &rng); s != 200 || rng.Step != 2 || len(rng.Points) < 2 {
		t.Fatalf("range: %d %+v", s, rng)
	}
	var problem struct{ Errors []struct{ Parameter string } }
	if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/signals/cpu?environment=dev&sinceSeconds=604800&step=60", &problem); s != 400 || len(problem.Errors) != 1 || problem.Errors[0].Parameter != "step" {
		t.Fatalf("too many points: %d %+v", s, problem)
	}
	if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/signals?environment=staging", &problem); s != 404 {
		t.Fatalf("an environment the service is not in: %d", s)
	}
	if s := get("eve-token-0123456789", "/api/v1/teams/shop/services/web/signals?environment=dev", &problem); s != 404 {
		t.Fatalf("an outsider: %d", s)
	}

	// Rightsizing from the same Prometheus: web asks 250m and 128 MiB and uses 0.25 cores and
	// 100 MiB, so it should ask 0.25/0.65 = 385m and 154 MiB, limits at the same ratio (1).
	var rs struct {
		WindowHours int
		Containers  []struct {
			Container, State     string
			Pods                 int
			Current, Recommended struct {
				CpuRequest, MemoryRequest float64
				CpuLimit, MemoryLimit     *float64
			}
			Usage          struct{ Cpu, Memory, MemoryMax *float64 }
			MonthlySavings float64
		}
		MonthlySavings float64
		Queries        struct{ Cpu string }
	}
	// The rate of a young series reads low until it fills its window: wait until it reads
	// most of the 0.25 cores the pod uses.
	plane.Eventually(t, 90*time.Second, "web's usage over the last hour", func() (bool, error) {
		if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/rightsizing?environment=dev&windowHours=1", &rs); s != 200 {
			return false, fmt.Errorf("status %d", s)
		}
		return len(rs.Containers) == 1 && rs.Containers[0].Usage.Cpu != nil && *rs.Containers[0].Usage.Cpu >= 0.15 && rs.Containers[0].Usage.Memory != nil, fmt.Errorf("%+v", rs)
	})
	// The proposal follows the rate Prometheus read: about 0.25, lower at first (a rate over a
	// window its young series does not fill reads low); the sizing itself is worked by hand in
	// internal/rightsize. Memory, a gauge, is exact.
	c := rs.Containers[0]
	saves := 730 * ((0.25-c.Recommended.CpuRequest)*0.031611 - 26.0/1024*0.004237)
	if rs.WindowHours != 1 || c.Container != "web" || c.Pods != 1 || c.Current.CpuRequest != 0.25 || c.Current.MemoryRequest != 128<<20 ||
		c.Usage.Cpu == nil || *c.Usage.Cpu < 0.15 || *c.Usage.Cpu > 0.3 || math.Abs(c.Recommended.CpuRequest-math.Ceil(*c.Usage.Cpu/0.65/0.005-1e-9)*0.005) > 1e-9 || c.Recommended.MemoryRequest != 154<<20 ||
		c.Recommended.CpuLimit == nil || *c.Recommended.CpuLimit != c.Recommended.CpuRequest || c.Recommended.MemoryLimit == nil || *c.Recommended.MemoryLimit != 154<<20 ||
		(c.State != "under-provisioned") != (saves >= 0) || math.Abs(c.MonthlySavings-saves) > 1e-6 || rs.MonthlySavings != c.MonthlySavings ||
		!strings.Contains(rs.Queries.Cpu, `namespace="shop-dev"`) {
		t.Fatalf("rightsizing %+v", rs)
	}
	if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/rightsizing?environment=dev&windowHours=721", &problem); s != 400 || len(problem.Errors) != 1 || problem.Errors[0].Parameter != "windowHours" {
		t.Fatalf("a window past 30 days: %d %+v", s, problem)
	}
	if s := get("ci-token-0123456789", "/api/v1/teams/shop/services/web/rightsizing?environment=staging", &problem); s != 404 {
		t.Fatalf("rightsizing an environment the service is not in: %d", s)
	}
	if s := get("eve-token-0123456789", "/api/v1/teams/shop/services/web/rightsizing?environment=dev", &problem); s != 404 {
		t.Fatalf("rightsizing as an outsider: %d", s)
	}
}
