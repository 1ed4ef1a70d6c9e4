package loop_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/loop"
)

// A failing round is logged and the loop goes on; it stops when its context ends; with now it
// starts at once.
func TestEvery(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &buf, mu: &mu}, nil))
	ctx, cancel := context.WithCancel(t.Context())
	rounds := make(chan time.Time, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		loop.Every(ctx, 10*time.Millisecond, true, log, "round failed", func(_ context.Context, now time.Time) error {
			n++
			rounds <- now
			if n == 1 {
				return errors.New("first round breaks")
			}
			if n == 3 {
				cancel()
			}
			return nil
		})
	}()
	<-done
	if len(rounds) != 3 {
		t.Fatalf("%d rounds, want 3 (the loop went on after a failure and stopped when cancelled)", len(rounds))
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), `msg="round failed" error="first round breaks"`) || strings.Count(buf.String(), "round failed") != 1 {
		t.Fatalf("log: %s", buf.String())
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
