// Package workloads_test measures the service page's read at 10,020 pods: Berth's workloads
// view beside the peer it replaces, @backstage/plugin-kubernetes-backend, on one local plane
// in one run, with the same client and concurrency. It runs in `make bench` only (a plane of
// 10,000 pods is no unit of CI); the figures go to test/bench/workloads-read.txt.
package workloads_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/test/bench"
)

var (
	pl   *plane.Plane
	work string // the servers' folders
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []*bench.Process{peer, berth} {
		if p != nil {
			p.Stop()
		}
	}
	if work != "" {
		_ = os.RemoveAll(work)
	}
	if pl != nil {
		if err := pl.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "plane:", err)
		}
		_ = os.RemoveAll(pl.Dir)
	}
	os.Exit(code)
}
