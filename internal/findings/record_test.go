package findings_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/findings"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/workloads/workloadstest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

// A cause's record on a real API server and each real database: first seen kept while it
// holds (whatever the diagnosis says of its age), resolved once when it recovers (and not
// again after a restart), a new episode when it comes back, forgotten a day after it resolved.
func TestTheRecordKeepsAgeAndResolution(t *testing.T) {
	p := plane.Get(t)
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			st := storetest.Open(t, driver)
			ns := p.Namespace(t, "rec-"+driver)
			ctx := t.Context()
			q := st.Q()
			t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
			storetest.SeedService(t, st, ns, t0)
			reg := workloadstest.Registry(t, p.Config)

			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-7d9f8-abcde", Namespace: ns,
				Labels: map[string]string{"app.kubernetes.io/name": "api", "app.kubernetes.io/managed-by": "berth"}},
				Spec: corev1.PodSpec{SchedulerName: "berth-test-nobody", Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/shop/api:1"}}}}
			made, err := p.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			setState := func(state corev1.ContainerState) {
				made.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: pod.Spec.Containers[0].Image, State: state}}
				if made, err = p.Client.CoreV1().Pods(ns).UpdateStatus(ctx, made, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			broken := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "api-db" not found`}}
			running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
			const fp = diagnose.CodeMissingConfig + "/Pod/api-7d9f8-abcde/app"
			waitCache := func(what string, want bool) {
				plane.Eventually(t, 30*time.Second, what, func() (bool, error) {
					fs := diagnose.Diagnose(reg.Get("").Service(ns, "api"), time.Now())
					has := len(fs) > 0 && findings.Fingerprint(fs[0]) == fp
					return has == want, fmt.Errorf("%+v", fs)
				})
			}
			record := func(at time.Time) []store.FindingRecord {
				recs, err := q.Findings(ctx, "s1", "dev", at.Add(-findings.Keep))
				if err != nil {
					t.Fatal(err)
				}
				return recs
			}
			rec := findings.NewRecorder(st, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))

			setState(broken)
			waitCache("the missing Secret in the cache", true)
			t1 := t0.Add(time.Minute)
			if err := rec.Tick(ctx, t1); err != nil {
				t.Fatal(err)
			}
			if r := record(t1); len(r) != 1 || r[0].Fingerprint != fp || !r[0].FirstSeen.Equal(t1) || !r[0].ResolvedAt.IsZero() || r[0].Summary == "" {
				t.Fatalf("record after the cause appeared: %+v", r)
			}
			// Two hours on (every event long expired), the answer still says when it began.
			t2 := t1.Add(2 * time.Hour)
			if err := rec.Tick(ctx, t2); err != nil {
				t.Fatal(err)
			}
			current, resolved, err := findings.Merge(ctx, st, "s1", "dev", diagnose.Diagnose(reg.Get("").Service(ns, "api"), t2), t2)
			if err != nil || len(current) != 1 || !current[0].FirstSeen.Equal(t1) || len(resolved) != 0 {
				t.Fatalf("merged while it holds: %+v %+v %v", current, resolved, err)
			}

			setState(running)
			waitCache("the pod running in the cache", false)
			t3 := t2.Add(time.Minute)
			if err := rec.Tick(ctx, t3); err != nil {
				t.Fatal(err)
			}
			// A restarted Berth (a new recorder) neither resolves it twice nor revives it.
			if err := findings.NewRecorder(st, reg, slog.New(slog.NewTextHandler(io.Discard, nil))).Tick(ctx, t3.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			current, resolved, err = findings.Merge(ctx, st, "s1", "dev", diagnose.Diagnose(reg.Get("").Service(ns, "api"), t3), t3.Add(time.Minute))
			if err != nil || len(current) != 0 || len(resolved) != 1 || resolved[0].Fingerprint != fp || !resolved[0].ResolvedAt.Equal(t3) || !resolved[0].FirstSeen.Equal(t1) {
				t.Fatalf("merged after it resolved: %+v %+v %v", current, resolved, err)
			}

			setState(broken)
			waitCache("the missing Secret again", true)
			t4 := t3.Add(10 * time.Minute)
			if err := rec.Tick(ctx, t4); err != nil {
				t.Fatal(err)
			}
			if r := record(t4); len(r) != 1 || !r[0].FirstSeen.Equal(t4) || !r[0].ResolvedAt.IsZero() {
				t.Fatalf("a new episode: %+v", r)
			}

			// Seen on a read between two ticks: recorded by the read, resolved by the next tick.
			setState(running)
			waitCache("running again", false)
			if err := rec.Tick(ctx, t4.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			setState(broken)
			waitCache("broken between two ticks", true)
			tRead := t4.Add(90 * time.Second)
			if _, _, err := findings.Merge(ctx, st, "s1", "dev", diagnose.Diagnose(reg.Get("").Service(ns, "api"), tRead), tRead); err != nil {
				t.Fatal(err)
			}
			if r := record(tRead); len(r) != 1 || !r[0].FirstSeen.Equal(tRead) || !r[0].ResolvedAt.IsZero() {
				t.Fatalf("a cause seen by a read: %+v", r)
			}

			setState(running)
			waitCache("running again", false)
			t5 := t4.Add(2 * time.Minute)
			if err := rec.Tick(ctx, t5); err != nil {
				t.Fatal(err)
			}
			if r := record(t5); len(r) != 1 || !r[0].ResolvedAt.Equal(t5) {
				t.Fatalf("the read's cause resolved by the recorder: %+v", r)
			}
			late := t5.Add(findings.Keep + time.Minute)
			if err := rec.Tick(ctx, late); err != nil {
				t.Fatal(err)
			}
			if r, err := q.Findings(ctx, "s1", "dev", time.Time{}); err != nil || len(r) != 0 {
				t.Fatalf("a day after it resolved, still recorded: %+v %v", r, err)
			}
		})
	}
}
