package plane

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// KwokLogsGVR is kwok's Logs: which files it serves as a pod's container logs.
var KwokLogsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// ServeLogs makes kwok serve the pod's containers' logs (all of them when containers is
// empty) from the file current, and their previous run's from previous; the files are in the
// kubelet's CRI format ("2026-12-03T10:00:00.000000000Z stdout F line").
func (p *Plane) ServeLogs(t testing.TB, namespace, pod string, containers []string, current, previous string) {
	t.Helper()
	names := make([]any, len(containers))
	for i, c := range containers {
		names[i] = c
	}
	logs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
		"metadata": map[string]any{"name": pod, "namespace": namespace},
		"spec":     map[string]any{"logs": []any{map[string]any{"containers": names, "logsFile": current, "previousLogsFile": previous}}}}}
	if _, err := p.Dynamic.Resource(KwokLogsGVR).Namespace(namespace).Create(t.Context(), logs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
