package provision

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/workloads"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Which findings of a rollout's newest ReplicaSet end a run at once, and which are waited out.
func TestHopelessRollouts(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	rs := func(name, rev string, failure *appsv1.ReplicaSetCondition) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"deployment.kubernetes.io/revision": rev}}}
		if failure != nil {
			r.Status.Conditions = []appsv1.ReplicaSetCondition{*failure}
		}
		return r
	}
	pod := func(owner string, cs corev1.ContainerStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: owner + "-x", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: owner}}},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/a/app:2"}}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{cs}}}
	}
	crash := func(restarts int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "app", RestartCount: restarts, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}
	}
	waiting := func(reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	quota := func(since time.Duration) *appsv1.ReplicaSetCondition {
		return &appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
			LastTransitionTime: metav1.NewTime(now.Add(-since)),
			Message:            `pods "a-x" is forbidden: exceeded quota: berth-quota, requested: pods=1, used: pods=20, limited: pods=20`}
	}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "a", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
			LastUpdateTime: metav1.NewTime(now.Add(-time.Minute))}}}}
	for _, c := range []struct {
		name   string
		rss    []*appsv1.ReplicaSet
		pods   []*corev1.Pod
		claims bool
		want   string // a prefix of the reason; "" to wait
	}{
		{"crash loop past the threshold", []*appsv1.ReplicaSet{rs("new", "2", nil)}, []*corev1.Pod{pod("new", crash(3))}, false, "CrashLoopBackOff: Container app exits with code 1"},
		{"crash loop below it", []*appsv1.ReplicaSet{rs("new", "2", nil)}, []*corev1.Pod{pod("new", crash(2))}, false, ""},
		{"an old pod's crash loop", []*appsv1.ReplicaSet{rs("new", "2", nil), rs("old", "1", nil)}, []*corev1.Pod{pod("old", crash(9))}, false, ""},
		{"image not found", []*appsv1.ReplicaSet{rs("new", "2", nil)}, []*corev1.Pod{pod("new", waiting("ErrImagePull", "manifest unknown"))}, false, "ImagePullFailed: Kubernetes cannot pull image"},
		{"registry unreachable", []*appsv1.ReplicaSet{rs("new", "2", nil)}, []*corev1.Pod{pod("new", waiting("ErrImagePull", "dial tcp: i/o timeout"))}, false, ""},
		{"missing Secret", []*appsv1.ReplicaSet{rs("new", "2", nil)}, []*corev1.Pod{pod("new", waiting("CreateContainerConfigError", `secret "a-db" not found`))}, false, "MissingConfig"},
		{"Secret Crossplane will write", []*appsv1.ReplicaSet{rs("new", "2", nil)}, []*corev1.Pod{pod("new", waiting("CreateContainerConfigError", `secret "a-db" not found`))}, true, ""},
		{"quota refusal held", []*appsv1.ReplicaSet{rs("new", "2", quota(30*time.Second))}, nil, false, "QuotaExceeded: Kubernetes refuses new pods: quota berth-quota is full"},
		{"quota refusal of a moment", []*appsv1.ReplicaSet{rs("new", "2", quota(5*time.Second))}, nil, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := hopeless(workloads.View{Deployment: deploy, ReplicaSets: c.rss, Pods: c.pods}, c.claims, now)
			if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
