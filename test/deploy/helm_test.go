package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/policy"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

var chartDir = filepath.Join("..", "..", "deploy", "helm", "berth")

// render is `helm template` of the chart: its objects in file order.
func render(t *testing.T, release, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true, Revision: 1}, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, name := range names {
		got, err := policy.Parse([]byte(files[name]))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, files[name])
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

var postgres = map[string]any{"replicaCount": 2, "secrets": map[string]any{"databaseUrl": "postgres://berth:secret@postgres.example.com:5432/berth"}}

// `helm lint` finds nothing, with the defaults (lint passes over the chart's refusal of two
// replicas without a database, which TestChartRenders checks), on PostgreSQL, and with one replica.
func TestChartLints(t *testing.T) {
	for _, values := range []map[string]any{{}, postgres, {"replicaCount": 1}} {
		l := lint.RunAll(chartDir, values, "berth-system")
		for _, m := range l.Messages {
			if m.Severity > support.InfoSev {
				t.Errorf("helm lint %v: %v", values, m)
			}
		}
	}
}

// `helm template`: two replicas on PostgreSQL get a rolling update that never goes below two,
// a PodDisruptionBudget, spread over nodes, probes with timeouts, each pod its own identity
// for the Lease; the ClusterRole and Roles are deploy/kubernetes's rules exactly; two
// replicas without PostgreSQL are refused by name; and every object passes Berth's own
// guardrails, each policy enforced (Berth's registry allowed).
func TestChartRenders(t *testing.T) {
	objs, err := render(t, "berth", "berth-system", postgres)
	if err != nil {
		t.Fatal(err)
	}
	d := find(objs, "Deployment", "berth")
	if d == nil {
		t.Fatalf("no Deployment berth in %d objects", len(objs))
	}
	spec := d.Object["spec"].(map[string]any)
	if fmt.Sprint(spec["replicas"]) != "2" || spec["strategy"].(map[string]any)["type"] != "RollingUpdate" {
		t.Fatalf("replicas and strategy: %v %v", spec["replicas"], spec["strategy"])
	}
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		p, _ := c[probe].(map[string]any)
		if p == nil || p["timeoutSeconds"] == nil {
			t.Errorf("%s without a timeout: %v", probe, p)
		}
	}
	if env := c["env"].([]any)[0].(map[string]any); env["name"] != "BERTH_LEADER_ELECTION_IDENTITY" {
		t.Errorf("the Lease identity: %v", env)
	}
	if pod["topologySpreadConstraints"] == nil {
		t.Error("no topology spread")
	}
	if pdb := find(objs, "PodDisruptionBudget", "berth"); pdb == nil || fmt.Sprint(pdb.Object["spec"].(map[string]any)["minAvailable"]) != "1" {
		t.Errorf("PodDisruptionBudget: %v", pdb)
	}
	if cm := find(objs, "ConfigMap", "berth"); cm == nil || cm.Object["data"].(map[string]any)["BERTH_LEADER_ELECTION_NAMESPACE"] != "berth-system" {
		t.Errorf("ConfigMap: %v", cm)
	}
	if s := find(objs, "Secret", "berth"); s == nil || s.Object["stringData"].(map[string]any)["BERTH_DATABASE_URL"] == nil {
		t.Errorf("Secret: %v", s)
	}

	// The rules, as deploy/kubernetes grants them.
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kustomized, err := policy.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][3]string{{"ClusterRole", "berth", "berth"}, {"Role", "berth-repository-credentials", "berth-repository-credentials"},
		{"Role", "berth-kyverno-health", "berth-kyverno-health"}, {"Role", "berth-leader-election", "berth-leader-election"}} {
		want, got := find(kustomized, pair[0], pair[1]), find(objs, pair[0], pair[2])
		if want == nil || got == nil || !reflect.DeepEqual(want.Object["rules"], got.Object["rules"]) {
			t.Errorf("%s %s: the chart's rules differ from deploy/kubernetes/rbac.yaml's:\n%v\n%v", pair[0], pair[1], got, want)
		}
	}

	if _, err := render(t, "berth", "berth-system", map[string]any{"replicaCount": 2}); err == nil || !strings.Contains(err.Error(), "replicaCount > 1 needs PostgreSQL") {
		t.Fatalf("two replicas on SQLite: %v", err)
	}

	lib, err := policy.Load()
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]policy.Setting{}
	for _, p := range lib.List() {
		settings[p.Name] = policy.Setting{Mode: policy.ModeEnforce}
	}
	// Berth's image is the one registry a platform running Berth must allow.
	settings["restrict-image-registries"] = policy.Setting{Mode: policy.ModeEnforce, Param: []string{"ghcr.io/berth-platform/"}}
	ev, err := policy.NewEvaluator(lib, settings)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := ev.Evaluate(t.Context(), objs, "berth-system")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("guardrail %s on %s %s: %s", f.Policy, f.Kind, f.Name, f.Message)
	}
}

// The rendered chart applied server-side to the plane, in a namespace that enforces the
// restricted Pod Security Standard: every object is admitted and the Deployment's two pods
// come up (kwok runs them), and the Service, PDB and NetworkPolicy select them.
func TestChartAppliesToThePlane(t *testing.T) {
	p := plane.Get(t)
	ctx := t.Context()
	const release, ns = "berth-chart", "berth-chart"
	if _, err := p.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, err := render(t, release, ns, postgres)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(p.Client.Discovery()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, o := range slices.Backward(objs) {
			m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
			if err == nil {
				_ = p.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace()).Delete(ctx, o.GetName(), metav1.DeleteOptions{})
			}
		}
		_ = p.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	force := true
	for _, o := range objs {
		m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
		if err != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		body, _ := json.Marshal(o.Object)
		res := p.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace())
		if _, err := res.Patch(ctx, o.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "helm-test", Force: &force}); err != nil {
			t.Fatalf("apply %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	eventually(t, "the chart's two replicas available", func() (bool, any) {
		d, err := p.Client.AppsV1().Deployments(ns).Get(ctx, release, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.AvailableReplicas == 2, d.Status
	})
	pods, err := p.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=berth,app.kubernetes.io/instance=" + release})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("the Service's selector picks %d pods (%v)", len(pods.Items), err)
	}
	if pdb, err := p.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, release, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else {
		eventually(t, "the PodDisruptionBudget counting both pods", func() (bool, any) {
			pdb, err = p.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, release, metav1.GetOptions{})
			return err == nil && pdb.Status.CurrentHealthy == 2 && pdb.Status.DisruptionsAllowed == 1, pdb.Status
		})
	}
}
