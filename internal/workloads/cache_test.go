package workloads_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/workloads"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

// A remembered view is the same while nothing in its namespace changes, and is read anew as
// soon as anything there does; another namespace's changes leave it alone.
func TestViewFollowsChanges(t *testing.T) {
	p := plane.Get(t)
	ns, other := p.Namespace(t, "view"), p.Namespace(t, "other")
	c := workloads.NewCache(p.Client)
	if !c.Start(t.Context()) {
		t.Fatal("informers did not sync")
	}
	pod := func(namespace, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "berth"}},
			Spec: corev1.PodSpec{SchedulerName: "berth-test-nobody", Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/web:1"}}}}
	}
	create := func(p0 *corev1.Pod) {
		if _, err := p.Client.CoreV1().Pods(p0.Namespace).Create(t.Context(), p0, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create(pod(ns, "web-1"))
	// The namespace settles first (a late event of its own, such as the pod's, may still come):
	// then, with nothing changing, the stamp holds.
	var first workloads.View
	plane.Eventually(t, 30*time.Second, "the pod in the view, and the namespace settled", func() (bool, error) {
		first = c.Service(ns, "web")
		time.Sleep(time.Second)
		again := c.Service(ns, "web")
		return len(first.Pods) == 1 && first.Stamp != "" && again.Stamp == first.Stamp, fmt.Errorf("stamps %q then %q", first.Stamp, again.Stamp)
	})
	create(pod(other, "web-1"))
	plane.Eventually(t, 30*time.Second, "the other namespace's pod in its view", func() (bool, error) {
		return len(c.Service(other, "web").Pods) == 1, nil
	})
	if again := c.Service(ns, "web"); again.Stamp != first.Stamp {
		t.Fatalf("a pod in another namespace changed the view's stamp: %q then %q", first.Stamp, again.Stamp)
	}
	create(pod(ns, "web-2"))
	plane.Eventually(t, 30*time.Second, "the second pod in the view", func() (bool, error) {
		v := c.Service(ns, "web")
		return len(v.Pods) == 2 && v.Stamp != first.Stamp, nil
	})
	if err := p.Client.CoreV1().Pods(ns).Delete(t.Context(), "web-1", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "the deleted pod gone from the view", func() (bool, error) {
		v := c.Service(ns, "web")
		return len(v.Pods) == 1 && v.Pods[0].Name == "web-2", nil
	})
}
