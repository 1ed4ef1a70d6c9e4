package loop

import (
	"context"
	"log/slog"
	"time"
)

// Tick is one round of work at now.
type Tick func(ctx context.Context, now time.Time) error

// Every calls tick at every interval until ctx ends; a failure is logged as what and the next
// round tries again. With now, the first round runs at once.
func Every(ctx context.Context, interval time.Duration, now bool, log *slog.Logger, what string, tick Tick) {
	t := time.NewTicker(interval)
	defer t.Stop()
	at := time.Now()
	for {
		if now {
			if err := tick(ctx, at); err != nil && ctx.Err() == nil {
				log.Warn(what, "error", err)
			}
		}
		now = true
		select {
		case <-ctx.Done():
			return
		case at = <-t.C:
		}
	}
}
