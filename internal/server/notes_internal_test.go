package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Probes that come together while a note runs share its one answer, a caller who gives up
// does not cut it short for the others, and a stale answer is asked again once.
func TestNotesRunOncePerTTL(t *testing.T) {
	n := newNoteCache(300*time.Millisecond, slog.New(slog.DiscardHandler))
	var calls atomic.Int32
	release := make(chan struct{})
	note := func(ctx context.Context) error {
		calls.Add(1)
		select {
		case <-release:
			return errors.New("argocd: no API")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	gone, leave := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		ctx := context.Background()
		if i == 0 {
			ctx = gone
		}
		wg.Go(func() { got[i] = n.get(ctx, "argocd", note) })
	}
	time.Sleep(100 * time.Millisecond)
	leave()
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if c := calls.Load(); c != 1 {
		t.Fatalf("the note ran %d times for 20 callers at once", c)
	}
	if got[0] != "degraded: context canceled" {
		t.Errorf("the caller who left: %q", got[0])
	}
	for i, v := range got[1:] {
		if v != "degraded: argocd: no API" {
			t.Errorf("caller %d: %q", i+1, v)
		}
	}
	if v := n.get(context.Background(), "argocd", note); v != "degraded: argocd: no API" || calls.Load() != 1 {
		t.Fatalf("fresh: %q after %d calls", v, calls.Load())
	}
	time.Sleep(350 * time.Millisecond)
	if v := n.get(context.Background(), "argocd", note); v != "degraded: argocd: no API" || calls.Load() != 2 {
		t.Fatalf("stale: %q after %d calls", v, calls.Load())
	}
}
