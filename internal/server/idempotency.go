package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// IdempotencyTTL is how long a first response is kept for replay.
const IdempotencyTTL = 24 * time.Hour

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{echo.HeaderContentType, echo.HeaderLocation, "ETag"}

// idempotency makes a mutation with an Idempotency-Key safe to retry: the first response (any
// status below 500) is stored per caller and key and replayed for IdempotencyTTL; the same key
// with another body or path is a 422; a retry while the first is still running is a 409.
//
// Only operations whose spec declares the header honour it (the spec also bounds its length,
// checked by validation before this runs); elsewhere it is ignored. A dry run, named by the
// operation's own dryRun parameter in any form a boolean takes, never claims a key: it
// changes nothing, and the real request with that key must not replay the dry run's answer.
func idempotency(st *store.Store, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := c.Request().Header.Get("Idempotency-Key")
			if key == "" {
				return next(c)
			}
			mr, _ := c.Get(ctxRoute).(matchedRoute)
			declared, dryRun := idempotencyOf(mr.route)
			if !declared {
				return next(c)
			}
			if dry, err := strconv.ParseBool(c.QueryParam(dryRun)); dryRun != "" && err == nil && dry {
				return next(c)
			}
			p, ok := access.PrincipalFrom(c.Request().Context())
			if !ok {
				return next(c)
			}
			body, err := io.ReadAll(c.Request().Body)
			if err != nil {
				return echo.ErrStatusRequestEntityTooLarge
			}
			c.Request().Body = io.NopCloser(bytes.NewReader(body))
			now := time.Now()
			rec := store.IdempotencyRecord{Subject: p.Subject, Key: key, Method: c.Request().Method, Path: c.Request().URL.Path,
				BodyHash: bodyHash(body), CreatedAt: now.UnixMicro()}
			ctx := c.Request().Context()
			existing, claimed, err := st.Q().ClaimIdempotencyKey(ctx, rec, now.Add(-IdempotencyTTL))
			if err != nil {
				return err
			}
			if !claimed {
				return replay(c, existing, rec)
			}
			rw := &capturingWriter{ResponseWriter: c.Response().Writer}
			c.Response().Writer = rw
			// A handler that panics must not leave the key claimed (a 409 for a day): release
			// it, then let the recovery middleware answer.
			defer func() {
				if r := recover(); r != nil {
					if err := st.Q().ReleaseIdempotencyKey(context.WithoutCancel(ctx), rec.Subject, key); err != nil {
						loggerOf(c, log).Error("release idempotency key", "error", err)
					}
					panic(r)
				}
			}()
			if err := next(c); err != nil {
				c.Error(err)
			}
			// Store even if the caller has gone: its retry must find the answer.
			bg := context.WithoutCancel(ctx)
			status := c.Response().Status
			if status >= 500 {
				if err := st.Q().ReleaseIdempotencyKey(bg, rec.Subject, key); err != nil {
					loggerOf(c, log).Error("release idempotency key", "error", err)
				}
				return nil
			}
			hdr := map[string]string{}
			for _, h := range replayedHeaders {
				if v := c.Response().Header().Get(h); v != "" {
					hdr[h] = v
				}
			}
			hj, _ := json.Marshal(hdr)
			if err := st.Q().CompleteIdempotencyKey(bg, rec.Subject, key, status, string(hj), rw.buf.String()); err != nil {
				loggerOf(c, log).Error("store idempotent response", "error", err)
			}
			return nil
		}
	}
}

// idempotencyOf reads from an operation's spec whether it takes Idempotency-Key and which of
// its query parameters makes it a dry run ("" for none).
func idempotencyOf(r *routers.Route) (declared bool, dryRun string) {
	if r == nil || r.Operation == nil {
		return false, ""
	}
	for _, ref := range r.Operation.Parameters {
		p := ref.Value
		switch {
		case p == nil:
		case p.In == "header" && http.CanonicalHeaderKey(p.Name) == "Idempotency-Key":
			declared = true
		case p.In == "query" && p.Name == "dryRun":
			dryRun = p.Name
		}
	}
	return declared, dryRun
}

func replay(c echo.Context, existing, rec store.IdempotencyRecord) error {
	if existing.Path != rec.Path || existing.BodyHash != rec.BodyHash {
		return &httpProblem{status: http.StatusUnprocessableEntity, slug: "idempotency-key-reused",
			detail: "this Idempotency-Key was used for a different request; use a new key",
			fields: []errs.Field{{Parameter: "Idempotency-Key", Detail: "already used with another body or path"}}}
	}
	if existing.Status == 0 {
		return fmt.Errorf("%w: the first request with this Idempotency-Key is still running; retry shortly", errs.ErrConflict)
	}
	var hdr map[string]string
	if err := json.Unmarshal([]byte(existing.Headers), &hdr); err != nil {
		return fmt.Errorf("stored response headers: %w", err)
	}
	for k, v := range hdr {
		c.Response().Header().Set(k, v)
	}
	c.Response().Header().Set("Idempotent-Replayed", "true")
	c.Response().WriteHeader(existing.Status)
	_, err := c.Response().Write([]byte(existing.Body))
	return err
}

// bodyHash hashes the body's JSON in canonical form (sorted keys, no spacing), so a retry
// that re-serialises the same object still matches.
func bodyHash(body []byte) string {
	var v any
	canon := body
	if json.Unmarshal(body, &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// capturingWriter keeps a copy of what the handler writes.
type capturingWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *capturingWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capturingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *capturingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}
