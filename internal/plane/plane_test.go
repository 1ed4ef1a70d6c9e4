package plane_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) {
	plane.Main(m, plane.Options{ArgoCD: true, Kyverno: true})
}

func deployment(ns, name, image string, replicas int32) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func runningPods(t *testing.T, p *plane.Plane, ns, app string) func() (bool, int) {
	return func() (bool, int) {
		pods, err := p.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: labels.Set{"app": app}.String()})
		if err != nil {
			return false, 0
		}
		n := 0
		for _, pod := range pods.Items {
			if pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil {
				n++
			}
		}
		return true, n
	}
}

func waitRunning(t *testing.T, p *plane.Plane, ns, app string, want int) {
	t.Helper()
	count := runningPods(t, p, ns, app)
	plane.Eventually(t, 60*time.Second, fmt.Sprintf("%d pods of %s running", want, app), func() (bool, error) {
		ok, n := count()
		if !ok {
			return false, nil
		}
		pods, _ := p.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
		return n == want && len(pods.Items) == want, fmt.Errorf("%d running of %d pods", n, len(pods.Items))
	})
}

func TestPlaneRunsDeploymentsScalesAndServesLogs(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "deploy")
	ctx := t.Context()
	d, err := p.Client.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", "nginx:1.27", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Fatalf("the API server did not default the strategy: %q", d.Spec.Strategy.Type)
	}
	waitRunning(t, p, ns, "web", 2)

	pods, _ := p.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	rc, err := p.Client.CoreV1().Pods(ns).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{Container: "app"}).Stream(ctx)
	if err != nil {
		t.Fatalf("logs through the API server: %v", err)
	}
	logs, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(logs), "listening on :8080") {
		t.Fatalf("logs: %q", logs)
	}

	for _, n := range []int32{0, 2} {
		// The deployment controller writes the object too: retry on a conflict.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			scale, err := p.Client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			scale.Spec.Replicas = n
			_, err = p.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		waitRunning(t, p, ns, "web", int(n))
	}
}

// gitRepo is a real Git repository on disk that Argo CD's repo server clones over file://.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.email", "test@berth.local")
	r.git("config", "user.name", "berth test")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) commit(files map[string]string, msg string) string {
	r.t.Helper()
	for name, body := range files {
		path := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
spec:
  replicas: %d
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:%s
`

func TestPlaneArgoCDSyncsCommits(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "argo")
	repo := newGitRepo(t)
	first := repo.commit(map[string]string{"app/deployment.yaml": fmt.Sprintf(manifest, 2, "1.0.0")}, "first")

	app := newApplication(ns, "file://"+repo.dir, "app")
	apps := p.Dynamic.Resource(applicationGVR).Namespace("argocd")
	if _, err := apps.Create(t.Context(), app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = apps.Delete(context.Background(), app.GetName(), metav1.DeleteOptions{}) })

	waitSynced(t, p, app.GetName(), first)
	waitRunning(t, p, ns, "api", 2)

	second := repo.commit(map[string]string{"app/deployment.yaml": fmt.Sprintf(manifest, 3, "1.1.0")}, "second")
	refresh(t, p, app.GetName())
	waitSynced(t, p, app.GetName(), second)
	waitRunning(t, p, ns, "api", 3)
	d, err := p.Client.AppsV1().Deployments(ns).Get(t.Context(), "api", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/api:1.1.0" {
		t.Fatalf("second commit not applied: %v %v", err, d.Spec.Template.Spec.Containers)
	}
}

func TestPlaneKyvernoEnforcesAndAudits(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "kyverno")
	name := "disallow-latest-" + ns
	pol := latestTagPolicy(name, ns, "Deny")
	policies := p.Dynamic.Resource(plane.ValidatingPolicyGVR)
	if _, err := policies.Create(t.Context(), pol, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = policies.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	p.WaitPolicyReady(t, name)

	_, err := p.Client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "bad", "nginx:latest", 1), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "pin an image tag") {
		t.Fatalf("a :latest Deployment was not denied with the policy's message: %v", err)
	}
	if _, err := p.Client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "good", "nginx:1.27", 1), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a pinned Deployment was denied: %v", err)
	}

	setFailureAction(t, p, name, "Audit")
	p.WaitPolicyReady(t, name)
	plane.Eventually(t, 30*time.Second, "admitted in Audit", func() (bool, error) {
		_, err := p.Client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "bad", "nginx:latest", 1), metav1.CreateOptions{})
		return err == nil, err
	})
	p.WaitPolicyReportFailure(t, ns, "bad", name)
}

// A plane that is stopped leaves no Kyverno webhook behind: started again from the same
// etcd data without Kyverno, it admits everything.
func TestPlaneDownRemovesKyvernoWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plane of its own")
	}
	dir := t.TempDir()
	p, err := plane.Up(dir, "--no-argocd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down() })
	hooks, err := p.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(t.Context(), metav1.ListOptions{LabelSelector: "webhook.kyverno.io/managed-by=kyverno"})
	if err != nil || len(hooks.Items) == 0 {
		t.Fatalf("Kyverno registered no webhooks: %v", err)
	}
	if err := p.Down(); err != nil {
		t.Fatal(err)
	}
	again, err := plane.Up(dir, "--minimal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Down() })
	for _, list := range []func() (int, error){
		func() (int, error) {
			l, err := again.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(t.Context(), metav1.ListOptions{LabelSelector: "webhook.kyverno.io/managed-by=kyverno"})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		func() (int, error) {
			l, err := again.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(t.Context(), metav1.ListOptions{LabelSelector: "webhook.kyverno.io/managed-by=kyverno"})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
	} {
		if n, err := list(); err != nil || n != 0 {
			t.Fatalf("%d Kyverno webhook configurations left after down (%v)", n, err)
		}
	}
	ns := again.Namespace(t, "after")
	if _, err := again.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("requests fail after the plane was stopped and restarted: %v", err)
	}
}
