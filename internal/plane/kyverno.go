package plane

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kyverno's resources that tests read.
var (
	ValidatingPolicyGVR = schema.GroupVersionResource{Group: "policies.kyverno.io", Version: "v1", Resource: "validatingpolicies"}
	PolicyReportGVR     = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}
)

// WaitPolicyReady waits until Kyverno reports the ValidatingPolicy name ready.
func (p *Plane) WaitPolicyReady(t testing.TB, name string) {
	t.Helper()
	Eventually(t, 60*time.Second, "policy "+name+" ready", func() (bool, error) {
		pol, err := p.Dynamic.Resource(ValidatingPolicyGVR).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, _, _ := unstructured.NestedBool(pol.Object, "status", "conditionStatus", "ready")
		conds, _, _ := unstructured.NestedSlice(pol.Object, "status", "conditionStatus", "conditions")
		return ready, fmt.Errorf("conditions %v", conds)
	})
}

// WaitPolicyReportFailure waits until a PolicyReport in ns records a failure of policy for
// resource.
func (p *Plane) WaitPolicyReportFailure(t testing.TB, ns, resource, policy string) {
	t.Helper()
	Eventually(t, 90*time.Second, "a PolicyReport failure for "+resource, func() (bool, error) {
		reports, err := p.Dynamic.Resource(PolicyReportGVR).Namespace(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, r := range reports.Items {
			results, _, _ := unstructured.NestedSlice(r.Object, "results")
			for _, res := range results {
				m := res.(map[string]any)
				if m["policy"] != policy || m["result"] != "fail" {
					continue
				}
				refs, _ := m["resources"].([]any)
				scope, _, _ := unstructured.NestedString(r.Object, "scope", "name")
				for _, ref := range refs {
					if ref.(map[string]any)["name"] == resource {
						return true, nil
					}
				}
				if scope == resource {
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("%d reports, none with a fail of %s for %s", len(reports.Items), policy, resource)
	})
}
