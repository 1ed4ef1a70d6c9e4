package cli_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cli"
	"github.com/berth-platform/berth/internal/plane"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

type sse struct {
	kind, id string
	data     map[string]any
}

// logStream opens a log stream and sends its events on the channel until it ends.
func logStream(t *testing.T, ctx context.Context, base, token, query, lastID string) (<-chan sse, int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/teams/shop/services/web/logs?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		res.Body.Close()
		return nil, res.StatusCode
	}
	ch := make(chan sse, 1000)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var e sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				e.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				e.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e.data)
			case line == "" && e.kind != "":
				ch <- e
				e = sse{}
			}
		}
	}()
	return ch, 200
}

// next waits for the next event that is not a keepalive.
func next(t *testing.T, ch <-chan sse, what string) sse {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the stream ended", what)
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no event in 30 s", what)
	}
	return sse{}
}

// lines reads line events until n have come, failing on anything else but control events.
func lines(t *testing.T, ch <-chan sse, n int, what string) (got []string, last string) {
	t.Helper()
	for len(got) < n {
		e := next(t, ch, what)
		if e.kind == "line" {
			got = append(got, fmt.Sprint(e.data["pod"], " ", e.data["line"]))
			last = e.id
		}
	}
	return got, last
}

func appendLog(t *testing.T, path string, ls ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range ls {
		// The kubelet's CRI format, with the time of writing (kwok serves the file as it is).
		fmt.Fprintf(f, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), l)
	}
}

// A service's logs through berth serve on a plane, read as the caller through the API server
// from kwok's files: followed across pods that come and go, resumed after a cut with nothing
// lost or repeated, filtered, downloaded, printed by berth logs; an outsider learns nothing,
// a viewer who is removed loses the stream, and a caller has at most 5 streams at once.
func TestLogsStream(t *testing.T) {
	p := ownPlane(t)
	addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig, "--service-tokens", "eve=eve-token-0123456789")
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	call := func(token, method, path, body string) (int, map[string]any) {
		var out map[string]any
		return apiCall(t, base, token, method, path, body, &out), out
	}
	const ci = "ci-token-0123456789"
	if s, _ := call(ci, "POST", "/api/v1/teams", `{"name":"shop"}`); s != 201 {
		t.Fatalf("team: %d", s)
	}
	if s, _ := call(ci, "POST", "/api/v1/teams/shop/services", `{"name":"web","blueprint":"worker","image":"registry.example.com/shop/web","tag":"1.0.0","environments":["dev"]}`); s != 202 {
		t.Fatalf("service: %d", s)
	}
	plane.Eventually(t, time.Minute, "namespace shop-dev", func() (bool, error) {
		_, err := p.Client.CoreV1().Namespaces().Get(t.Context(), "shop-dev", metav1.GetOptions{})
		return err == nil, err
	})
	dir := t.TempDir()
	startPod := func(name string) string {
		file := filepath.Join(dir, name+".log")
		appendLog(t, file, name+" starting")
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop-dev",
			Labels: map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "berth"}},
			Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/web:1.0.0", SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
		p.ServeLogs(t, "shop-dev", name, nil, file, file)
		if _, err := p.Client.CoreV1().Pods("shop-dev").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		plane.Eventually(t, 30*time.Second, name+" running", func() (bool, error) {
			got, err := p.Client.CoreV1().Pods("shop-dev").Get(t.Context(), name, metav1.GetOptions{})
			return err == nil && len(got.Status.ContainerStatuses) == 1 && got.Status.ContainerStatuses[0].State.Running != nil, err
		})
		return file
	}
	web1 := startPod("web-1")
	appendLog(t, web1, "ERROR db timeout", "ready")

	ctx, stop := context.WithCancel(t.Context())
	var ch <-chan sse
	plane.Eventually(t, 30*time.Second, "the stream opens once Berth's informers have the pod", func() (bool, error) {
		var status int
		ch, status = logStream(t, ctx, base, ci, "environment=dev", "")
		return status == 200, fmt.Errorf("status %d", status)
	})
	got, _ := lines(t, ch, 3, "web-1's first lines")
	if fmt.Sprint(got) != "[web-1 web-1 starting web-1 ERROR db timeout web-1 ready]" {
		t.Fatalf("first lines: %v", got)
	}
	// Followed: lines written now arrive; a new pod is announced and followed.
	appendLog(t, web1, "request 1")
	if got, _ := lines(t, ch, 1, "a new line"); got[0] != "web-1 request 1" {
		t.Fatalf("followed: %v", got)
	}
	startPod("web-2")
	sawAdded := false
	var last string
	for !sawAdded || last == "" {
		e := next(t, ch, "web-2 added and its first line")
		switch {
		case e.kind == "pod-added" && e.data["pod"] == "web-2":
			sawAdded = true
		case e.kind == "line" && e.data["pod"] == "web-2":
			if e.data["line"] != "web-2 starting" {
				t.Fatalf("web-2's line: %v", e.data)
			}
			last = e.id
		}
	}
	// Cut: what is written meanwhile comes after a resume, exactly once, and nothing before it.
	stop()
	appendLog(t, web1, "while away 1", "while away 2")
	ctx, stop = context.WithCancel(t.Context())
	defer stop()
	ch, status := logStream(t, ctx, base, ci, "environment=dev", last)
	if status != 200 {
		t.Fatalf("resume: %d", status)
	}
	appendLog(t, web1, "after the resume")
	got, _ = lines(t, ch, 3, "the resumed lines")
	if fmt.Sprint(got) != "[web-1 while away 1 web-1 while away 2 web-1 after the resume]" {
		t.Fatalf("resumed: %v (lost or repeated lines)", got)
	}
	// A pod that goes is announced.
	if err := p.Client.CoreV1().Pods("shop-dev").Delete(t.Context(), "web-2", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	for e := next(t, ch, "web-2 gone"); !(e.kind == "pod-gone" && e.data["pod"] == "web-2"); e = next(t, ch, "web-2 gone") {
	}
	// A restart is announced, and the new run's lines follow.
	plane.Eventually(t, 10*time.Second, "web-1 restarted", func() (bool, error) {
		got, err := p.Client.CoreV1().Pods("shop-dev").Get(t.Context(), "web-1", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got.Status.ContainerStatuses[0].RestartCount = 1
		_, err = p.Client.CoreV1().Pods("shop-dev").UpdateStatus(t.Context(), got, metav1.UpdateOptions{})
		return err == nil, err
	})
	for e := next(t, ch, "the restart"); !(e.kind == "restarted" && e.data["pod"] == "web-1" && e.data["restarts"] == 1.0); e = next(t, ch, "the restart") {
	}
	appendLog(t, web1, "after the restart")
	if got, _ := lines(t, ch, 1, "the new run's line"); got[0] != "web-1 after the restart" {
		t.Fatalf("after the restart: %v", got)
	}
	stop()

	// Filtered on the server, and without follow the stream ends once read.
	ch, _ = logStream(t, t.Context(), base, ci, "environment=dev&follow=false&search=error", "")
	var filtered []string
	for e := range ch {
		if e.kind == "line" {
			filtered = append(filtered, fmt.Sprint(e.data["line"]))
		}
	}
	if fmt.Sprint(filtered) != "[ERROR db timeout]" {
		t.Fatalf("search=error: %v", filtered)
	}
	if s, body := call(ci, "GET", "/api/v1/teams/shop/services/web/logs?environment=dev&search=(&regex=true", ""); s != 400 || !strings.Contains(fmt.Sprint(body["errors"]), "search") {
		t.Fatalf("a bad pattern: %d %v", s, body)
	}

	// Downloads, as text and gzip.
	download := func(format string) string {
		req, _ := http.NewRequest("GET", base+"/api/v1/teams/shop/services/web/logs/download?environment=dev&format="+format+"&timestamps=false", nil)
		req.Header.Set("Authorization", "Bearer "+ci)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r io.Reader = res.Body
		if format == "gzip" {
			if r, err = gzip.NewReader(res.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(r)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "shop-web-dev-logs.txt") {
			t.Fatalf("download %s: %d %v", format, res.StatusCode, res.Header)
		}
		return string(b)
	}
	want := "web-1/web web-1 starting\nweb-1/web ERROR db timeout\nweb-1/web ready\nweb-1/web request 1\nweb-1/web while away 1\nweb-1/web while away 2\nweb-1/web after the resume\nweb-1/web after the restart\n"
	if text := download("text"); text != want {
		t.Fatalf("download:\n%s\nwant:\n%s", text, want)
	}
	if z := download("gzip"); z != want {
		t.Fatalf("gzip download:\n%s", z)
	}

	// berth logs prints the same lines.
	tokenFile := filepath.Join(dir, "ci-token")
	if err := os.WriteFile(tokenFile, []byte(ci+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := cli.Run(t.Context(), []string{"logs", "shop/web", "--tail", "2", "--server", base, "--token-file", tokenFile}, &out, &errOut); code != 0 ||
		out.String() != "web-1/web after the resume\nweb-1/web after the restart\n" {
		t.Fatalf("berth logs: exit %d\n%s%s", code, out.String(), errOut.String())
	}

	// An outsider learns nothing; a viewer reads until removed, then the stream ends.
	if _, status := logStream(t, t.Context(), base, "eve-token-0123456789", "environment=dev", ""); status != 404 {
		t.Fatalf("an outsider's stream: %d", status)
	}
	s, member := call(ci, "POST", "/api/v1/teams/shop/members", `{"kind":"user","name":"service:eve","role":"viewer"}`)
	if s != 201 {
		t.Fatalf("add eve: %d %v", s, member)
	}
	var eve <-chan sse
	plane.Eventually(t, 30*time.Second, "eve's stream (Kubernetes binds her role)", func() (bool, error) {
		var status int
		c, status := logStream(t, t.Context(), base, "eve-token-0123456789", "environment=dev&tail=1", "")
		if status != 200 {
			return false, fmt.Errorf("status %d", status)
		}
		e := next(t, c, "eve's first event")
		if e.kind != "line" {
			return false, fmt.Errorf("%s %v", e.kind, e.data)
		}
		eve = c
		return true, nil
	})
	if s, _ := call(ci, "DELETE", "/api/v1/teams/shop/members/"+url.PathEscape(fmt.Sprint(member["id"])), ""); s != 204 {
		t.Fatalf("remove eve: %d", s)
	}
	for e := next(t, eve, "eve's stream ends"); e.kind != "error"; e = next(t, eve, "eve's stream ends") {
	}
	if _, ok := <-eve; ok {
		t.Fatal("eve's stream goes on after its error event")
	}

	// At most 5 streams per caller: the sixth is 429 with Retry-After.
	held, release := context.WithCancel(t.Context())
	defer release()
	for i := range 5 {
		if _, status := logStream(t, held, base, ci, "environment=dev", ""); status != 200 {
			t.Fatalf("stream %d: %d", i+1, status)
		}
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/teams/shop/services/web/logs?environment=dev", nil)
	req.Header.Set("Authorization", "Bearer "+ci)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("a sixth stream: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}
