package diagnose_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/gittest"
	"github.com/berth-platform/berth/internal/plane"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var applications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// What Argo CD reports, made to happen with the plane's real Argo CD and Kyverno: a sync that
// a policy denies (Kyverno's admission webhook refuses the Deployment), and an Application
// whose source path does not exist (an error condition).
func TestArgoCDCausesAreDiagnosed(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "diagsync")
	policy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy", "metadata": map[string]any{"name": "require-team-label-" + ns},
		"spec": map[string]any{
			"validationActions": []any{"Deny"},
			"matchConstraints": map[string]any{
				"resourceRules":     []any{map[string]any{"apiGroups": []any{"apps"}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"deployments"}}},
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": ns}},
			},
			"validations": []any{map[string]any{"expression": "has(object.metadata.labels) && 'team' in object.metadata.labels", "message": "every Deployment names its team in the label team"}},
		}}}
	pols := p.Dynamic.Resource(plane.ValidatingPolicyGVR)
	// Kyverno's own webhook validates policies: it may still be starting.
	plane.Eventually(t, 60*time.Second, "the policy created", func() (bool, error) {
		_, err := pols.Create(t.Context(), policy, metav1.CreateOptions{})
		return err == nil, err
	})
	t.Cleanup(func() { _ = pols.Delete(context.Background(), policy.GetName(), metav1.DeleteOptions{}) })
	p.WaitPolicyReady(t, policy.GetName())

	repo := t.TempDir()
	gittest.Run(t, repo, "init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(repo, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app.kubernetes.io/name: api}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: api}}
  template:
    metadata: {labels: {app.kubernetes.io/name: api}}
    spec: {containers: [{name: app, image: registry.example.com/api:1.0.0}]}
`
	if err := os.WriteFile(filepath.Join(repo, "app", "deployment.yaml"), []byte(deployment), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, repo, "add", ".")
	gittest.Run(t, repo, "-c", "user.email=t@berth.local", "-c", "user.name=test", "commit", "-q", "-m", "api")

	apps := p.Dynamic.Resource(applications).Namespace("argocd")
	app := func(name, path string) string {
		a := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": name, "namespace": "argocd"},
			"spec": map[string]any{"project": "default",
				"source":      map[string]any{"repoURL": "file://" + repo, "targetRevision": "main", "path": path},
				"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns},
				"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true}}}}}
		if _, err := apps.Create(t.Context(), a, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = apps.Delete(context.Background(), name, metav1.DeleteOptions{}) })
		return name
	}
	denied, missing := app(ns+"-denied", "app"), app(ns+"-missing", "nowhere")
	argo, err := argocd.New(p.Config, "argocd", "file://"+repo)
	if err != nil {
		t.Fatal(err)
	}
	find := func(name, code string) diagnose.Finding {
		var f diagnose.Finding
		plane.Eventually(t, 90*time.Second, code+" of "+name, func() (bool, error) {
			st, err := argo.Status(t.Context(), name)
			if err != nil {
				return false, err
			}
			fs := diagnose.Sync(st)
			i := slices.IndexFunc(fs, func(f diagnose.Finding) bool { return f.Code == code })
			if i < 0 {
				return false, fmt.Errorf("status %+v op %+v: findings %+v", st, st.OpState, fs)
			}
			f = fs[i]
			return true, nil
		})
		return f
	}
	f := find(denied, diagnose.CodeSyncFailed)
	if f.Detail != diagnose.SyncPolicyDenied || !strings.Contains(f.Summary, "A policy refuses what revision") ||
		!strings.Contains(f.Summary, "every Deployment names its team in the label team") || !strings.Contains(f.Recommendation, "exception") ||
		f.Resource != (diagnose.Resource{Kind: "Application", Name: denied}) || f.Evidence[0].Field != "operationState.phase" {
		t.Fatalf("the denied sync: %+v", f)
	}
	f = find(missing, diagnose.CodeArgoCDError)
	if f.Detail != "ComparisonError" || !strings.Contains(f.Summary, "nowhere") {
		t.Fatalf("the missing path: %+v", f)
	}
}
