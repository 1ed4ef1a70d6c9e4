package logs

import (
	"fmt"
	"sync"

	"github.com/berth-platform/berth/internal/errs"
)

// Limiter bounds the log reads open at once, per caller and in all: each holds connections to
// the kubelets of its pods.
type Limiter struct {
	mu               sync.Mutex
	perCaller, total int
	open             map[string]int
	all              int
}

// NewLimiter allows perCaller reads per caller and total in all.
func NewLimiter(perCaller, total int) *Limiter {
	return &Limiter{perCaller: perCaller, total: total, open: map[string]int{}}
}

// Acquire takes one read for caller, or says why not (errs.ErrTooMany); release gives it back.
func (l *Limiter) Acquire(caller string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.open[caller] >= l.perCaller:
		return nil, fmt.Errorf("%w log streams: you have %d open, the most one caller may", errs.ErrTooMany, l.perCaller)
	case l.all >= l.total:
		return nil, fmt.Errorf("%w log streams: Berth serves %d, the most it allows", errs.ErrTooMany, l.total)
	}
	l.open[caller]++
	l.all++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.all--
			if l.open[caller]--; l.open[caller] == 0 {
				delete(l.open, caller)
			}
		})
	}, nil
}
