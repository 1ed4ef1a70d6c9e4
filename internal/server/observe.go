package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const (
	ctxRequestID   = "berth.requestID"
	ctxLogger      = "berth.logger"
	ctxOperationID = "berth.operationID"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,128}$`)

// withRequestID takes a well-formed X-Request-Id from the caller (Backstage sends one) or
// makes one, and puts it in the response, the audit context and the logger.
func withRequestID(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !requestIDPattern.MatchString(id) {
				var b [12]byte
				_, _ = rand.Read(b[:])
				id = hex.EncodeToString(b[:])
			}
			c.Set(ctxRequestID, id)
			c.Set(ctxLogger, log.With("request_id", id))
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			c.SetRequest(c.Request().WithContext(audit.WithRequestID(c.Request().Context(), id)))
			return next(c)
		}
	}
}

func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

func loggerOf(c echo.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := c.Get(ctxLogger).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// metrics are Berth's own Prometheus metrics, on a registry of their own.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_requests_total", Help: "HTTP requests served, by operationId and status code.",
		}, []string{"operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "berth_http_request_duration_seconds", Help: "Time to serve HTTP requests, by operationId.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
	}
	m.registry.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe logs each request once and counts it, after the error handler has written errors.
func observe(log *slog.Logger, m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			op, _ := c.Get(ctxOperationID).(string)
			if op == "" {
				op = "unknown"
			}
			status := c.Response().Status
			elapsed := time.Since(start)
			m.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(op).Observe(elapsed.Seconds())
			attrs := []any{"method", c.Request().Method, "path", c.Request().URL.Path, "operation", op,
				"status", status, "duration_ms", float64(elapsed.Microseconds()) / 1000}
			if p, ok := access.PrincipalFrom(c.Request().Context()); ok {
				attrs = append(attrs, "user", p.Subject)
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			loggerOf(c, log).Log(c.Request().Context(), level, "request", attrs...)
			return nil
		}
	}
}
