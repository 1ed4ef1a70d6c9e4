package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cli"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/tenancy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// berth diagnose against a real berth serve on a plane: a pod of the service that cannot start
// (its Secret is missing, as the kubelet reports it) is a finding with code, evidence and fix,
// in text and JSON, exit 1; an outsider learns nothing.
func TestDiagnoseCommand(t *testing.T) {
	p := ownPlane(t)
	addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig, "--service-tokens", "eve=eve-token-0123456789")
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	call := func(token, method, path, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := call("ci-token-0123456789", "POST", "/api/v1/teams", `{"name":"shop"}`); s != 201 {
		t.Fatalf("team: %d", s)
	}
	if s := call("ci-token-0123456789", "POST", "/api/v1/teams/shop/services", `{"name":"web","blueprint":"worker","image":"registry.example.com/shop/web","tag":"1.0.0","environments":["dev"]}`); s != 202 {
		t.Fatalf("service: %d", s)
	}
	// The pod below says nothing of resources: the quota admits it once the LimitRange that
	// gives it defaults is there (it comes just after the namespace).
	plane.Eventually(t, time.Minute, "namespace shop-dev and its LimitRange", func() (bool, error) {
		_, err := p.Client.CoreV1().LimitRanges("shop-dev").Get(t.Context(), tenancy.LimitRangeName, metav1.GetOptions{})
		return err == nil, err
	})
	// A pod of the service as the restricted namespace admits it, left unscheduled so that
	// the test writes its status as the kubelet would.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-5f7d9-x2x9q", Namespace: "shop-dev",
		Labels: map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "berth"}},
		Spec: corev1.PodSpec{SchedulerName: "berth-test-nobody", SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/web:1.0.0", SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
	made, err := p.Client.CoreV1().Pods("shop-dev").Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	made.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: pod.Spec.Containers[0].Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "web-db" not found`}}}}
	if _, err := p.Client.CoreV1().Pods("shop-dev").UpdateStatus(t.Context(), made, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token := func(name, value string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	ci, eve := token("ci", "ci-token-0123456789"), token("eve", "eve-token-0123456789")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(t.Context(), append([]string{"diagnose"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	var text string
	plane.Eventually(t, 30*time.Second, "the finding in berth diagnose", func() (bool, error) {
		code, out, errOut := run("shop/web", "--server", base, "--token-file", ci)
		text = out
		return code == 1 && strings.Contains(out, "ERROR MissingConfig (Pod/web-5f7d9-x2x9q container web)"), fmt.Errorf("exit %d: %s%s", code, out, errOut)
	})
	for _, want := range []string{`the Secret "web-db" it refers to does not exist`, "evidence: status state.waiting = CreateContainerConfigError", "fix: Create what it refers to"} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	code, out, _ := run("shop/web", "--env", "dev", "--output", "json", "--server", base, "--token-file", ci)
	var doc struct {
		Environments []struct {
			Name     string
			Findings []struct{ Code, Severity string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 || len(doc.Environments) != 1 || doc.Environments[0].Findings[0].Code != "MissingConfig" {
		t.Fatalf("json (exit %d, %v): %s", code, err, out)
	}
	if code, _, errOut := run("shop/web", "--server", base, "--token-file", eve); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("an outsider: exit %d %s", code, errOut)
	}
	// The environment's view: every service there with its pods and findings.
	var envView struct {
		Services []struct {
			Service   string
			Workloads struct{ Pods []struct{ Name string } }
			Findings  []struct{ Code string }
		}
	}
	get := func(token string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/teams/shop/environments/dev/workloads", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		_ = json.NewDecoder(res.Body).Decode(&envView)
		return res.StatusCode
	}
	if s := get("ci-token-0123456789"); s != 200 || len(envView.Services) != 1 || envView.Services[0].Service != "web" ||
		len(envView.Services[0].Workloads.Pods) != 1 || envView.Services[0].Findings[0].Code != "MissingConfig" {
		t.Fatalf("environment view: %d %+v", s, envView)
	}
	if s := get("eve-token-0123456789"); s != 404 {
		t.Fatalf("an outsider read the environment: %d", s)
	}
	// A crash-looping pod on the kwok node: its finding ends with the previous run's error
	// line, read from the kubelet as the caller (Kubernetes lets the team's members read logs).
	crash := pod.DeepCopy()
	crash.Name, crash.Spec.SchedulerName = "web-5f7d9-crash", ""
	if _, err := p.Client.CoreV1().Pods("shop-dev").Create(t.Context(), crash, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "crash pod running", func() (bool, error) {
		got, err := p.Client.CoreV1().Pods("shop-dev").Get(t.Context(), crash.Name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning, err
	})
	previous := filepath.Join(dir, "previous.log")
	if err := os.WriteFile(previous, []byte("2026-12-03T10:00:00.000000000Z stdout F web 1.0.0 starting\n"+
		"2026-12-03T10:00:01.000000000Z stderr F Error: connect ECONNREFUSED 127.0.0.1:5432\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.ServeLogs(t, "shop-dev", crash.Name, []string{"web"}, previous, previous)
	plane.Eventually(t, 10*time.Second, "crash loop status written", func() (bool, error) {
		got, err := p.Client.CoreV1().Pods("shop-dev").Get(t.Context(), crash.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		at := metav1.NewTime(time.Now().Add(-time.Minute))
		got.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: got.Spec.Containers[0].Image, RestartCount: 6,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: at, FinishedAt: at}}}}
		_, err = p.Client.CoreV1().Pods("shop-dev").UpdateStatus(t.Context(), got, metav1.UpdateOptions{})
		return err == nil, err
	})
	plane.Eventually(t, 30*time.Second, "the previous run's lines in berth diagnose", func() (bool, error) {
		code, out, errOut := run("shop/web", "--server", base, "--token-file", ci)
		return code == 1 && strings.Contains(out, "Its log ends with: Error: connect ECONNREFUSED 127.0.0.1:5432") &&
			strings.Contains(out, "evidence: log previous run = Error: connect ECONNREFUSED 127.0.0.1:5432") &&
			strings.Contains(out, "      | web 1.0.0 starting"), fmt.Errorf("exit %d: %s%s", code, out, errOut)
	})
	// It recovers: Berth's record lists it under resolved, no longer as a finding.
	plane.Eventually(t, 10*time.Second, "crash pod running again", func() (bool, error) {
		got, err := p.Client.CoreV1().Pods("shop-dev").Get(t.Context(), crash.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: got.Spec.Containers[0].Image, RestartCount: 6, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
		_, err = p.Client.CoreV1().Pods("shop-dev").UpdateStatus(t.Context(), got, metav1.UpdateOptions{})
		return err == nil, err
	})
	plane.Eventually(t, 60*time.Second, "the crash loop resolved in berth diagnose", func() (bool, error) {
		code, out, errOut := run("shop/web", "--server", base, "--token-file", ci)
		return code == 1 && !strings.Contains(out, "ERROR CrashLoopBackOff") && strings.Contains(out, "resolved in the last 24 hours:\n    CrashLoopBackOff (Pod/web-5f7d9-crash container web)"),
			fmt.Errorf("exit %d: %s%s", code, out, errOut)
	})
	// An unchanged view is a 304 to a poller that sends its ETag back.
	conditional := func(etag string) (int, string) {
		req, _ := http.NewRequest("GET", base+"/api/v1/teams/shop/services/web/diagnosis", nil)
		req.Header.Set("Authorization", "Bearer ci-token-0123456789")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("ETag")
	}
	code, etag := conditional("")
	if again, _ := conditional(etag); code != 200 || etag == "" || again != 304 {
		t.Fatalf("diagnosis ETag: %d %q, then %d", code, etag, again)
	}
}
