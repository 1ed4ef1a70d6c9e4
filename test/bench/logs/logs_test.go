// Package logs_test measures Berth's log streams on a local plane whose kwok serves a pod's
// log from a file: one stream's lines per second and time to first line beside `kubectl logs
// -f` on the same pod, 200 streams at once (Berth's memory and CPU, and lines lost), and a
// stream cut and resumed (lines lost and repeated). It runs in `make bench`; the figures go
// to test/bench/logs-stream.txt.
package logs_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/test/bench"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	bigLines = 200_000
	streams  = 200
	token    = "bench-token-0123456789abcdef"
	ns       = "shop-dev"
	bigPod   = "web-5f7d9c8b6-big01"
	smallPod = "web-5f7d9c8b6-small"
)

var (
	pl    *plane.Plane
	berth *bench.Process
	work  string
	small string // the small pod's log file, appended to
)

func TestMain(m *testing.M) {
	code := m.Run()
	if berth != nil {
		berth.Stop()
	}
	if pl != nil {
		_ = pl.Down()
		_ = os.RemoveAll(pl.Dir)
	}
	if work != "" {
		_ = os.RemoveAll(work)
	}
	os.Exit(code)
}

func setup(b *testing.B) {
	ctx := context.Background()
	var err error
	if work, err = os.MkdirTemp("", "berth-bench-logs-"); err != nil {
		b.Fatal(err)
	}
	if pl, err = plane.Up(filepath.Join(work, "plane"), "--no-argocd", "--no-kyverno"); err != nil {
		b.Fatal(err)
	}
	if berth, err = bench.StartBerth(ctx, filepath.Join(work, "berth"), "--kubeconfig", pl.Kubeconfig, "--environments", "dev",
		"--service-tokens", "bench="+token, "--log-streams-per-caller", "250", "--log-streams", "250"); err != nil {
		b.Fatal(err)
	}
	post := func(path, body string, want int) {
		req, _ := http.NewRequest("POST", berth.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != want {
			b.Fatalf("POST %s: %v %v", path, res, err)
		}
		res.Body.Close()
	}
	post("/api/v1/teams", `{"name":"shop"}`, 201)
	post("/api/v1/teams/shop/services", `{"name":"web","blueprint":"worker","image":"registry.example.com/shop/web","tag":"1.0.0","environments":["dev"]}`, 202)
	if err := bench.WaitFor(ctx, time.Minute, func() bool {
		_, err := pl.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return err == nil
	}); err != nil {
		b.Fatal(err)
	}
	big := filepath.Join(work, "big.log")
	f, _ := os.Create(big)
	w := bufio.NewWriter(f)
	at := time.Now().UTC().Add(-time.Hour)
	pad := strings.Repeat("x", 60)
	for i := range bigLines {
		fmt.Fprintf(w, "%s stdout F line %07d GET /api/orders/%d 200 %s\n", at.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i, i, pad)
	}
	w.Flush()
	f.Close()
	small = filepath.Join(work, "small.log")
	f, _ = os.Create(small)
	for i := range 10 {
		fmt.Fprintf(f, "%s stdout F start %d\n", time.Now().UTC().Format(time.RFC3339Nano), i)
	}
	f.Close()
	for name, file := range map[string]string{bigPod: big, smallPod: small} {
		pl.ServeLogs(b, ns, name, nil, file, file)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "berth"}},
			Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/web:1.0.0", SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
		if _, err := pl.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	// Berth follows a pod once its informers show the container running.
	if err := bench.WaitFor(ctx, time.Minute, func() bool {
		n, _, _, err := readStream(ctx, query(smallPod), "", 10, nil)
		return err == nil && n == 10
	}); err != nil {
		b.Fatalf("the small pod's stream: %v", err)
	}
}

func query(pod string) string { return "environment=dev&follow=true&pod=" + pod }

// readStream reads a Berth log stream (resumed after lastID when given) until want lines
// came, and returns how many, the time to the first and the total time; each line's event data
// goes to seen, and the last line's id to *last, when they are given.
func readStream(ctx context.Context, q, lastID string, want int, seen func(string), last ...*string) (int, time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", berth.URL+"/api/v1/teams/shop/services/web/logs?"+q, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return 0, 0, 0, fmt.Errorf("status %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, first, id := 0, time.Duration(0), ""
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "id: ") {
			id = strings.TrimPrefix(line, "id: ")
		}
		if !strings.HasPrefix(line, "data: {\"pod\"") || !strings.Contains(line, `"line":`) {
			continue
		}
		for _, l := range last {
			*l = id
		}
		if n == 0 {
			first = time.Since(start)
		}
		n++
		if seen != nil {
			seen(line)
		}
		if n == want {
			return n, first, time.Since(start), nil
		}
	}
	return n, first, time.Since(start), fmt.Errorf("the stream ended after %d lines: %v", n, sc.Err())
}

// kubectlLogs runs kubectl logs -f on the big pod until every line came.
func kubectlLogs(ctx context.Context) (time.Duration, time.Duration, error) {
	root, err := kube.RepoRoot()
	if err != nil {
		return 0, 0, err
	}
	out, err := exec.Command("bash", "-c", ". "+filepath.Join(root, "hack", "kube", "versions.sh")+" && echo $KUBE_BIN").Output()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(strings.TrimSpace(string(out)), "kubectl"), "--kubeconfig", pl.Kubeconfig, "logs", "-f", "-n", ns, bigPod)
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	r := bufio.NewReaderSize(stdout, 64<<10)
	n, first := 0, time.Duration(0)
	for n < bigLines {
		if _, err := r.ReadSlice('\n'); err != nil {
			return 0, 0, fmt.Errorf("kubectl after %d lines: %w", n, err)
		}
		if n == 0 {
			first = time.Since(start)
		}
		n++
	}
	return first, time.Since(start), nil
}

type row struct{ name, value string }

var (
	setupOnce sync.Once
	rows      []row
)

func BenchmarkLogStreams(b *testing.B) {
	if testing.Short() {
		b.Skip("runs a local plane")
	}
	setupOnce.Do(func() { setup(b) })
	ctx := b.Context()
	add := func(name, format string, args ...any) { rows = append(rows, row{name, fmt.Sprintf(format, args...)}) }
	for range b.N {
		// One stream of 200,000 lines, Berth beside kubectl logs -f.
		n, first, total, err := readStream(ctx, query(bigPod), "", bigLines, nil)
		if err != nil {
			b.Fatal(err)
		}
		kFirst, kTotal, err := kubectlLogs(ctx)
		if err != nil {
			b.Fatal(err)
		}
		berthRate, kubectlRate := float64(n)/total.Seconds(), float64(bigLines)/kTotal.Seconds()
		b.ReportMetric(berthRate, "berth-lines/s")
		add("one stream, lines/s: berth / kubectl logs -f", "%.0f / %.0f (kubectl %.2fx Berth's)", berthRate, kubectlRate, kubectlRate/berthRate)
		add("one stream, first line: berth / kubectl logs -f", "%s / %s", first.Round(time.Millisecond), kFirst.Round(time.Millisecond))

		// Cut after a quarter and resumed: every line once.
		seen := make([]int, bigLines)
		count := func(line string) {
			i := strings.Index(line, "line ")
			if k, err := strconv.Atoi(line[i+5 : i+12]); err == nil {
				seen[k]++
			}
		}
		var last string
		_, _, _, err = readStream(ctx, query(bigPod), "", bigLines/4, count, &last)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := readStream(ctx, query(bigPod), last, bigLines-bigLines/4, count, &last); err != nil {
			b.Fatal(err)
		}
		lost, repeated := 0, 0
		for _, c := range seen {
			if c == 0 {
				lost++
			}
			if c > 1 {
				repeated += c - 1
			}
		}
		add("a stream cut at 50,000 lines and resumed: lost / repeated", "%d / %d", lost, repeated)

		// 200 streams at once on one pod while it writes 200 lines a second for 5 s.
		var wg sync.WaitGroup
		var got atomic.Int64
		var failed atomic.Int64
		const appended = 1000
		sctx, cancel := context.WithCancel(ctx)
		runtime.GC()
		rssBefore, _ := bench.Memory(berth.PID())
		cpu0 := bench.CPUSeconds(berth.PID())
		t0 := time.Now()
		start := lineCount(small)
		for range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, _, _, err := readStream(sctx, query(smallPod), "", start+appended, nil)
				got.Add(int64(n))
				if err != nil {
					failed.Add(1)
				}
			}()
		}
		time.Sleep(3 * time.Second) // every stream open and read up to now
		rssOpen, _ := bench.Memory(berth.PID())
		f, _ := os.OpenFile(small, os.O_APPEND|os.O_WRONLY, 0o644)
		for i := range appended {
			fmt.Fprintf(f, "%s stdout F appended %d\n", time.Now().UTC().Format(time.RFC3339Nano), i)
			if i%40 == 39 {
				time.Sleep(200 * time.Millisecond)
			}
		}
		f.Close()
		wg.Wait()
		cancel()
		elapsed := time.Since(t0).Seconds()
		rss, peak := bench.Memory(berth.PID())
		missing := int64(streams*(start+appended)) - got.Load()
		add("200 streams: Berth RSS before / with all open / after / peak", "%.0f MB / %.0f MB / %.0f MB / %.0f MB", rssBefore, rssOpen, rss, peak)
		add("200 streams: Berth CPU (cores, mean over the run)", "%.2f", (bench.CPUSeconds(berth.PID())-cpu0)/elapsed)
		add("200 streams: lines lost (of 200 x 1,010), streams failed", "%d, %d", missing, failed.Load())
	}
	var out strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&out, "# Log streams: Berth (bin/berth, SSE through the API server as the caller) beside kubectl logs -f, local plane with kwok serving a file\n")
	fmt.Fprintf(&out, "# %s, %s, %d CPUs; 200,000 lines of ~110 bytes; goals: >= 20,000 lines/s, first line < 200 ms, 200 streams < 200 MB, kubectl within 1.2x\n\n", time.Now().UTC().Format(time.RFC3339), host, runtime.NumCPU())
	for _, r := range rows {
		fmt.Fprintf(&out, "%-62s %s\n", r.name, r.value)
	}
	if err := bench.Write("logs-stream.txt", out.String()); err != nil {
		b.Error(err)
	}
	if err := bench.WriteFigures("logs", "Log streams", "logs-stream.txt", logFigures(rows)); err != nil {
		b.Error(err)
	}
}

// logFigures are the rows as figures (the last run's of each), kubectl's beside Berth's where
// a row has both.
func logFigures(rows []row) []bench.Figure {
	var figs []bench.Figure
	at := map[string]int{}
	for _, r := range rows {
		f := bench.Figure{What: r.name, Berth: r.value}
		if what, ok := strings.CutSuffix(r.name, ": berth / kubectl logs -f"); ok {
			if berth, peer, ok := strings.Cut(r.value, " / "); ok {
				f = bench.Figure{What: what, Berth: berth, PeerName: "kubectl logs -f", Peer: strings.Fields(peer)[0]}
			}
		}
		if i, ok := at[f.What]; ok {
			figs[i] = f
			continue
		}
		at[f.What] = len(figs)
		figs = append(figs, f)
	}
	return figs
}

func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}
