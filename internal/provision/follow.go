package provision

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/store"
)

// changes wakes followers when any run changes here. One broadcast for all runs: a wake-up
// costs a follower one read of its run, and nothing is kept per run.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// next returns a channel closed at the next change.
func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// followFallback bounds how late a follower sees a change made by another process.
const followFallback = 5 * time.Second

// Follow calls emit with the run now and after each change, until it has finished or ctx
// ends (team viewer). Access is checked again at least every followFallback: a caller who
// loses their role in the team stops hearing of the run within that time.
func (s *Service) Follow(ctx context.Context, p access.Principal, id string, emit func(store.Run, store.Service) error) error {
	// Subscribe before each read, so that a change in between is not missed.
	wake := s.changes.next()
	run, svc, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	checked := time.Now()
	for {
		if err := emit(run, svc); err != nil {
			return err
		}
		if run.Status == StatusSucceeded || run.Status == StatusFailed {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(followFallback):
		}
		wake = s.changes.next()
		if time.Since(checked) >= followFallback {
			if run, svc, err = s.Get(ctx, p, id); err != nil {
				return fmt.Errorf("access to run %s ended: %w", id, err)
			}
			checked = time.Now()
			continue
		}
		if run, err = s.deps.Store.Q().RunByID(ctx, id); err != nil {
			return err
		}
	}
}
