package sleep_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/sleep"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{ArgoCD: true}) }

func labels(name string) map[string]string { return map[string]string{"app.kubernetes.io/name": name} }

func template(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/shop/" + name + ":1"}}}}
}

// On a real API server: a sleep scales Deployments and StatefulSets to zero and suspends
// CronJobs, a second sleep changes nothing, a wake restores exactly what each was (an already
// suspended CronJob stays suspended, a Deployment of zero stays zero) and gives back the fields
// it owned, a second wake changes nothing; a Deployment a person scaled while it slept is
// reported and left as they made it.
func TestSleepAndWake(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "sleep")
	ctx := t.Context()
	apps, batch := p.Client.AppsV1(), p.Client.BatchV1()
	for name, n := range map[string]int32{"api": 3, "worker": 1, "idle": 0, "by-hand": 2} {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: labels(name)}, Template: template(name)}}
		if _, err := apps.Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	st := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2),
		Selector: &metav1.LabelSelector{MatchLabels: labels("db")}, Template: template("db")}}
	if _, err := apps.StatefulSets(ns).Create(ctx, st, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, suspended := range map[string]bool{"report": false, "paused": true} {
		job := template(name)
		job.Spec.RestartPolicy = corev1.RestartPolicyNever
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: ptr.To(suspended),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: job}}}}
		if _, err := batch.CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	state := func() map[string]string {
		out := map[string]string{}
		ds, _ := apps.Deployments(ns).List(ctx, metav1.ListOptions{})
		for _, d := range ds.Items {
			out[d.Name] = itoa(*d.Spec.Replicas) + mark(d.Annotations)
		}
		ss, _ := apps.StatefulSets(ns).List(ctx, metav1.ListOptions{})
		for _, s := range ss.Items {
			out[s.Name] = itoa(*s.Spec.Replicas) + mark(s.Annotations)
		}
		cs, _ := batch.CronJobs(ns).List(ctx, metav1.ListOptions{})
		for _, c := range cs.Items {
			out[c.Name] = map[bool]string{true: "suspended", false: "running"}[*c.Spec.Suspend] + mark(c.Annotations)
		}
		return out
	}
	want := func(when string, w map[string]string) {
		t.Helper()
		got := state()
		for k, v := range w {
			if got[k] != v {
				t.Fatalf("%s: %v, want %v", when, got, w)
			}
		}
	}
	at := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	r, err := sleep.Sleep(ctx, p.Client, ns, at)
	if err != nil {
		t.Fatal(err)
	}
	asleep := map[string]string{"api": "0*", "worker": "0*", "idle": "0*", "by-hand": "0*", "db": "0*", "report": "suspended*", "paused": "suspended*"}
	want("asleep", asleep)
	if len(r.Changed) != 7 || r.Changed[0] != (sleep.Change{Kind: "Deployment", Name: "api", From: "3", To: "0"}) || len(r.Left) != 0 {
		t.Fatalf("sleep: %+v", r)
	}
	if r, err := sleep.Sleep(ctx, p.Client, ns, at.Add(time.Minute)); err != nil || len(r.Changed) != 0 || len(r.Left) != 0 {
		t.Fatalf("sleeping again: %+v %v", r, err)
	}
	d, err := apps.Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
	if err != nil || d.Annotations[sleep.AnnotationSince] != "2026-12-04T20:00:00Z" || !sleeperOwns(d.ManagedFields) {
		t.Fatalf("asleep since: %v %v (managed fields %+v)", d.Annotations, err, d.ManagedFields)
	}
	// A person scales by-hand up while it sleeps.
	if _, err := apps.Deployments(ns).Patch(ctx, "by-hand", "application/merge-patch+json", []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err = sleep.Wake(ctx, p.Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	want("awake", map[string]string{"api": "3", "worker": "1", "idle": "0", "by-hand": "5", "db": "2", "report": "running", "paused": "suspended"})
	if len(r.Changed) != 6 || len(r.Left) != 1 || r.Left[0].Name != "by-hand" || r.Left[0].From != "2" || r.Left[0].To != "5" {
		t.Fatalf("wake: %+v", r)
	}
	if r, err := sleep.Wake(ctx, p.Client, ns); err != nil || len(r.Changed) != 0 || len(r.Left) != 0 {
		t.Fatalf("waking again: %+v %v", r, err)
	}
	d, _ = apps.Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
	if owner := sleeperOwns(d.ManagedFields); owner {
		t.Fatalf("awake, the sleeper still owns fields: %+v", d.ManagedFields)
	}
}

func sleeperOwns(fields []metav1.ManagedFieldsEntry) bool {
	for _, f := range fields {
		if f.Manager == sleep.FieldManager {
			return true
		}
	}
	return false
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// mark is "*" on an object that carries a sleep record.
func mark(a map[string]string) string {
	if _, ok := a[sleep.AnnotationReplicas]; ok {
		return "*"
	}
	if _, ok := a[sleep.AnnotationSuspend]; ok {
		return "*"
	}
	if _, ok := a[sleep.AnnotationMinReplicas]; ok {
		return "*"
	}
	return ""
}

// Two Berths that sleep (then wake) the same namespace at once change each object once: the
// one that loses a race re-reads the object, finds it asleep, and leaves it; the record is
// what the object was, never the zero the other wrote.
func TestTwoSleepersAtOnce(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "sleep-race")
	ctx := t.Context()
	for i := range 10 {
		name := "svc-" + strconv.Itoa(i)
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(i%3 + 1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels(name)}, Template: template(name)}}
		if _, err := p.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []string{"sleep", "wake"} {
		results := make([]sleep.Result, 2)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				var err error
				if step == "sleep" {
					results[i], err = sleep.Sleep(ctx, p.Client, ns, time.Now())
				} else {
					results[i], err = sleep.Wake(ctx, p.Client, ns)
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for _, r := range results {
			for _, c := range r.Changed {
				seen[c.Name]++
			}
			if len(r.Left) != 0 {
				t.Fatalf("%s: left %+v", step, r.Left)
			}
		}
		if len(seen) != 10 {
			t.Fatalf("%s: changed %v, want all 10", step, seen)
		}
		for name, n := range seen {
			if n != 1 {
				t.Fatalf("%s: %s changed %d times", step, name, n)
			}
		}
	}
	ds, err := p.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Items {
		i, _ := strconv.Atoi(d.Name[4:])
		if *d.Spec.Replicas != int32(i%3+1) || mark(d.Annotations) != "" {
			t.Fatalf("%s woke with %d replicas (%v), want %d", d.Name, *d.Spec.Replicas, d.Annotations, i%3+1)
		}
	}
}

// An HPA's target asleep at zero stops it (the real controller says ScalingDisabled and leaves
// the target at zero); its minimum is recorded and, changed by a person while it slept, is
// reported on wake and left as they made it. What a replica requests is recorded with the
// sleep (the LimitRange's default for a container that says nothing), for its savings.
func TestSleepWithAutoscaler(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "sleep-hpa")
	ctx := t.Context()
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: ns}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type:           corev1.LimitTypeContainer,
		DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}}
	if _, err := p.Client.CoreV1().LimitRanges(ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	api := template("api")
	api.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	api.Spec.Containers = append(api.Spec.Containers, corev1.Container{Name: "proxy", Image: "registry.example.com/shop/proxy:1"})
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3),
		Selector: &metav1.LabelSelector{MatchLabels: labels("api")}, Template: api}}
	if _, err := p.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
		MinReplicas:    ptr.To[int32](2), MaxReplicas: 5,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}}}}}
	if _, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := sleep.Sleep(ctx, p.Client, ns, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// 250m + the proxy's default 100m; 128 MiB + 64 MiB.
	if len(r.Changed) != 1 || r.Changed[0] != (sleep.Change{Kind: "Deployment", Name: "api", From: "3", To: "0", CPUMilli: 350, MemoryBytes: 192 << 20}) {
		t.Fatalf("sleep: %+v", r)
	}
	h, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{})
	if err != nil || h.Annotations[sleep.AnnotationMinReplicas] != "2" || *h.Spec.MinReplicas != 2 {
		t.Fatalf("the HPA asleep: %v %+v", err, h)
	}
	plane.Eventually(t, 90*time.Second, "the HPA controller disables scaling of a target at zero", func() (bool, error) {
		h, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range h.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "ScalingDisabled" {
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %+v", h.Status.Conditions)
	})
	if d, err := p.Client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{}); err != nil || *d.Spec.Replicas != 0 {
		t.Fatalf("the HPA's target woke: %v %v", err, d.Spec.Replicas)
	}
	// A person raises the minimum while it sleeps.
	if _, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, "api", "application/merge-patch+json", []byte(`{"spec":{"minReplicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err = sleep.Wake(ctx, p.Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Changed) != 1 || r.Changed[0].To != "3" || len(r.Left) != 1 || r.Left[0].Kind != "HorizontalPodAutoscaler" || r.Left[0].From != "2" || r.Left[0].To != "3" {
		t.Fatalf("wake: %+v", r)
	}
	h, err = p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{})
	if err != nil || *h.Spec.MinReplicas != 3 || mark(h.Annotations) != "" || h.Annotations[sleep.AnnotationSince] != "" || sleeperOwns(h.ManagedFields) {
		t.Fatalf("the HPA awake: %v %+v", err, h.ObjectMeta)
	}
}
