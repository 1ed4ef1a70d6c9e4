package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/kube"
)

// Process is a server a benchmark started: its URL, and its PID for RSS and CPU.
type Process struct {
	URL string
	Cmd *exec.Cmd
	Log *os.File
}

// Stop interrupts the process, and kills it if it has not ended within 10 s.
func (p *Process) Stop() {
	if p.Cmd.Process != nil {
		_ = p.Cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Cmd.Process.Kill()
			<-done
		}
	}
	p.Log.Close()
}

// PID is the process's id.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// StartBerth runs bin/berth serve (make build) on 127.0.0.1 with SQLite in dir and the given
// flags, and waits until it is ready.
func StartBerth(ctx context.Context, dir string, args ...string) (*Process, error) {
	root, err := kube.RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "bin", "berth")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: run make build (make bench does)", bin)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "berth.log"))
	if err != nil {
		return nil, err
	}
	all := append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "data"), "--log-format", "text",
		// Benchmarks measure what Berth does at load, not its per-caller limit.
		"--rate-limit", "0"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "BERTH_DATABASE_URL=")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Process{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Cmd: cmd, Log: log}
	if err := WaitFor(ctx, time.Minute, func() bool {
		res, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	}); err != nil {
		p.Stop()
		return nil, fmt.Errorf("berth: %w (log: %s)", err, log.Name())
	}
	return p, nil
}

// FreePort is a free port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitFor polls cond every 250 ms until it holds or timeout passes.
func WaitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// CPUSeconds is a process's user and system time (Linux, 100 ticks a second).
func CPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) start at state, field 3.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

// Memory is a process's resident set and its peak, in MB.
func Memory(pid int) (rss, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak
}
