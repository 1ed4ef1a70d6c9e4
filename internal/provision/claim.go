package provision

import (
	"context"
	"time"
)

// claimed executes a run under this process's claim on it, so that of several replicas one
// executes each run at a time. Another replica's live claim means that replica has it: this
// one leaves the run. The claim is renewed while the run executes and given up when it stops
// (done, failed, waiting or Berth stopping), so the next to queue it may take it at once. A
// claim that cannot be renewed within its lease (another replica took it, or the database did
// not answer) stops the run where it is, for its holder to resume: every step is idempotent.
func (s *Service) claimed(ctx context.Context, id string, execute func(context.Context) (*waiting, error)) (*waiting, error) {
	q, owner, lease := s.deps.Store.Q(), s.deps.Executor, s.deps.ClaimLease
	now := time.Now()
	ok, err := q.ClaimRun(ctx, id, owner, now.Add(lease), now)
	if err != nil || !ok {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(lease / 4)
		defer t.Stop()
		held := now
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
			now := time.Now()
			ok, err := q.ClaimRun(rctx, id, owner, now.Add(lease), now)
			switch {
			case err == nil && ok:
				held = now
			case err == nil, now.Sub(held) >= lease:
				cancel() // taken over, or no longer ours for sure
				return
			}
		}
	}()
	w, err := execute(rctx)
	cancel()
	<-renewed
	if rerr := q.ReleaseRun(context.WithoutCancel(ctx), id, owner); rerr != nil {
		s.deps.Log.Warn("run claim not released (it runs out by itself)", "run", id, "error", rerr)
	}
	return w, err
}
