package sleep

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// object is what a transition needs of one workload.
type object struct {
	kind, name, resourceVersion string
	annotations                 map[string]string
	value                       string // replicas, suspend, or an HPA's minReplicas
	managed                     []metav1.ManagedFieldsEntry
	pod                         *corev1.PodSpec // what each replica runs (nil for CronJobs and HPAs)
}

// kind lists, reads and patches the objects of one kind in a namespace.
type kind struct {
	name  string
	list  func(context.Context, kubernetes.Interface, string) ([]object, error)
	get   func(context.Context, kubernetes.Interface, string, string) (object, error)
	patch func(context.Context, kubernetes.Interface, string, string, []byte) error
}

// typed is what the typed clients of every kind here offer.
type typed[T, L any] interface {
	List(context.Context, metav1.ListOptions) (L, error)
	Get(context.Context, string, metav1.GetOptions) (T, error)
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error)
}

// kindOf adapts a kind's typed client; of reads what a transition needs of one object (its
// kind is set here).
func kindOf[T, L any](name string, client func(kubernetes.Interface, string) typed[T, L], items func(L) []T, of func(T) object) kind {
	read := func(x T) object {
		o := of(x)
		o.kind = name
		return o
	}
	return kind{
		name: name,
		list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]object, error) {
			l, err := client(cs, ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			var out []object
			for _, x := range items(l) {
				out = append(out, read(x))
			}
			return out, nil
		},
		get: func(ctx context.Context, cs kubernetes.Interface, ns, n string) (object, error) {
			x, err := client(cs, ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return object{}, err
			}
			return read(x), nil
		},
		patch: func(ctx context.Context, cs kubernetes.Interface, ns, n string, body []byte) error {
			_, err := client(cs, ns).Patch(ctx, n, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
			return err
		},
	}
}

// count is a replica count as the API server defaults it.
func count(r *int32) string {
	if r == nil {
		return "1"
	}
	return strconv.Itoa(int(*r))
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// meta is an object's record with its value and, for what runs pods, their spec.
func meta(m metav1.ObjectMeta, value string, pod *corev1.PodSpec) object {
	return object{name: m.Name, resourceVersion: m.ResourceVersion, annotations: m.Annotations, managed: m.ManagedFields, value: value, pod: pod}
}

// Kinds a transition walks, in order: what runs, then what scales it.
var (
	deployments = kindOf("Deployment",
		func(cs kubernetes.Interface, ns string) typed[*appsv1.Deployment, *appsv1.DeploymentList] {
			return cs.AppsV1().Deployments(ns)
		},
		func(l *appsv1.DeploymentList) []*appsv1.Deployment { return pointers(l.Items) },
		func(x *appsv1.Deployment) object {
			return meta(x.ObjectMeta, count(x.Spec.Replicas), &x.Spec.Template.Spec)
		})
	statefulSets = kindOf("StatefulSet",
		func(cs kubernetes.Interface, ns string) typed[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
			return cs.AppsV1().StatefulSets(ns)
		},
		func(l *appsv1.StatefulSetList) []*appsv1.StatefulSet { return pointers(l.Items) },
		func(x *appsv1.StatefulSet) object {
			return meta(x.ObjectMeta, count(x.Spec.Replicas), &x.Spec.Template.Spec)
		})
	cronJobs = kindOf("CronJob",
		func(cs kubernetes.Interface, ns string) typed[*batchv1.CronJob, *batchv1.CronJobList] {
			return cs.BatchV1().CronJobs(ns)
		},
		func(l *batchv1.CronJobList) []*batchv1.CronJob { return pointers(l.Items) },
		func(x *batchv1.CronJob) object {
			return meta(x.ObjectMeta, strconv.FormatBool(x.Spec.Suspend != nil && *x.Spec.Suspend), nil)
		})
	autoscalers = kindOf("HorizontalPodAutoscaler",
		func(cs kubernetes.Interface, ns string) typed[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList] {
			return cs.AutoscalingV2().HorizontalPodAutoscalers(ns)
		},
		func(l *autoscalingv2.HorizontalPodAutoscalerList) []*autoscalingv2.HorizontalPodAutoscaler {
			return pointers(l.Items)
		},
		func(x *autoscalingv2.HorizontalPodAutoscaler) object {
			return meta(x.ObjectMeta, count(x.Spec.MinReplicas), nil)
		})
	kinds = []kind{deployments, statefulSets, cronJobs, autoscalers}
)
