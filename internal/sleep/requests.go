package sleep

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// defaults are what a container that says nothing gets from the namespace's LimitRanges: a
// request from defaultRequest, else from default (a limit alone is also the request).
type defaults map[corev1.ResourceName]int64

func containerDefaults(ctx context.Context, cs kubernetes.Interface, namespace string) (defaults, error) {
	l, err := cs.CoreV1().LimitRanges(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	d := defaults{}
	for _, lr := range l.Items {
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := d[r]; ok {
					continue
				}
				if q, ok := item.DefaultRequest[r]; ok {
					d[r] = value(r, q)
				} else if q, ok := item.Default[r]; ok {
					d[r] = value(r, q)
				}
			}
		}
	}
	return d, nil
}

func value(r corev1.ResourceName, q resource.Quantity) int64 {
	if r == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// requests are what one replica of pod asks for, as the cost model bills it: the sum of its
// containers' requests (init containers run once and are not counted).
func requests(pod *corev1.PodSpec, d defaults) (cpuMilli, memoryBytes int64) {
	for _, c := range pod.Containers {
		of := func(r corev1.ResourceName) int64 {
			if q, ok := c.Resources.Requests[r]; ok {
				return value(r, q)
			}
			if q, ok := c.Resources.Limits[r]; ok {
				return value(r, q)
			}
			return d[r]
		}
		cpuMilli += of(corev1.ResourceCPU)
		memoryBytes += of(corev1.ResourceMemory)
	}
	return cpuMilli, memoryBytes
}
