package sleeper_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/schedule"
	"github.com/berth-platform/berth/internal/sleep"
	"github.com/berth-platform/berth/internal/sleeper"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

var berlin, _ = time.LoadLocation("Europe/Berlin")

// office is awake 08:00-20:00 on weekdays, Berlin time.
const office = `{"timeZone":"Europe/Berlin","awake":[{"days":["Mon","Tue","Wed","Thu","Fri"],"from":"08:00","to":"20:00"}]}`

// env is a team environment on the plane with a schedule: web (2 replicas of 500m and 1 GiB,
// an HPA of minimum 2) and a nightly CronJob.
func env(t *testing.T, p *plane.Plane, driver string) (*store.Store, string) {
	t.Helper()
	st := storetest.Open(t, driver)
	ns := p.Namespace(t, "sleeper-"+driver)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	storetest.SeedService(t, st, ns, at)
	if err := st.Q().PutSchedule(ctx, "e1", office, "user:default/jane", at); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "web"}
	pod := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/shop/web:1", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}}}
	job := pod.DeepCopy()
	pod.Spec.RestartPolicy = ""
	if _, err := p.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: *job}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas: ptr.To[int32](2), MaxReplicas: 6}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return st, ns
}

// berth is a Berth that starts afresh on st, acting through cs, at the clock's now.
func berth(st *store.Store, cs kubernetes.Interface, now time.Time) *sleeper.Service {
	s := sleeper.New(st, tenancy.NewService(st, tenancy.Options{}), func(context.Context, string) (kubernetes.Interface, error) { return cs, nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Now = func() time.Time { return now }
	return s
}

// observed is the environment as the API server has it: web's replicas and record, the
// CronJob's suspend and record, the HPA's minimum and record ("-" for no record).
func observed(t *testing.T, p *plane.Plane, ns string) string {
	t.Helper()
	ctx := t.Context()
	d, err := p.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Client.BatchV1().CronJobs(ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(a map[string]string, key string) string {
		if v, ok := a[key]; ok {
			return v
		}
		return "-"
	}
	return fmt.Sprintf("web %d (%s), nightly suspend %t (%s), hpa min %d (%s)", *d.Spec.Replicas, rec(d.Annotations, sleep.AnnotationReplicas),
		c.Spec.Suspend != nil && *c.Spec.Suspend, rec(c.Annotations, sleep.AnnotationSuspend), *h.Spec.MinReplicas, rec(h.Annotations, sleep.AnnotationMinReplicas))
}

const (
	awake  = "web 2 (-), nightly suspend false (-), hpa min 2 (-)"
	asleep = "web 0 (2), nightly suspend true (false), hpa min 2 (2)"
)

func transitions(t *testing.T, st *store.Store) (slept, woke int) {
	t.Helper()
	for _, a := range []string{"environment.slept", "environment.woke"} {
		events, err := st.Q().ListAuditEvents(t.Context(), store.AuditFilter{Action: a, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if a == "environment.slept" {
			slept = len(events)
		} else {
			woke = len(events)
		}
	}
	return slept, woke
}

// Under a controlled clock on the plane, Berlin's office hours across the spring change (Sunday
// 29 March 2026, 02:00 CET to 03:00 CEST): the environment sleeps at 20:00 CET on Friday (19:00
// UTC) and wakes at 08:00 CEST on Monday (06:00 UTC, not 07:00), restoring the replicas and
// the CronJob and leaving the HPA's minimum as it was; a fresh Berth at every tick (a restart
// between each) acts once per transition and not at all between them. Savings count what
// web's replicas request.
func TestScheduleAcrossTheSpringChange(t *testing.T) {
	p := plane.Get(t)
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			st, ns := env(t, p, driver)
			ticks := []struct {
				local       time.Time
				want        string
				slept, woke int
			}{
				{time.Date(2026, 3, 27, 19, 59, 0, 0, berlin), awake, 0, 0},
				{time.Date(2026, 3, 27, 20, 0, 0, 0, berlin), asleep, 1, 0},
				{time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), asleep, 1, 0},
				{time.Date(2026, 3, 29, 3, 30, 0, 0, berlin), asleep, 1, 0}, // just past the change
				{time.Date(2026, 3, 30, 7, 0, 0, 0, berlin), asleep, 1, 0},  // 05:00 UTC
				{time.Date(2026, 3, 30, 7, 59, 0, 0, berlin), asleep, 1, 0}, // 05:59 UTC: still CET's 06:59
				{time.Date(2026, 3, 30, 8, 0, 0, 0, berlin), awake, 1, 1},   // 06:00 UTC
				{time.Date(2026, 3, 30, 19, 59, 0, 0, berlin), awake, 1, 1},
				{time.Date(2026, 3, 30, 20, 0, 0, 0, berlin), asleep, 2, 1},
			}
			for _, tick := range ticks {
				b := berth(st, p.Client, tick.local)
				if err := b.Tick(t.Context(), tick.local); err != nil {
					t.Fatalf("at %v: %v", tick.local, err)
				}
				if got := observed(t, p, ns); got != tick.want {
					t.Fatalf("at %v (%v UTC): %s, want %s", tick.local, tick.local.UTC(), got, tick.want)
				}
				if s, w := transitions(t, st); s != tick.slept || w != tick.woke {
					t.Fatalf("at %v: %d slept, %d woke; want %d, %d", tick.local, s, w, tick.slept, tick.woke)
				}
			}
			// Asleep from Monday 20:00; the savings are for the hours the plan sleeps in 30 days.
			now := ticks[len(ticks)-1].local
			admin := access.Principal{Identity: auth.Identity{Subject: "user:default/root"}, PlatformAdmin: true}
			v, err := berth(st, p.Client, now).Get(t.Context(), admin, "shop", "dev")
			if err != nil {
				t.Fatal(err)
			}
			plan, _ := schedule.Compile(schedule.Schedule{TimeZone: "Europe/Berlin", Awake: []schedule.Window{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, From: "08:00", To: "20:00"}}})
			hours := plan.Asleep(now, now.Add(sleeper.SavingsSpan)).Hours()
			// Two replicas of half a core and 1 GiB, at OpenCost's prices.
			perHour := 2 * (0.5*0.031611 + 1*0.004237)
			if v.State != "asleep" || v.Savings == nil || math.Abs(v.Savings.PerHour-perHour) > 1e-9 || v.Savings.AsleepHours != hours || math.Abs(v.Savings.Ahead-perHour*hours) > 1e-9 {
				t.Fatalf("view: %+v (savings %+v), want %v an hour for %v hours", v, v.Savings, perHour, hours)
			}
		})
	}
}

// killAfter is a client to the plane whose patches fail once n have landed: a Berth killed
// mid-step.
func killAfter(t *testing.T, p *plane.Plane, n int64) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(p.Config)
	var patches atomic.Int64
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if r.Method != http.MethodPatch {
				return rt.RoundTrip(r)
			}
			// Only patches that land count: one refused for a stale resourceVersion (the
			// controllers write status meanwhile) is read again and retried.
			if patches.Load() >= n {
				return nil, errors.New("berth was killed")
			}
			resp, err := rt.RoundTrip(r)
			if err == nil && resp.StatusCode < 300 {
				patches.Add(1)
			}
			return resp, err
		})
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Berth killed after each patch of a sleep (3: web, the CronJob, the HPA's record) and of a
// wake (3 to restore, 2 to hand back the fields of web and the CronJob: the HPA's record
// was all the sleeper owned of it): the next Berth finishes the transition, each
// object ends as it should with its record the value before the sleep (never the zero a
// half-done sleep wrote), and each transition is audited once.
func TestKilledAtEveryStep(t *testing.T) {
	p := plane.Get(t)
	st, ns := env(t, p, "sqlite")
	night := time.Date(2026, 12, 4, 22, 0, 0, 0, berlin)
	morning := time.Date(2026, 12, 7, 9, 0, 0, 0, berlin)
	slept, woke := 0, 0
	count := func(state string) {
		if state == asleep {
			slept++
		} else {
			woke++
		}
	}
	for _, phase := range []struct {
		at, before time.Time
		patches    int64
		want       string
	}{{night, morning, 3, asleep}, {morning, night, 5, awake}} {
		for k := range phase.patches {
			// From the other state, reached without a kill.
			other := map[string]string{asleep: awake, awake: asleep}[phase.want]
			otherState := map[string]string{asleep: "asleep", awake: "awake"}[other]
			if row, _ := st.Q().ScheduleOf(t.Context(), "e1"); row.State != otherState {
				count(other)
			}
			if err := berth(st, p.Client, phase.before).Tick(t.Context(), phase.before); err != nil {
				t.Fatal(err)
			}
			if got := observed(t, p, ns); got != other {
				t.Fatalf("before the kill: %s", got)
			}
			count(phase.want)
			err := berth(st, killAfter(t, p, k), phase.at).Tick(t.Context(), phase.at)
			if err == nil {
				t.Fatalf("killed after %d patches: no error; %s", k, observed(t, p, ns))
			}
			row, _ := st.Q().ScheduleOf(t.Context(), "e1")
			moving := map[string]string{asleep: sleeper.Sleeping, awake: sleeper.Waking}[phase.want]
			if row.State != moving || row.Problem == "" {
				t.Fatalf("killed after %d: state %q, problem %q", k, row.State, row.Problem)
			}
			if err := berth(st, p.Client, phase.at).Tick(t.Context(), phase.at); err != nil {
				t.Fatal(err)
			}
			if got := observed(t, p, ns); got != phase.want {
				t.Fatalf("killed after %d patches, then resumed: %s, want %s", k, got, phase.want)
			}
			if row, _ = st.Q().ScheduleOf(t.Context(), "e1"); row.Problem != "" || row.State == moving {
				t.Fatalf("resumed: %+v", row)
			}
			if s, w := transitions(t, st); s != slept || w != woke {
				t.Fatalf("killed after %d: %d slept, %d woke; want %d, %d", k, s, w, slept, woke)
			}
		}
		// Those were all its patches: a Berth killed after them has done the transition.
		if err := berth(st, p.Client, phase.before).Tick(t.Context(), phase.before); err != nil {
			t.Fatal(err)
		}
		if err := berth(st, killAfter(t, p, phase.patches), phase.at).Tick(t.Context(), phase.at); err != nil {
			t.Fatalf("a %s takes more than %d patches: %v", phase.want, phase.patches, err)
		}
		count(map[string]string{asleep: awake, awake: asleep}[phase.want])
		count(phase.want)
	}
}
