package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/labstack/echo/v4"
)

// guardMetrics asks scrapers of /metrics for the metrics token, when one is configured:
// request counts per operation say what a platform does and to whom.
func guardMetrics(hash *[32]byte) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if hash == nil || c.Request().URL.Path != "/metrics" {
				return next(c)
			}
			scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
			if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare(sum[:], hash[:]) != 1 {
				return fmt.Errorf("%w: /metrics needs the metrics token", errs.ErrUnauthenticated)
			}
			return next(c)
		}
	}
}

// checkTimeout bounds each readiness check and note.
const checkTimeout = 3 * time.Second

// noteCache keeps each readiness note's answer for a while: notes ask other systems (Argo
// CD's API discovery, Git remotes), and probes come every few seconds from every kubelet.
type noteCache struct {
	ttl time.Duration
	mu  sync.Mutex
	at  map[string]time.Time
	val map[string]string
}

func newNoteCache(ttl time.Duration) *noteCache {
	return &noteCache{ttl: ttl, at: map[string]time.Time{}, val: map[string]string{}}
}

// get answers the note's last result while it is fresh, else runs it (with a timeout).
func (n *noteCache) get(ctx context.Context, name string, note func(context.Context) error) string {
	n.mu.Lock()
	if at, ok := n.at[name]; ok && time.Since(at) < n.ttl {
		v := n.val[name]
		n.mu.Unlock()
		return v
	}
	n.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	err := note(cctx)
	cancel()
	v := "ok"
	if err != nil {
		v = "degraded: " + err.Error()
	}
	n.mu.Lock()
	n.at[name], n.val[name] = time.Now(), v
	n.mu.Unlock()
	return v
}
