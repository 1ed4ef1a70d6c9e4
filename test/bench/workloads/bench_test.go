package workloads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/test/bench"
)

// setup is built once per process: -count 3 measures three times on the same plane.
var (
	setupOnce sync.Once
	setupErr  error
	berth     *bench.Process
	peer      *bench.Process
	token     = randomToken()
	entity    []byte // the catalog's checkout entity, as the frontend sends it
	rows      []figures
	filled    time.Duration
)

// BenchmarkServicePageRead10kPods reads the service page of checkout (20 pods among 10,020)
// from Berth's workloads view and from @backstage/plugin-kubernetes-backend, with 1 and 10
// clients each, and writes both rows of every figure to test/bench/workloads-read.txt.
func BenchmarkServicePageRead10kPods(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a local plane with 10,000 pods")
	}
	setupOnce.Do(func() { setupErr = setup(context.Background()) })
	if setupErr != nil {
		b.Fatal(setupErr)
	}
	ctx := b.Context()
	const d = 20 * time.Second
	reads := []struct {
		name string
		proc *bench.Process
		req  request
	}{
		{"backstage-kubernetes-backend", peer, peerRead},
		{"berth", berth, berthRead},
	}
	b.ResetTimer()
	for range b.N {
		for _, r := range reads {
			for _, clients := range []int{1, 10} {
				f, err := measure(ctx, pl, r.name, r.proc.PID(), clients, d, r.req)
				if err != nil {
					b.Fatal(err)
				}
				rows = append(rows, f)
				if r.name == "berth" && clients == 10 {
					b.ReportMetric(f.rps, "berth-req/s")
					b.ReportMetric(float64(f.p99.Microseconds())/1000, "berth-p99-ms")
				}
				if r.name != "berth" && clients == 10 {
					b.ReportMetric(f.rps, "peer-req/s")
				}
			}
		}
	}
	b.StopTimer()
	if err := bench.Write("workloads-read.txt", report()); err != nil {
		b.Error(err)
	}
	if err := bench.WriteFigures("workloads", "Service page read at 10,020 pods", "workloads-read.txt", readFigures()); err != nil {
		b.Error(err)
	}
}

// readFigures puts the last run's rows of Berth and of the peer side by side.
func readFigures() []bench.Figure {
	last := map[string]figures{}
	for _, f := range rows {
		last[fmt.Sprint(f.server, f.clients)] = f
	}
	var figs []bench.Figure
	for _, clients := range []int{1, 10} {
		b, p := last[fmt.Sprint("berth", clients)], last[fmt.Sprint("backstage-kubernetes-backend", clients)]
		for _, v := range []struct {
			what        string
			berth, peer string
		}{
			{"requests/s", fmt.Sprintf("%.1f", b.rps), fmt.Sprintf("%.1f", p.rps)},
			{"p50 / p99", fmt.Sprintf("%s / %s", b.p50.Round(10*time.Microsecond), b.p99.Round(10*time.Microsecond)), fmt.Sprintf("%s / %s", p.p50.Round(10*time.Microsecond), p.p99.Round(10*time.Microsecond))},
			{"API-server LISTs per read", fmt.Sprintf("%.2f", b.listsPerRequest), fmt.Sprintf("%.2f", p.listsPerRequest)},
			{"server memory (RSS after the load)", fmt.Sprintf("%.0f MB", b.rssMB), fmt.Sprintf("%.0f MB", p.rssMB)},
		} {
			figs = append(figs, bench.Figure{What: fmt.Sprintf("%d client(s): %s", clients, v.what), Berth: v.berth,
				PeerName: "@backstage/plugin-kubernetes-backend", Peer: v.peer})
		}
	}
	return figs
}

func setup(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "berth-bench-plane-")
	if err != nil {
		return err
	}
	if pl, err = plane.Up(dir, "--no-kyverno", "--controller-qps", "300"); err != nil {
		return err
	}
	if work, err = os.MkdirTemp("", "berth-bench-"); err != nil {
		return err
	}
	t0 := time.Now()
	filling := make(chan error, 1)
	go func() { filling <- fill(ctx, pl) }()
	if berth, err = startBerth(ctx, pl, work, token); err != nil {
		return err
	}
	if err := provision(ctx, pl, berth, token); err != nil {
		return fmt.Errorf("provision checkout: %w (log: %s)", err, berth.Log.Name())
	}
	if err := <-filling; err != nil {
		return fmt.Errorf("fill the plane: %w", err)
	}
	filled = time.Since(t0)
	if peer, err = startPeer(ctx, pl, work); err != nil {
		return err
	}
	res, err := http.Get(peer.URL + "/api/catalog/entities/by-name/component/default/checkout")
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if entity, err = json.Marshal(map[string]json.RawMessage{"entity": raw}); err != nil {
		return err
	}
	// Both must answer with the 20 pods before their speed means anything.
	if err := checkPods(ctx, "berth", berthRequest, func(b []byte) (int, error) {
		var v struct {
			Environments []struct{ Pods []json.RawMessage }
		}
		err := json.Unmarshal(b, &v)
		if err != nil || len(v.Environments) != 1 {
			return 0, fmt.Errorf("%v: %.300s", err, b)
		}
		return len(v.Environments[0].Pods), nil
	}); err != nil {
		return err
	}
	return checkPods(ctx, "the peer", peerRequest, func(b []byte) (int, error) {
		var v struct {
			Items []struct {
				Resources []struct {
					Type      string
					Resources []json.RawMessage
				}
			}
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.Items) != 1 {
			return 0, fmt.Errorf("%v: %.300s", err, b)
		}
		for _, r := range v.Items[0].Resources {
			if r.Type == "pods" {
				return len(r.Resources), nil
			}
		}
		return 0, fmt.Errorf("no pods: %.300s", b)
	})
}

func berthRequest(ctx context.Context) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, "GET", berth.URL+"/api/v1/teams/shop/services/checkout/workloads", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func peerRequest(ctx context.Context) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, "POST", peer.URL+"/api/kubernetes/services/checkout", bytes.NewReader(entity))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func berthRead(ctx context.Context, c *http.Client) (int64, error) { return read(c, berthRequest(ctx)) }
func peerRead(ctx context.Context, c *http.Client) (int64, error)  { return read(c, peerRequest(ctx)) }

// checkPods reads once and counts the pods in the answer: 20, or the setup failed.
func checkPods(ctx context.Context, who string, req func(context.Context) *http.Request, count func([]byte) (int, error)) error {
	var last error
	for range 60 {
		res, err := http.DefaultClient.Do(req(ctx))
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			n, cerr := count(body)
			if res.StatusCode == 200 && cerr == nil && n == 20 {
				return nil
			}
			last = fmt.Errorf("status %d, %d pods, %v", res.StatusCode, n, cerr)
		} else {
			last = err
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("%s does not answer with checkout's 20 pods: %v", who, last)
}

func report() string {
	var out strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&out, "# The service page read at 10,020 pods: Berth beside @backstage/plugin-kubernetes-backend 0.21.15\n")
	fmt.Fprintf(&out, "# %s, %s, %d CPUs (%s/%s), filled in %s\n", time.Now().UTC().Format(time.RFC3339), host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, filled.Round(time.Second))
	fmt.Fprintf(&out, "# plane: kube-apiserver, etcd, kwok; %d nodes, %d namespaces of %d Deployments and %d pods each, plus team shop's\n", nodes, fillNamespaces, deploymentsPerNS, deploymentsPerNS*podsPerDeployment)
	fmt.Fprintf(&out, "#   service checkout (20 pods, Deployment, ReplicaSet, Service, Ingress, HPA, PDB) provisioned by Berth and synced by Argo CD.\n")
	fmt.Fprintf(&out, "# berth: GET /api/v1/teams/shop/services/checkout/workloads (bin/berth, SQLite); peer: POST /api/kubernetes/services/checkout\n")
	fmt.Fprintf(&out, "#   (Backstage backend-defaults 0.19.0, catalog-backend 4.0.5, better-sqlite3 in memory; multiTenant, skipMetricsLookup).\n")
	fmt.Fprintf(&out, "# Each row: 20 s of closed-loop load on loopback after 2 s of warm-up; LISTs from apiserver_request_total; RSS after the load.\n\n")
	fmt.Fprintf(&out, "%-30s %7s %9s %9s %9s %9s %10s %10s %10s %9s %9s\n", "server", "clients", "req/s", "p50", "p99", "bytes", "LIST/req", "apiserver", "server", "rss-MB", "peak-MB")
	for _, f := range rows {
		fmt.Fprintf(&out, "%-30s %7d %9.1f %9s %9s %9d %10.2f %10.2f %10.2f %9.0f %9.0f\n", f.server, f.clients, f.rps,
			f.p50.Round(10*time.Microsecond), f.p99.Round(10*time.Microsecond), f.bytes, f.listsPerRequest, f.apiCPU, f.serverCPU, f.rssMB, f.peakMB)
		if f.failures > 0 {
			fmt.Fprintf(&out, "%-30s %d requests failed\n", "", f.failures)
		}
	}
	fmt.Fprintf(&out, "\n(apiserver and server: CPU cores used during the load.)\n")
	return out.String()
}
