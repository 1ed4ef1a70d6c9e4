package diagnose_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/workloads"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{ArgoCD: true, Kyverno: true}) }

// unscheduled pods are left alone by the scheduler and kwok, so a test writes their status as
// the kubelet (or the scheduler) would.
const unscheduled = "berth-test-nobody"

func labels(service string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": service, "app.kubernetes.io/managed-by": "berth"}
}

func container(name string) corev1.Container {
	return corev1.Container{Name: name, Image: "registry.example.com/team/" + name + ":1.0.0",
		Resources:     corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
		LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstrFrom(8080)}}, TimeoutSeconds: 2}}
}

// scenario is one cause, made to happen the way Kubernetes reports it.
type scenario struct {
	name string
	// pod's status as the kubelet writes it; events as the kubelet emits them.
	status func(p *corev1.Pod)
	events []corev1.Event
	init   bool // the pod has an init container
	// want: the finding's code, and what its summary, detail and recommendation say.
	code, detail            string
	summary, recommendation []string
}

func terminated(code int32, reason string) *corev1.ContainerStateTerminated {
	t := metav1.NewTime(time.Now().Add(-time.Minute))
	return &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, StartedAt: t, FinishedAt: t}
}

// Each cause on the real API server (status through the status subresource, events as the
// kubelet emits them), read back through the workloads informers, diagnosed with its code,
// evidence and recommendation.
func TestPodCausesAreDiagnosed(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "diag")
	cache := workloads.NewCache(p.Client)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !cache.Start(ctx) {
		t.Fatal("informers did not sync")
	}
	waitingIn := func(reason, msg string) func(*corev1.Pod) {
		return func(pd *corev1.Pod) {
			pd.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: pd.Spec.Containers[0].Image,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
		}
	}
	scenarios := []scenario{
		{name: "oom", code: diagnose.CodeOOMKilled, summary: []string{"memory limit of 256Mi", "restarted 5 times"}, recommendation: []string{"from 256Mi to 512Mi"},
			status: func(pd *corev1.Pod) {
				pd.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 5,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 2m40s restarting failed container"}},
					LastTerminationState: corev1.ContainerState{Terminated: terminated(137, "OOMKilled")}}}
			}},
		{name: "crash", code: diagnose.CodeCrashLoop, summary: []string{"exits with code 1", "program reported an error", "3 restarts"}, recommendation: []string{"previous run"},
			status: func(pd *corev1.Pod) {
				pd.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 3,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: terminated(1, "Error")}}}
			}},
		{name: "pull-missing", code: diagnose.CodeImagePull, detail: diagnose.CodeImagePullNotFound, summary: []string{"does not exist in the registry"}, recommendation: []string{"was pushed"},
			status: waitingIn("ImagePullBackOff", `Back-off pulling image "registry.example.com/team/app:1.0.0": ErrImagePull: failed to resolve reference "registry.example.com/team/app:1.0.0": registry.example.com/team/app:1.0.0: not found`)},
		{name: "pull-denied", code: diagnose.CodeImagePull, detail: diagnose.CodeImagePullDenied, summary: []string{"refuses the cluster's credentials"}, recommendation: []string{"pull secret"},
			status: waitingIn("ErrImagePull", `failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized`)},
		{name: "pull-offline", code: diagnose.CodeImagePull, detail: diagnose.CodeImagePullNoNetwork, summary: []string{"cannot be reached"},
			status: waitingIn("ErrImagePull", `dial tcp: lookup registry.example.com: no such host`)},
		{name: "no-secret", code: diagnose.CodeMissingConfig, summary: []string{`Secret "api-db" it refers to does not exist`},
			status: waitingIn("CreateContainerConfigError", `secret "api-db" not found`)},
		{name: "no-key", code: diagnose.CodeMissingConfig, summary: []string{"Secret diag/api-db has no key url"},
			status: waitingIn("CreateContainerConfigError", `couldn't find key url in Secret diag/api-db`)},
		{name: "init", init: true, code: diagnose.CodeInitFailing, summary: []string{"Init container migrate fails"},
			status: func(pd *corev1.Pod) {
				pd.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", RestartCount: 2,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, LastTerminationState: corev1.ContainerState{Terminated: terminated(2, "Error")}}}
			}},
		{name: "unschedulable", code: diagnose.CodeUnschedulable, summary: []string{"any of the 3 nodes", "3 nodes lack the memory it requests"}, recommendation: []string{"Lower the memory request"},
			status: func(pd *corev1.Pod) {
				pd.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
					Message: "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.", LastTransitionTime: metav1.Now()}}
			}},
		{name: "evicted", code: diagnose.CodeEvicted, summary: []string{"low on resource: memory"},
			status: func(pd *corev1.Pod) {
				pd.Status.Phase, pd.Status.Reason, pd.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
			}},
		{name: "liveness", code: diagnose.CodeProbeFailing, detail: "liveness", summary: []string{"liveness probe of container app fails", "statuscode: 500"},
			recommendation: []string{"GET /healthz on port 8080", "within 2s", "startup probe"},
			status: func(pd *corev1.Pod) {
				pd.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
			},
			events: []corev1.Event{{Reason: "Unhealthy", Type: corev1.EventTypeWarning, Message: "Liveness probe failed: HTTP probe failed with statuscode: 500", Count: 7}}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			pd := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: sc.name + "-7d9f8-abcde", Namespace: ns, Labels: labels(sc.name)},
				Spec: corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{container("app")}}}
			if sc.init {
				initc := container("migrate")
				initc.LivenessProbe = nil // init containers have none
				pd.Spec.InitContainers = []corev1.Container{initc}
			}
			made, err := p.Client.CoreV1().Pods(ns).Create(t.Context(), pd, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sc.status(made)
			if _, err := p.Client.CoreV1().Pods(ns).UpdateStatus(t.Context(), made, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			for i, e := range sc.events {
				now := metav1.Now()
				e.ObjectMeta = metav1.ObjectMeta{Name: fmt.Sprintf("%s.%d", made.Name, i), Namespace: ns}
				e.InvolvedObject = corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: made.Name, UID: made.UID, APIVersion: "v1", FieldPath: "spec.containers{app}"}
				e.Source, e.FirstTimestamp, e.LastTimestamp = corev1.EventSource{Component: "kubelet", Host: "kwok-node-0"}, metav1.NewTime(now.Add(-3*time.Minute)), now
				if _, err := p.Client.CoreV1().Events(ns).Create(t.Context(), &e, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			var got []diagnose.Finding
			plane.Eventually(t, 30*time.Second, "finding "+sc.code, func() (bool, error) {
				got = diagnose.Diagnose(cache.Service(ns, sc.name), time.Now())
				return slices.ContainsFunc(got, func(f diagnose.Finding) bool { return f.Code == sc.code }), fmt.Errorf("%+v", got)
			})
			f := got[slices.IndexFunc(got, func(f diagnose.Finding) bool { return f.Code == sc.code })]
			if f.Detail != sc.detail || f.Resource.Name != made.Name || len(f.Evidence) == 0 {
				t.Fatalf("finding %+v", f)
			}
			for _, want := range sc.summary {
				if !strings.Contains(f.Summary, want) {
					t.Errorf("summary %q lacks %q", f.Summary, want)
				}
			}
			for _, want := range sc.recommendation {
				if !strings.Contains(f.Recommendation, want) {
					t.Errorf("recommendation %q lacks %q", f.Recommendation, want)
				}
			}
		})
	}
}

// Causes the plane's controllers produce themselves: a ReplicaSet refused by a quota, a
// Deployment past its progress deadline, an autoscaler with no metrics (the plane has no
// metrics-server).
func TestControllerCausesAreDiagnosed(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "diagctl")
	cache := workloads.NewCache(p.Client)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !cache.Start(ctx) {
		t.Fatal("informers did not sync")
	}
	if _, err := p.Client.CoreV1().ResourceQuotas(ns).Create(t.Context(), &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "tight"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Until the quota controller has counted the namespace, admission refuses pods with "status
	// unknown for quota" (not an exceeded quota), and under load the ReplicaSet's backoff can
	// outlast the wait below: the Deployment comes once the quota has its status.
	plane.Eventually(t, 60*time.Second, "quota tight counted", func() (bool, error) {
		q, err := p.Client.CoreV1().ResourceQuotas(ns).Get(t.Context(), "tight", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, ok := q.Status.Hard[corev1.ResourcePods]
		return ok, fmt.Errorf("status %+v", q.Status)
	})
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns, Labels: labels("api")},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(3)), ProgressDeadlineSeconds: ptr.To(int32(5)),
			Selector: &metav1.LabelSelector{MatchLabels: labels("api")},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("api")},
				Spec: corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{container("app")}}}}}
	if _, err := p.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(t.Context(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns, Labels: labels("api")},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
			MinReplicas: ptr.To(int32(3)), MaxReplicas: 6, Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(70))}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{diagnose.CodeQuotaExceeded: "quota tight is full", diagnose.CodeProgressDeadline: "stopped making progress", diagnose.CodeHPANoMetrics: "cannot read its metrics"}
	plane.Eventually(t, 90*time.Second, "quota, deadline and metrics findings", func() (bool, error) {
		got := diagnose.Diagnose(cache.Service(ns, "api"), time.Now())
		for code, summary := range want {
			if !slices.ContainsFunc(got, func(f diagnose.Finding) bool { return f.Code == code && strings.Contains(f.Summary, summary) }) {
				return false, fmt.Errorf("no %s in %+v", code, got)
			}
		}
		return true, nil
	})
}

func intstrFrom(port int) intstr.IntOrString { return intstr.FromInt(port) }
