package plane_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var (
	applicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
)

func newApplication(ns, repoURL, path string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "test-" + ns, "namespace": "argocd"},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": repoURL, "targetRevision": "main", "path": path},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns},
			"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true}},
		},
	}}
}

func waitSynced(t *testing.T, p *plane.Plane, name, revision string) {
	t.Helper()
	apps := p.Dynamic.Resource(applicationGVR).Namespace("argocd")
	plane.Eventually(t, 90*time.Second, "application "+name+" synced to "+revision[:8], func() (bool, error) {
		a, err := apps.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
		rev, _, _ := unstructured.NestedString(a.Object, "status", "sync", "revision")
		health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
		conds, _, _ := unstructured.NestedSlice(a.Object, "status", "conditions")
		return sync == "Synced" && health == "Healthy" && rev == revision, fmt.Errorf("sync %s at %.8s, health %s, conditions %v", sync, rev, health, conds)
	})
}

// refresh asks Argo CD to look at Git now rather than at its next resync.
func refresh(t *testing.T, p *plane.Plane, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`)
	if _, err := p.Dynamic.Resource(applicationGVR).Namespace("argocd").Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// latestTagPolicy is a Kyverno ValidatingPolicy (CEL, policies.kyverno.io: the API that
// Kyverno 1.19 prefers over the deprecated kyverno.io/v1 ClusterPolicy) for one namespace.
func latestTagPolicy(name, ns, action string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"validationActions": []any{action},
			"matchConstraints": map[string]any{
				"resourceRules": []any{map[string]any{
					"apiGroups": []any{"apps"}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"deployments"},
				}},
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": ns}},
			},
			"validations": []any{map[string]any{
				"expression": "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))",
				"message":    "pin an image tag instead of latest",
			}},
		},
	}}
}

func setFailureAction(t *testing.T, p *plane.Plane, name, action string) {
	t.Helper()
	patch := []byte(`{"spec":{"validationActions":["` + action + `"]}}`)
	if _, err := p.Dynamic.Resource(plane.ValidatingPolicyGVR).Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
