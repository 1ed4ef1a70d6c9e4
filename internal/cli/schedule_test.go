package cli_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/tenancy"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A sleep schedule through berth serve on a plane: set, the environment sleeps within the
// check interval; a restart of Berth changes nothing (no second transition); wake now and back
// to the schedule; a wrong schedule named field by field; removal wakes it at once; outsiders
// and viewers kept out.
func TestSleepSchedule(t *testing.T) {
	p := ownPlane(t)
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"--kubeconfig", p.Kubeconfig, "--data-dir", dir, "--service-tokens", "eve=eve-token-0123456789", "--sleep-check-every", "1s"}
	addr, _, cancel, done := startServe(t, args...)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})
	base := "http://" + addr
	call := func(token, method, path, body string, into any) int {
		return apiCall(t, base, token, method, path, body, into)
	}
	const ci = "ci-token-0123456789"
	replicas := shopWithWeb(t, p, base, 2)
	// Awake only an hour on a day three days from now: asleep now.
	day := time.Now().UTC().AddDate(0, 0, 3).Weekday().String()[:3]
	sched := fmt.Sprintf(`{"timeZone":"UTC","awake":[{"days":[%q],"from":"00:00","to":"01:00"}]}`, day)
	type view struct {
		State, Wanted  string
		Next           *struct{ State string }
		LastTransition *struct {
			State   string
			Changed []struct{ Kind, Name, From, To string }
		}
		Problem *string
		Savings *struct{ PerHour, AsleepHours, Next30Days float64 }
	}
	var v view
	if s := call(ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule", sched, &v); s != 200 || v.Wanted != "asleep" || v.Next == nil || v.Next.State != "awake" {
		t.Fatalf("set: %d %+v", s, v)
	}
	asleep := func(what string) {
		t.Helper()
		plane.Eventually(t, 30*time.Second, what, func() (bool, error) {
			call(ci, "GET", "/api/v1/teams/shop/environments/dev/schedule", "", &v)
			return v.State == "asleep" && replicas() == 0, fmt.Errorf("%+v, %d replicas", v, replicas())
		})
	}
	awake := func(what string, want int32) {
		t.Helper()
		plane.Eventually(t, 30*time.Second, what, func() (bool, error) {
			call(ci, "GET", "/api/v1/teams/shop/environments/dev/schedule", "", &v)
			return v.State == "awake" && replicas() == want, fmt.Errorf("%+v, %d replicas", v, replicas())
		})
	}
	asleep("asleep by the schedule")
	if v.LastTransition == nil || v.LastTransition.State != "asleep" || len(v.LastTransition.Changed) != 1 || v.LastTransition.Changed[0].From != "2" {
		t.Fatalf("the transition: %+v", v.LastTransition)
	}
	// web's two replicas say nothing, so each requests the team LimitRange's defaults (100m,
	// 128 MiB): that, at OpenCost's prices, is what an hour asleep saves.
	perHour := 2 * (0.1*0.031611 + 0.125*0.004237)
	if sv := v.Savings; sv == nil || math.Abs(sv.PerHour-perHour) > 1e-12 || sv.AsleepHours < 30*24-5 || math.Abs(sv.Next30Days-sv.PerHour*sv.AsleepHours) > 1e-9 {
		t.Fatalf("savings: %+v, want %v an hour", v.Savings, perHour)
	}
	slept := func() int {
		var events struct{ Items []struct{ Action string } }
		call(ci, "GET", "/api/v1/audit-events?action=environment.slept", "", &events)
		return len(events.Items)
	}
	if n := slept(); n != 1 {
		t.Fatalf("%d environment.slept events, want 1", n)
	}

	// Berth restarts on the same database: the environment stays asleep, nothing happens twice.
	cancel()
	<-done
	addr, _, cancel, done = startServe(t, args...)
	base = "http://" + addr
	time.Sleep(3 * time.Second) // three checks
	if n := slept(); n != 1 || replicas() != 0 {
		t.Fatalf("after a restart: %d environment.slept events, %d replicas", n, replicas())
	}

	// Wake now, for an hour; then back to the schedule.
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if s := call(ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule/override", fmt.Sprintf(`{"state":"awake","until":%q}`, until), &v); s != 200 || v.Wanted != "awake" {
		t.Fatalf("wake now: %d %+v", s, v)
	}
	awake("awake by the override", 2)
	if s := call(ci, "DELETE", "/api/v1/teams/shop/environments/dev/schedule/override", "", &v); s != 200 || v.Wanted != "asleep" {
		t.Fatalf("override dropped: %d %+v", s, v)
	}
	asleep("asleep again by the schedule")
	// An override that runs out is gone from the answer, and the schedule decides again.
	soon := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	if s := call(ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule/override", fmt.Sprintf(`{"state":"awake","until":%q}`, soon), &v); s != 200 || v.Wanted != "awake" {
		t.Fatalf("a short override: %d %+v", s, v)
	}
	var shown struct {
		Wanted   string
		Override *struct{ State string }
	}
	plane.Eventually(t, 30*time.Second, "the short override over", func() (bool, error) {
		shown.Override = nil
		call(ci, "GET", "/api/v1/teams/shop/environments/dev/schedule", "", &shown)
		return shown.Override == nil && shown.Wanted == "asleep", fmt.Errorf("%+v", shown)
	})
	asleep("asleep after the short override")

	var problem struct{ Errors []struct{ Pointer string } }
	if s := call(ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule", `{"timeZone":"Mars/Olympus","awake":[{"days":["Mon"],"from":"7:30","to":"18:00"}]}`, &problem); s != 422 ||
		len(problem.Errors) != 2 || problem.Errors[0].Pointer != "/timeZone" || problem.Errors[1].Pointer != "/awake/0/from" {
		t.Fatalf("a wrong schedule: %d %+v", s, problem)
	}
	if s := call(ci, "PUT", "/api/v1/teams/shop/environments/dev/schedule/override", `{"state":"awake","until":"2020-01-01T00:00:00Z"}`, &problem); s != 422 ||
		len(problem.Errors) != 1 || problem.Errors[0].Pointer != "/until" {
		t.Fatalf("an override in the past: %d %+v", s, problem)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if s := call("eve-token-0123456789", m, "/api/v1/teams/shop/environments/dev/schedule", "", nil); s != 404 {
			t.Fatalf("an outsider %s: %d", m, s)
		}
	}
	// Removing the schedule wakes the environment before it answers.
	if s := call(ci, "DELETE", "/api/v1/teams/shop/environments/dev/schedule", "", nil); s != 204 || replicas() != 2 {
		t.Fatalf("removed: %d, %d replicas", s, replicas())
	}
	if s := call(ci, "GET", "/api/v1/teams/shop/environments/dev/schedule", "", &problem); s != 404 {
		t.Fatalf("no schedule: %d", s)
	}
	cancel()
	<-done
	stopped = true
}

// shopWithWeb makes team shop through Berth at base, waits for its dev namespace, and puts a
// Deployment web of n replicas there; it returns web's replicas as the API server has them.
func shopWithWeb(t *testing.T, p *plane.Plane, base string, n int32) func() int32 {
	t.Helper()
	if s := apiCall(t, base, "ci-token-0123456789", "POST", "/api/v1/teams", `{"name":"shop"}`, nil); s != 201 {
		t.Fatalf("team: %d", s)
	}
	plane.Eventually(t, time.Minute, "namespace shop-dev and its LimitRange", func() (bool, error) {
		_, err := p.Client.CoreV1().LimitRanges("shop-dev").Get(t.Context(), tenancy.LimitRangeName, metav1.GetOptions{})
		return err == nil, err
	})
	lbl := map[string]string{"app.kubernetes.io/name": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop-dev"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(n),
		Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/web:1.0.0"}}}}}}
	if _, err := p.Client.AppsV1().Deployments("shop-dev").Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func() int32 {
		d, err := p.Client.AppsV1().Deployments("shop-dev").Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			return -1
		}
		return *d.Spec.Replicas
	}
}
