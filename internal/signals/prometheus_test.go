package signals

import (
	"context"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/signals/signalstest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func pod(cpu, mem, cpuLimit string) *corev1.Pod {
	c := corev1.Container{Name: "web", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)}}}
	if cpuLimit != "" {
		c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse(cpuLimit)
	}
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{c}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

func near(v *float64, want float64) bool { return v != nil && math.Abs(*v-want) <= 0.05*want }

// The four signals of one service from a real Prometheus: only its pods, in its namespace;
// requests and limits from its pods; missing series said as such; a range for a chart; a
// platform's own query for a runtime; a Prometheus that does not answer named without its
// address.
func TestSignalsFromPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prometheus")
	}
	url := signalstest.StartPrometheus(t, signalstest.Exporter(t, "shop-dev", "web-5f7d9c8b6-x2x9q"))
	c, err := NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := NewQueries(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(c, queries, 5*time.Second) // rate divides by the window: it must hold data throughout
	target := Target{Namespace: "shop-dev", Service: "web", Runtime: "go", Pods: []*corev1.Pod{pod("250m", "128Mi", "500m"), pod("250m", "128Mi", "500m")}}
	var s Snapshot
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s, err = r.Now(t.Context(), target, time.Now()); err != nil {
			t.Fatal(err)
		}
		if near(s.Signals[3].Value, 10) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	want := map[string]float64{LatencyP50: 0.2, LatencyP95: 0.5, LatencyP99: 0.5, RequestRate: 10, ErrorRatio: 0.1, CPU: 0.25, Memory: 100 << 20}
	for _, sig := range s.Signals {
		if !near(sig.Value, want[sig.Name]) || sig.Problem != "" {
			v := "none"
			if sig.Value != nil {
				v = fmt.Sprint(*sig.Value)
			}
			t.Errorf("%s = %s, want %v (%s) %s", sig.Name, v, want[sig.Name], sig.Query, sig.Problem)
		}
	}
	if s.CPURequested != 0.5 || s.CPULimit == nil || *s.CPULimit != 1 || s.MemoryRequested != 256<<20 || s.MemoryLimit == nil || *s.MemoryLimit != 256<<20 {
		t.Errorf("requests: cpu %v limit %v, memory %v limit %v", s.CPURequested, s.CPULimit, s.MemoryRequested, s.MemoryLimit)
	}
	// A container without a CPU limit: the service's CPU has none.
	if _, cl, _, _ := Requests([]*corev1.Pod{pod("250m", "128Mi", "500m"), pod("250m", "128Mi", "")}); cl != nil {
		t.Errorf("a container without a CPU limit, yet a limit of %v", *cl)
	}

	// A service Prometheus knows nothing of: every signal missing, and no problem.
	none, err := r.Now(t.Context(), Target{Namespace: "shop-dev", Service: "cart"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range none.Signals {
		if sig.Value != nil || sig.Problem != "" {
			t.Errorf("cart's %s: %v %q", sig.Name, *sig.Value, sig.Problem)
		}
	}
	points, q, err := r.Range(t.Context(), target, RequestRate, time.Now().Add(-10*time.Second), time.Now(), time.Second)
	if err != nil || len(points) < 3 || !near(&points[len(points)-1].V, 10) || !strings.Contains(q, `namespace="shop-dev"`) {
		t.Fatalf("range: %d points, %v (%s)", len(points), err, q)
	}
	if _, _, err := r.Range(t.Context(), target, "bogus", time.Now().Add(-time.Minute), time.Now(), time.Second); err == nil {
		t.Fatal("an unknown signal's range")
	}

	// The platform's query for the go runtime: web's own pod only, counted its way.
	own, err := NewQueries(QueriesFile{"go": {RequestRate: `sum(rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.Pods}}",code="500"}[{{.Window}}]))`}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ = NewReader(c, own, 5*time.Second).Now(t.Context(), target, time.Now())
	if !near(s.Signals[3].Value, 1) || !near(s.Signals[4].Value, 0.1) {
		t.Errorf("own query: request rate %v, error ratio %v", s.Signals[3].Value, s.Signals[4].Value)
	}
	if _, err := NewQueries(QueriesFile{"go": {"throughput": "x"}}); err == nil {
		t.Error("an unknown signal in the queries file")
	}
	if _, err := NewQueries(QueriesFile{"go": {CPU: "{{.Nope"}}); err == nil {
		t.Error("a broken template in the queries file")
	}

	// Prometheus gone: each signal says so, without its address.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := "http://" + l.Addr().String()
	l.Close()
	gc, _ := NewClient(gone)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, _ = NewReader(gc, queries, time.Minute).Now(ctx, target, time.Now())
	for _, sig := range s.Signals {
		if sig.Value != nil || sig.Problem != "Prometheus did not answer" || strings.Contains(sig.Problem, "127.0.0.1") {
			t.Errorf("%s with Prometheus gone: %v %q", sig.Name, sig.Value, sig.Problem)
		}
	}
}

func TestRenderRefusesWhatCouldEndAMatcher(t *testing.T) {
	q, _ := NewQueries(nil)
	if _, err := q.Render("go", CPU, Vars{Namespace: `shop-dev"}`, Service: "web", Pods: PodsOf("web"), Window: "5m"}); err == nil {
		t.Fatal("a quote went into a query")
	}
	got, err := q.Render("go", CPU, Vars{Namespace: "shop-dev", Service: "web", Pods: PodsOf("web"), Window: "5m"})
	if err != nil || !strings.Contains(got, `pod=~"web-[a-z0-9]{5,10}-[a-z0-9]{5}"`) {
		t.Fatalf("%s %v", got, err)
	}
}
