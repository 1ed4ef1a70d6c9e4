package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/labstack/echo/v4"
	"golang.org/x/sync/singleflight"
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
// Callers who come while a note runs wait for its answer instead of running it again, so a
// flood of probes asks the other systems once per ttl at most.
type noteCache struct {
	ttl     time.Duration
	log     *slog.Logger
	flights singleflight.Group
	mu      sync.Mutex
	at      map[string]time.Time
	val     map[string]string
}

func newNoteCache(ttl time.Duration, log *slog.Logger) *noteCache {
	return &noteCache{ttl: ttl, log: log, at: map[string]time.Time{}, val: map[string]string{}}
}

// get answers the note's last result while it is fresh, else runs it (with a timeout).
func (n *noteCache) get(ctx context.Context, name string, note func(context.Context) error) string {
	if v, ok := n.fresh(name); ok {
		return v
	}
	ch := n.flights.DoChan(name, func() (any, error) {
		if v, ok := n.fresh(name); ok { // answered while this caller came
			return v, nil
		}
		// Its own deadline, not the first caller's: the others wait for the same answer.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
		defer cancel()
		v := "ok"
		if err := note(cctx); err != nil {
			v = "degraded: " + withheld(err)
			n.log.Warn("readiness note degraded", "note", name, "error", err)
		}
		n.mu.Lock()
		n.at[name], n.val[name] = time.Now(), v
		n.mu.Unlock()
		return v, nil
	})
	select {
	case r := <-ch:
		return r.Val.(string)
	case <-ctx.Done():
		return "degraded: " + ctx.Err().Error()
	}
}

func (n *noteCache) fresh(name string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if at, ok := n.at[name]; ok && time.Since(at) < n.ttl {
		return n.val[name], true
	}
	return "", false
}

// withheld is what /readyz, which anyone who reaches Berth may ask, says of a failed check:
// Berth's own words (no Lease, a namespace not usable) as they are, but of a transport error
// only that the server did not answer, since its text names internal addresses. The log has
// the whole error.
func withheld(err error) string {
	var ue *url.Error
	var op *net.OpError
	if errors.As(err, &ue) || errors.As(err, &op) {
		return "did not answer (Berth's log has the cause)"
	}
	return err.Error()
}
