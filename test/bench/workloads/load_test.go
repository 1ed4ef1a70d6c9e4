package workloads_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/test/bench"
)

// figures of one server under one load.
type figures struct {
	server               string
	clients, n, failures int
	rps                  float64
	p50, p99             time.Duration
	bytes                int64   // of one answer
	listsPerRequest      float64 // API-server LISTs (all clients) per answer
	apiCPU, serverCPU    float64 // cores used during the load
	rssMB, peakMB        float64 // of the server's process after the load
}

// request makes one read and returns the bytes of the answer.
type request func(ctx context.Context, c *http.Client) (int64, error)

// measure runs clients loops of req for d (after a warm-up of a tenth of it) and reads the
// API server's LIST counter and the CPU of it and of the server around the measured part.
func measure(ctx context.Context, p *plane.Plane, server string, pid, clients int, d time.Duration, req request) (figures, error) {
	f := figures{server: server, clients: clients}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	warm, cancel := context.WithTimeout(ctx, d/10)
	run(warm, clients, c, req)
	cancel()
	apiPID, err := apiServerPID(p)
	if err != nil {
		return f, err
	}
	lists0, err := listCount(ctx, p)
	if err != nil {
		return f, err
	}
	api0, srv0, t0 := bench.CPUSeconds(apiPID), bench.CPUSeconds(pid), time.Now()
	loaded, cancel := context.WithTimeout(ctx, d)
	lat, size, failures := run(loaded, clients, c, req)
	cancel()
	elapsed := time.Since(t0).Seconds()
	api1, srv1 := bench.CPUSeconds(apiPID), bench.CPUSeconds(pid)
	lists1, err := listCount(ctx, p)
	if err != nil {
		return f, err
	}
	if len(lat) == 0 {
		return f, fmt.Errorf("%s: no request succeeded (%d failed)", server, failures)
	}
	slices.Sort(lat)
	q := func(x float64) time.Duration { return lat[min(len(lat)-1, int(x*float64(len(lat))))] }
	f.n, f.failures, f.rps, f.p50, f.p99, f.bytes = len(lat), failures, float64(len(lat))/elapsed, q(0.5), q(0.99), size
	f.listsPerRequest = (lists1 - lists0) / float64(len(lat))
	f.apiCPU, f.serverCPU = (api1-api0)/elapsed, (srv1-srv0)/elapsed
	f.rssMB, f.peakMB = bench.Memory(pid)
	return f, nil
}

// run loops req on clients goroutines until ctx ends; a failed request counts and the loop goes on.
func run(ctx context.Context, clients int, c *http.Client, req request) (lat []time.Duration, size int64, failures int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
				n, err := req(ctx, c)
				d := time.Since(t)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if err != nil {
					failures++
				} else {
					lat, size = append(lat, d), n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, size, failures
}

// read sends r and counts the answer's bytes; anything but 200 is a failure.
func read(c *http.Client, r *http.Request) (int64, error) {
	res, err := c.Do(r)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("status %d", res.StatusCode)
	}
	return n, nil
}

// listCount sums the API server's apiserver_request_total over verb LIST.
func listCount(ctx context.Context, p *plane.Plane) (float64, error) {
	raw, err := p.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	var total float64
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `verb="LIST"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		total += v
	}
	return total, sc.Err()
}

func apiServerPID(p *plane.Plane) (int, error) {
	b, err := os.ReadFile(filepath.Join(p.Dir, "pids", "kube-apiserver.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
