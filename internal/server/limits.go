package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Limits bound what one caller, and one request, may cost.
type Limits struct {
	// PerCaller requests a second each caller may make (an authenticated subject, or an
	// address for requests without credentials), Burst at once; zero PerCaller: no limit.
	PerCaller float64
	Burst     int
	// Request is how long a request may take (streams excepted); zero: no limit.
	Request time.Duration
	// TrustedProxies are the addresses of the proxies in front of Berth (an ingress
	// controller, a load balancer): a connection from one of them is counted under the client
	// address it puts in X-Forwarded-For. Without them every connection is its own caller and
	// the header is ignored (anyone could write it), so behind a proxy all its clients would
	// share the proxy's address, and one guessing tokens would stop them all.
	TrustedProxies []netip.Prefix
}

// ipExtractor is how Berth tells a caller's address: the connection's, or behind a trusted
// proxy the nearest address in X-Forwarded-For that is not one. Echo's default trusts
// loopback and private networks' headers: here nothing is trusted unless configured.
func ipExtractor(l Limits) echo.IPExtractor {
	if len(l.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range l.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Masked().Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// streaming operations last as long as their caller follows them.
var streaming = map[string]bool{"streamRun": true, "streamServiceLogs": true, "downloadServiceLogs": true}

// unlimited operations are the probes' and the document's: kubelets and load balancers call
// them every few seconds, and they cost nothing.
var unlimited = map[string]bool{"getHealth": true, "getReadiness": true, "getOpenAPISpec": true}

// retryAfter is a 429 that says when to come back.
type retryAfter struct {
	error
	after time.Duration
}

func (r retryAfter) Unwrap() error { return r.error }

// seconds is the Retry-After value: whole seconds, at least one.
func (r retryAfter) seconds() string {
	return strconv.Itoa(max(1, int(math.Ceil(r.after.Seconds()))))
}

// callers keeps a token bucket per caller; buckets idle past a minute are forgotten once
// there are many, so callers who come and go do not grow it without bound.
type callers struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	seen  map[string]*caller
}

type caller struct {
	bucket *rate.Limiter
	last   time.Time
}

const maxCallers = 10000

func (c *callers) wait(key string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= maxCallers {
		for k, v := range c.seen {
			if now.Sub(v.last) > time.Minute {
				delete(c.seen, k)
			}
		}
	}
	b, ok := c.seen[key]
	if !ok && len(c.seen) >= maxCallers {
		// Still full of callers seen within the minute: the newcomers share one bucket, so
		// that many names (or addresses) cannot grow this without bound.
		key = "overflow"
		b, ok = c.seen[key]
	}
	if !ok {
		b = &caller{bucket: rate.NewLimiter(c.limit, c.burst)}
		c.seen[key] = b
	}
	b.last = now
	r := b.bucket.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// exhausted says how long until key's bucket holds a token again, without spending one.
func (c *callers) exhausted(key string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.seen[key]
	if !ok && len(c.seen) >= maxCallers {
		b, ok = c.seen["overflow"] // where wait counts newcomers once it is full
	}
	if !ok {
		return 0
	}
	if tokens := b.bucket.TokensAt(now); tokens < 1 {
		return time.Duration((1 - tokens) / float64(c.limit) * float64(time.Second))
	}
	return 0
}

func newCallers(l Limits) *callers {
	return &callers{limit: rate.Limit(l.PerCaller), burst: max(1, l.Burst), seen: map[string]*caller{}}
}

// address is the caller's address as ipExtractor tells it.
func address(c echo.Context) string { return "address:" + c.RealIP() }

// perCaller makes a middleware of limit, given its own buckets, for every operation but the
// probes' and the document's; without a rate it is no middleware at all.
func perCaller(l Limits, limit func(c echo.Context, cs *callers, next echo.HandlerFunc) error) echo.MiddlewareFunc {
	cs := newCallers(l)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l.PerCaller <= 0 {
			return next
		}
		return func(c echo.Context) error {
			if op, _ := c.Get(ctxOperationID).(string); unlimited[op] {
				return next(c) // a kubelet's probes share the node's address
			}
			return limit(c, cs, next)
		}
	}
}

// refusedCredentials runs before authentication and spends, per address, a token of its own
// bucket for each request whose credentials are refused (401): past the rate, that address
// is answered 429 before its credentials are read, so guessing tokens, or sending forged
// JWTs whose signatures cost Berth a verification each, goes no faster than any caller's rate.
// Every request from that address is refused while it lasts, valid credentials too: reading
// them first would tell a guesser which guess was right.
func refusedCredentials(l Limits) echo.MiddlewareFunc {
	return perCaller(l, func(c echo.Context, cs *callers, next echo.HandlerFunc) error {
		key := address(c)
		if d := cs.exhausted(key, time.Now()); d > 0 {
			return retryAfter{fmt.Errorf("%w: more than %g requests a second with refused credentials from this address; try again after Retry-After", errs.ErrTooMany, l.PerCaller), d}
		}
		err := next(c)
		if errors.Is(err, errs.ErrUnauthenticated) {
			cs.wait(key, time.Now())
		}
		return err
	})
}

// rateLimit refuses a caller past its rate (429 with Retry-After); it runs after
// authentication, so it knows who calls.
func rateLimit(l Limits) echo.MiddlewareFunc {
	return perCaller(l, func(c echo.Context, cs *callers, next echo.HandlerFunc) error {
		key := address(c)
		if p, ok := access.PrincipalFrom(c.Request().Context()); ok {
			key = "subject:" + p.Subject
		}
		if d := cs.wait(key, time.Now()); d > 0 {
			return retryAfter{fmt.Errorf("%w: more than %g requests a second from this caller; try again after Retry-After", errs.ErrTooMany, l.PerCaller), d}
		}
		return next(c)
	})
}

// timeLimit stops a request past l.Request (503 timeout); streams last as long as their
// caller follows them.
func timeLimit(l Limits) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l.Request <= 0 {
			return next
		}
		return func(c echo.Context) error {
			if op, _ := c.Get(ctxOperationID).(string); streaming[op] {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), l.Request)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			err := next(c)
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !c.Response().Committed {
				return &httpProblem{status: http.StatusServiceUnavailable, slug: "timeout",
					detail: fmt.Sprintf("the request took longer than %s and was stopped; try again", l.Request)}
			}
			return err
		}
	}
}

// securityHeaders are the answers' browser hardening: Berth serves JSON and streams, never
// pages, so nothing it answers is to be sniffed, framed or sent as a referrer.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		return next(c)
	}
}
