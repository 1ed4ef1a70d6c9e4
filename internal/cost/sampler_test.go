package cost_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/signals"
	"github.com/berth-platform/berth/internal/signals/signalstest"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/workloads/workloadstest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

// Berth's model on a real API server and each real database, against a hand computation: two
// running pods of 250m and 128 MiB for three one-minute slots, a pending pod that costs
// nothing, a bound 10 GiB volume, a pending one that costs nothing, a LoadBalancer Service, a
// slot sampled by two replicas counted once.
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
			// A 10 GiB volume the PV controller binds to the service's claim of 8 GiB (billed at
			// the volume's capacity), a second claim it cannot bind (not billed), and the
			// service's LoadBalancer Service.
			labels := map[string]string{"app.kubernetes.io/name": "api", "app.kubernetes.io/managed-by": "berth"}
			class := "berth-test-" + driver
			pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: ns + "-pv"}, Spec: corev1.PersistentVolumeSpec{
				StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}}}}
			if _, err := p.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = p.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
			})
			for _, name := range []string{"data-api-0", "data-api-1"} {
				pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
					Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("8Gi")}}}}
				if _, err := p.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns, Labels: labels},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}
			if _, err := p.Client.CoreV1().Services(ns).Create(ctx, lb, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			plane.Eventually(t, 30*time.Second, "two pods running, the volume bound and the load balancer in the caches", func() (bool, error) {
				c := reg.Get("")
				if c == nil || !c.Synced() {
					return false, nil
				}
				u := cost.Of(c.Service(ns, "api"), 1, nil)
				return u.PodSeconds == 2 && u.PVMiBSeconds == 10<<10 && u.LBSeconds == 1, fmt.Errorf("sampled %+v", u)
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
			// 10 GiB for 180 s: 0.5 GiB-hours; the load balancer 180 s: 0.05 hours.
			if len(usage) != 1 || usage[0].CPUBilled != 90_000 || usage[0].RAMBilled != 3*60*2*128<<20 || usage[0].PodSeconds != 360 ||
				usage[0].PVMiBSeconds != 180*10<<10 || usage[0].LBSeconds != 180 {
				t.Fatalf("usage: %+v", usage)
			}
			lines, days := cost.Attribute(usage, map[string]string{"s1": "api"}, cost.Prices{CPUCoreHour: 0.031611, RAMGiBHour: 0.004237, PVGiBMonth: 0.04, LoadBalancerHour: 0.025})
			pvCost, lbCost := 0.5*0.04/730, 0.05*0.025
			want := 0.025*0.031611 + 0.0125*0.004237 + pvCost + lbCost
			if len(lines) != 1 || lines[0].Service != "api" || math.Abs(lines[0].CoreHours-0.025) > 1e-12 || math.Abs(lines[0].GiBHours-0.0125) > 1e-12 ||
				math.Abs(lines[0].PVGiBHours-0.5) > 1e-12 || math.Abs(lines[0].LoadBalancerHours-0.05) > 1e-12 ||
				math.Abs(lines[0].PVCost-pvCost) > 1e-12 || math.Abs(lines[0].LoadBalancerCost-lbCost) > 1e-12 ||
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

// Where Prometheus knows a container's usage it is billed the larger of usage and request: a
// real Prometheus scraping cAdvisor-shaped series of a pod on the plane whose container asks
// 100m and 256 MiB and uses about 0.25 cores and 100 MiB bills its CPU usage and its memory
// request.
func TestSamplerBillsUsageOverRequest(t *testing.T) {
	p := plane.Get(t)
	st := storetest.Open(t, "sqlite")
	ns := p.Namespace(t, "cost-usage")
	ctx := t.Context()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	storetest.SeedService(t, st, ns, t0)
	const podName = "api-5f7d9c8b6-x2x9q"
	prom := signalstest.StartPrometheus(t, signalstest.Exporter(t, ns, podName))
	client, err := signals.NewClient(prom)
	if err != nil {
		t.Fatal(err)
	}
	reg := workloadstest.Registry(t, p.Config)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: ns,
		Labels: map[string]string{"app.kubernetes.io/name": "api", "app.kubernetes.io/managed-by": "berth"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/api:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}}}
	if _, err := p.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "the pod running in the caches", func() (bool, error) {
		c := reg.Get("")
		return c != nil && c.Synced() && cost.Requests(c.Service(ns, "api").Pods, 1).PodSeconds == 1, nil
	})
	source := cost.PrometheusUsage{Client: client, Rate: 5 * time.Second}
	// A series younger than the rate window reads low (Prometheus extrapolates at most half a
	// scrape before its first sample): wait until the window is full.
	plane.Eventually(t, 30*time.Second, "the container's usage in Prometheus", func() (bool, error) {
		use, err := source.Containers(ctx, time.Now())
		return use[ns+"/"+podName+"/web"].CPU > 0.2, err
	})
	s := &cost.Sampler{Store: st, Registry: reg, Interval: time.Minute, CompactAfter: 7 * 24 * time.Hour, Usage: source,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Tick(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	usage, err := st.Q().UsageByDay(ctx, []string{"s1"}, now.Truncate(time.Hour), now.Truncate(time.Hour).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The rate is about 0.25 (scrapes are not exactly a second apart); what is billed is exactly
	// the larger of it and the request.
	if len(usage) != 1 {
		t.Fatalf("usage %+v", usage)
	}
	u := usage[0]
	if u.CPURequest != 100*60 || u.CPUUsage < 200*60 || u.CPUUsage > 300*60 || u.CPUBilled != max(u.CPURequest, u.CPUUsage) ||
		u.RAMUsage != 100<<20*60 || u.RAMRequest != 256<<20*60 || u.RAMBilled != u.RAMRequest {
		t.Fatalf("one minute of usage: %+v", u)
	}
}
