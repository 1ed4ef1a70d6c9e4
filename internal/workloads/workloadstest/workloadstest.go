// Package workloadstest gives tests Berth's informers of a real cluster, synced.
package workloadstest

import (
	"context"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/workloads"
	"k8s.io/client-go/rest"
)

// Registry attaches Berth's own cluster (cfg) and waits until its caches hold a full list; they
// stop when the test ends.
func Registry(t testing.TB, cfg *rest.Config) *workloads.Registry {
	t.Helper()
	reg := workloads.NewRegistry()
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go reg.Attach(ctx, "", cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c := reg.Get(""); c != nil && c.Synced() {
			return reg
		}
		if time.Now().After(deadline) {
			t.Fatal("the workloads caches did not sync in 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
