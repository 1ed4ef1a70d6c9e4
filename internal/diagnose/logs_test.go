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

	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/workloads"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// reader reads logs through the API server (and the kwok "kubelet" behind it) with cs.
func reader(cs kubernetes.Interface, ns string) diagnose.LogReader {
	return func(ctx context.Context, pod, container string, previous bool, _ int32, n int64) ([]string, error) {
		raw, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous, TailLines: ptr.To(n)}).DoRaw(ctx)
		if err != nil {
			return nil, err
		}
		return strings.Split(strings.TrimRight(string(raw), "\n"), "\n"), nil
	}
}

// A crash loop's finding carries the last lines of the previous run, read from the kubelet
// (kwok, serving files this test writes) through the API server, and names its error line; a
// caller Kubernetes does not let read the log hears that, and no lines.
func TestCrashLoopNamesTheLastErrorLineOfThePreviousRun(t *testing.T) {
	p := plane.Get(t)
	ns := p.Namespace(t, "diaglog")
	cache := workloads.NewCache(p.Client)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !cache.Start(ctx) {
		t.Fatal("informers did not sync")
	}
	pd := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-5c7d9-qwert", Namespace: ns, Labels: labels("api")},
		Spec: corev1.PodSpec{Containers: []corev1.Container{container("app")}}}
	if _, err := p.Client.CoreV1().Pods(ns).Create(t.Context(), pd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "pod running on the kwok node", func() (bool, error) {
		got, err := p.Client.CoreV1().Pods(ns).Get(t.Context(), pd.Name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning, err
	})

	dir := t.TempDir()
	current, previous := filepath.Join(dir, "current.log"), filepath.Join(dir, "previous.log")
	write := func(path string, lines ...string) {
		var b strings.Builder
		for i, l := range lines {
			stream, _, _ := strings.Cut(l, " ")
			fmt.Fprintf(&b, "2026-12-03T10:00:%02d.000000000Z %s F %s\n", i, stream, strings.TrimPrefix(l, stream+" "))
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(current, "stdout starting api 2.4.1")
	write(previous, "stdout starting api 2.4.1", "stdout loading /etc/api/config.yaml",
		"stderr panic: open /etc/api/config.yaml: no such file or directory", "stderr ", "stderr goroutine 1 [running]:", "stderr main.main()")
	p.ServeLogs(t, ns, pd.Name, []string{"app"}, current, previous)

	// The kubelet's report of a crash loop, through the status subresource.
	plane.Eventually(t, 10*time.Second, "crash loop status written", func() (bool, error) {
		got, err := p.Client.CoreV1().Pods(ns).Get(t.Context(), pd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: got.Spec.Containers[0].Image, RestartCount: 4,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s restarting failed container"}},
			LastTerminationState: corev1.ContainerState{Terminated: terminated(2, "Error")}}}
		_, err = p.Client.CoreV1().Pods(ns).UpdateStatus(t.Context(), got, metav1.UpdateOptions{})
		return err == nil, err
	})

	crash := func(fs []diagnose.Finding) (diagnose.Finding, bool) {
		i := slices.IndexFunc(fs, func(f diagnose.Finding) bool { return f.Code == diagnose.CodeCrashLoop })
		if i < 0 {
			return diagnose.Finding{}, false
		}
		return fs[i], true
	}
	const errLine = "panic: open /etc/api/config.yaml: no such file or directory"
	var f diagnose.Finding
	plane.Eventually(t, 30*time.Second, "crash loop finding with the previous run's lines", func() (bool, error) {
		var ok bool
		f, ok = crash(diagnose.WithLogs(t.Context(), diagnose.Diagnose(cache.Service(ns, "api"), time.Now()), reader(p.Client, ns)))
		if !ok {
			return false, fmt.Errorf("no crash loop finding")
		}
		ev := f.Evidence[len(f.Evidence)-1]
		return ev.Source == "log" && ev.Value == errLine, fmt.Errorf("evidence %+v", ev)
	})
	ev := f.Evidence[len(f.Evidence)-1]
	want := []string{"starting api 2.4.1", "loading /etc/api/config.yaml", errLine, "", "goroutine 1 [running]:", "main.main()"}
	if ev.Field != "previous run" || !slices.Equal(ev.Lines, want) {
		t.Fatalf("log evidence %+v", ev)
	}
	if !strings.Contains(f.Summary, "exits with code 2") || !strings.HasSuffix(f.Summary, "Its log ends with: "+errLine) {
		t.Fatalf("summary %q", f.Summary)
	}

	outsider, err := kube.AsUserOn(p.Config, "outsider@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ = crash(diagnose.WithLogs(t.Context(), diagnose.Diagnose(cache.Service(ns, "api"), time.Now()), reader(outsider, ns)))
	ev = f.Evidence[len(f.Evidence)-1]
	if ev.Source != "log" || ev.Value != "not readable" || ev.Lines != nil || strings.Contains(f.Summary, "Its log ends with") {
		t.Fatalf("an outsider's finding: %+v", f)
	}
}
