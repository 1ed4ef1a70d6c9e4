package cost_test

import (
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/workloads/workloadstest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

// Berth's model on a real API server and each real database, against a hand computation: two
// running pods of 250m and 128 MiB for three one-minute slots, a pending pod that costs
// nothing, a slot sampled by two replicas counted once.
func TestSamplesMatchAHandComputation(t *testing.T) {
	p := plane.Get(t)
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			st := storetest.Open(t, driver)
			ns := p.Namespace(t, "cost-"+driver)
			ctx := t.Context()
			q := st.Q()
			t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
			storetest.SeedService(t, st, ns, t0)
			reg := workloadstest.Registry(t, p.Config)
			res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
			for i, scheduler := range []string{"", "", "berth-test-nobody"} {
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-7d9f8-" + string(rune('a'+i)) + "bcde", Namespace: ns,
					Labels: map[string]string{"app.kubernetes.io/name": "api", "app.kubernetes.io/managed-by": "berth"}},
					Spec: corev1.PodSpec{SchedulerName: scheduler, Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/shop/api:1",
						Resources: corev1.ResourceRequirements{Requests: res}}}}}
				if _, err := p.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			plane.Eventually(t, 30*time.Second, "two pods running in the caches", func() (bool, error) {
				c := reg.Get("")
				return c != nil && c.Synced() && cost.Requests(c.Service(ns, "api").Pods, 1).PodSeconds == 2, nil
			})
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			s := &cost.Sampler{Store: st, Registry: reg, Interval: time.Minute, CompactAfter: 7 * 24 * time.Hour, Log: log}
			replica := &cost.Sampler{Store: st, Registry: reg, Interval: time.Minute, CompactAfter: 7 * 24 * time.Hour, Log: log}
			for _, at := range []time.Duration{0, time.Minute, 2 * time.Minute} {
				if err := s.Tick(ctx, t0.Add(at+5*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			if err := replica.Tick(ctx, t0.Add(time.Minute+30*time.Second)); err != nil { // the same slot as the second tick
				t.Fatal(err)
			}
			usage, err := q.UsageByDay(ctx, []string{"s1"}, t0.Truncate(24*time.Hour), t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			// By hand: 3 slots x 60 s x 2 pods x 250 millicores = 90,000 millicore-seconds
			// (0.025 core-hours); x 128 MiB = 45 GiB-seconds (0.0125 GiB-hours).
			if len(usage) != 1 || usage[0].CPUBilled != 90_000 || usage[0].RAMBilled != 3*60*2*128<<20 || usage[0].PodSeconds != 360 {
				t.Fatalf("usage: %+v", usage)
			}
			lines, days := cost.Attribute(usage, map[string]string{"s1": "api"}, cost.Prices{CPUCoreHour: 0.031611, RAMGiBHour: 0.004237})
			want := 0.025*0.031611 + 0.0125*0.004237
			if len(lines) != 1 || lines[0].Service != "api" || math.Abs(lines[0].CoreHours-0.025) > 1e-12 || math.Abs(lines[0].GiBHours-0.0125) > 1e-12 ||
				math.Abs(lines[0].Cost-want) > 1e-12 || len(days) != 1 || math.Abs(days[0].Cost-want) > 1e-12 {
				t.Fatalf("attributed: %+v %+v, want $%.10f", lines, days, want)
			}
		})
	}
}

func TestWindowsAndForecast(t *testing.T) {
	now := time.Date(2026, 12, 11, 14, 30, 0, 0, time.UTC)
	for name, start := range map[string]time.Time{"today": time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC),
		"7d": time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), "month": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} {
		w, err := cost.ParseWindow(name, nil, nil, now)
		if err != nil || !w.Start.Equal(start) || !w.End.Equal(time.Date(2026, 12, 11, 15, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: %v %v", name, w, err)
		}
	}
	a, b := now.Add(-48*time.Hour), now
	if w, err := cost.ParseWindow("custom", &a, &b, now); err != nil || w.End.Sub(w.Start) != 48*time.Hour {
		t.Errorf("custom: %v %v", w, err)
	}
	for _, bad := range [][2]*time.Time{{nil, &b}, {&b, &a}} {
		if _, err := cost.ParseWindow("custom", bad[0], bad[1], now); err == nil {
			t.Errorf("custom %v accepted", bad)
		}
	}
	if _, err := cost.ParseWindow("year", nil, nil, now); err == nil {
		t.Error("an unknown window accepted")
	}
	// 10 days and 14.5 hours of December cost $25.35: 744 hours at that rate.
	if f := cost.Forecast(25.35, now); math.Abs(f-25.35/254.5*744) > 1e-9 {
		t.Errorf("forecast %v", f)
	}
}
