package plane

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/kube"
)

// A start that fails midway (Argo CD's Redis exits at once) stops everything it had started
// and marks its folder failed; the next start wipes it and comes up whole; a plane with a
// component gone is not "already up" but started again.
func TestPlaneStartIsAllOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts planes of its own")
	}
	script, err := kube.PlaneScript()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port, err := freePortRange(18)
	if err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "redis-server"), []byte("#!/bin/sh\necho 'redis: cannot start' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plane := func(path string, args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	up := []string{"up", dir, "--port", fmt.Sprint(port), "--no-kyverno"}
	t.Cleanup(func() { _, _ = plane(os.Getenv("PATH"), "down", dir) })

	out, err := plane(broken+":"+os.Getenv("PATH"), up...)
	if err == nil || !strings.Contains(out, "start failed; stopping what it started") {
		t.Fatalf("a start whose Redis cannot run: %v\n%s", err, out)
	}
	if left := processesIn(t, dir); len(left) > 0 {
		t.Fatalf("a failed start left processes running:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(filepath.Join(dir, "failed")); err != nil {
		t.Fatalf("the folder is not marked failed: %v", err)
	}

	out, err = plane(os.Getenv("PATH"), up...)
	if err != nil || !strings.Contains(out, "wiping its state and starting clean") {
		t.Fatalf("the start after a failed one: %v\n%s", err, out)
	}
	allRunning(t, plane, dir)
	if _, err := os.Stat(filepath.Join(dir, "failed")); !os.IsNotExist(err) {
		t.Fatalf("a complete start left the failed mark: %v", err)
	}

	pid, err := os.ReadFile(filepath.Join(dir, "pids", "argocd-server.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("kill", "-9", strings.TrimSpace(string(pid))).Run(); err != nil {
		t.Fatal(err)
	}
	out, err = plane(os.Getenv("PATH"), up...)
	if err != nil || strings.Contains(out, "already up") || !strings.Contains(out, "incomplete (argocd-server not running)") {
		t.Fatalf("up over a plane without its Argo CD server: %v\n%s", err, out)
	}
	allRunning(t, plane, dir)
	if out, err = plane(os.Getenv("PATH"), up...); err != nil || !strings.Contains(out, "already up") {
		t.Fatalf("up over a whole plane: %v\n%s", err, out)
	}
}

func allRunning(t *testing.T, plane func(string, ...string) (string, error), dir string) {
	t.Helper()
	out, err := plane(os.Getenv("PATH"), "status", dir)
	if err != nil || strings.Contains(out, "stopped") || strings.Count(out, "running") != 9 {
		t.Fatalf("status after a start (want 9 components running): %v\n%s", err, out)
	}
}

// processesIn lists the processes whose command line names dir.
func processesIn(t *testing.T, dir string) []string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), dir) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
			continue
		}
		out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}
