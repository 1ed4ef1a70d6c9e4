// Package deploy_test checks deploy/kubernetes against a real control plane: Berth running
// as the service account those manifests create, with only the permissions they grant,
// provisions a team, deploys a service through Argo CD and applies Kyverno policies.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cli"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/policy"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{ArgoCD: true, Kyverno: true}) }

const serviceAccount = "system:serviceaccount:berth-system:berth"

var gvrs = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
}

// apply server-side applies a manifest file's objects as the plane's admin, each changed by
// edit first when given.
func apply(t *testing.T, p *plane.Plane, file string, edit ...func(*unstructured.Unstructured)) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := policy.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		for _, e := range edit {
			e(o)
		}
		gvr, ok := gvrs[o.GetKind()]
		if !ok {
			t.Fatalf("%s: no resource known for kind %s", file, o.GetKind())
		}
		body, _ := json.Marshal(o.Object)
		res := p.Dynamic.Resource(gvr)
		// Not t.Context(): apply also runs in cleanups, after the test's context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		force := true
		opts := metav1.PatchOptions{FieldManager: "deploy-test", Force: &force}
		if ns := o.GetNamespace(); ns != "" {
			_, err = res.Namespace(ns).Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts)
		} else {
			_, err = res.Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts)
		}
		cancel()
		if err != nil {
			t.Fatalf("%s: apply %s %s: %v", file, o.GetKind(), o.GetName(), err)
		}
	}
}

// asServiceAccount writes a kubeconfig that reaches the plane as Berth's service account.
func asServiceAccount(t *testing.T, p *plane.Plane) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(p.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = serviceAccount
		a.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:berth-system", "system:authenticated"}
	}
	path := filepath.Join(t.TempDir(), "berth-sa.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

type berth struct {
	t   *testing.T
	url string
}

func (b berth) call(method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequestWithContext(b.t.Context(), method, b.url+path, rd)
	req.Header.Set("Authorization", "Bearer ci-token-0123456789")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func eventually(t *testing.T, what string, f func() (bool, any)) {
	t.Helper()
	var last any
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		ok, state := f()
		if ok {
			return
		}
		last = state
	}
	t.Fatalf("%s: not after 120 s; last: %v", what, last)
}

// serve runs Berth against the plane through kubeconfig, with one environment per team.
func serve(t *testing.T, kubeconfig string) berth {
	t.Helper()
	var c config.Config
	fs := config.NewFlagSet("berth serve", &c)
	if err := config.Parse(fs, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--kubeconfig", kubeconfig,
		"--service-tokens", "ci=ci-token-0123456789", "--platform-admins", "service:ci", "--environments", "dev",
		"--namespace-pattern", "deploy-{team}-{env}"}, &c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- cli.Serve(ctx, &c, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case addr := <-ready:
		return berth{t: t, url: "http://" + addr}
	case err := <-done:
		t.Fatal(err)
	}
	return berth{}
}

func TestBerthRunsWithTheDeployedPermissions(t *testing.T) {
	p := plane.Get(t)
	apply(t, p, "namespace.yaml")
	apply(t, p, "rbac.yaml")
	kubeconfig := asServiceAccount(t, p)

	// The impersonation is real: the service account may not read Secrets at large.
	sa, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(sa).CoreV1().Secrets("kube-system").List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the service account lists Secrets in kube-system: %v", err)
	}

	b := serve(t, kubeconfig)
	team := fmt.Sprintf("d%d", time.Now().UnixNano()%100000)
	if code, body := b.call("POST", "/api/v1/teams", map[string]any{"name": team}); code != 201 {
		t.Fatalf("create team: %d %v", code, body)
	}
	eventually(t, "the team's namespace, quota and roles", func() (bool, any) {
		_, env := b.call("GET", "/api/v1/teams/"+team+"/environments/dev", nil)
		return env["phase"] == "Ready", env
	})
	ns := "deploy-" + team + "-dev"
	if _, err := p.Client.RbacV1().RoleBindings(ns).List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}

	if code, body := b.call("PUT", "/api/v1/teams/"+team+"/policies/require-probes", map[string]any{"mode": "audit"}); code != 200 {
		t.Fatalf("policy override: %d %v", code, body)
	}
	eventually(t, "the team's Kyverno policy", func() (bool, any) {
		_, err := p.Dynamic.Resource(policy.GVR).Get(t.Context(), "berth-require-probes-"+team, metav1.GetOptions{})
		return err == nil, err
	})

	code, run := b.call("POST", "/api/v1/teams/"+team+"/services", map[string]any{"name": "api", "blueprint": "go-api",
		"image": "registry.example.com/deploy/api", "tag": "1.0.0", "parameters": map[string]any{"replicas": 1}, "environments": []string{"dev"}})
	if code != 202 {
		t.Fatalf("create service: %d %v", code, run)
	}
	eventually(t, "the run through Argo CD", func() (bool, any) {
		_, r := b.call("GET", "/api/v1/runs/"+run["id"].(string), nil)
		if r["status"] == "failed" {
			t.Fatalf("run failed: %v", r)
		}
		return r["status"] == "succeeded", r["steps"]
	})
	eventually(t, "readiness without notes", func() (bool, any) {
		_, r := b.call("GET", "/readyz", nil)
		checks, _ := r["checks"].(map[string]any)
		for _, v := range checks {
			if v != "ok" {
				return false, checks
			}
		}
		return len(checks) > 0, checks
	})

	// The manifests pass Berth's own guardrails.
	var out, errOut strings.Builder
	if code := cli.Run(t.Context(), []string{"policy", "test", filepath.Join("..", "..", "deploy", "kubernetes")}, &out, &errOut); code != 0 {
		t.Fatalf("berth policy test deploy/kubernetes: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// Without a permission it needs, Berth says so on the environments it cannot set up, and
// carries on once the permission is granted.
func TestAMissingPermissionIsExplained(t *testing.T) {
	p := plane.Get(t)
	apply(t, p, "namespace.yaml")
	withoutNetworkPolicies := func(o *unstructured.Unstructured) {
		if o.GetKind() != "ClusterRole" {
			return
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		rules = slices.DeleteFunc(rules, func(r any) bool {
			return slices.Contains(r.(map[string]any)["resources"].([]any), any("networkpolicies"))
		})
		_ = unstructured.SetNestedSlice(o.Object, rules, "rules")
	}
	apply(t, p, "rbac.yaml", withoutNetworkPolicies)
	t.Cleanup(func() { apply(t, p, "rbac.yaml") })
	b := serve(t, asServiceAccount(t, p))
	team := fmt.Sprintf("m%d", time.Now().UnixNano()%100000)
	if code, body := b.call("POST", "/api/v1/teams", map[string]any{"name": team}); code != 201 {
		t.Fatalf("create team: %d %v", code, body)
	}
	eventually(t, "the environment says what Berth cannot read", func() (bool, any) {
		_, env := b.call("GET", "/api/v1/teams/"+team+"/environments/dev", nil)
		msg, _ := env["message"].(string)
		return env["phase"] == "Pending" && strings.Contains(msg, "networkpolicies") && strings.Contains(msg, "forbidden"), env
	})
	apply(t, p, "rbac.yaml")
	eventually(t, "the environment once permitted", func() (bool, any) {
		_, env := b.call("GET", "/api/v1/teams/"+team+"/environments/dev", nil)
		return env["phase"] == "Ready", env
	})
}
