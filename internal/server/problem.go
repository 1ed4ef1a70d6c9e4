package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/labstack/echo/v4"
)

const problemContentType = "application/problem+json"

// retryAfterSeconds is when a caller told 429 may try again: log streams last minutes, so
// sooner would only be refused again.
const retryAfterSeconds = "10"

// problemType names each kind of problem with a stable URN that clients can switch on.
func problemType(slug string) string { return "urn:berth:problem:" + slug }

// httpProblem is an error that already knows its HTTP status and problem slug.
type httpProblem struct {
	status int
	slug   string
	detail string
	fields []errs.Field
}

func (p *httpProblem) Error() string { return p.detail }

// toProblem is the one place that turns an error into problem details.
func toProblem(err error) (api.Problem, bool) {
	var (
		status int
		slug   string
		detail = err.Error()
		fields []errs.Field
	)
	var hp *httpProblem
	var inv *errs.InvalidError
	var viol *policy.ViolationError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &hp):
		status, slug, fields = hp.status, hp.slug, hp.fields
	case errors.As(err, &viol):
		status, slug = http.StatusUnprocessableEntity, "policy-violation"
		detail = fmt.Sprintf("enforced policy violations: %d; each entry of violations says how to fix it", len(viol.Findings))
	case errors.As(err, &inv):
		status, slug, fields, detail = http.StatusUnprocessableEntity, "invalid", inv.Fields, "the request has invalid fields"
		if onlyParameters(inv.Fields) {
			status, slug, detail = http.StatusBadRequest, "bad-request", "the request has invalid parameters"
		}
	case errors.Is(err, errs.ErrInvalid):
		status, slug = http.StatusUnprocessableEntity, "invalid"
	case errors.Is(err, errs.ErrUnauthenticated):
		status, slug = http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, errs.ErrForbidden):
		status, slug = http.StatusForbidden, "forbidden"
	case errors.Is(err, errs.ErrNotFound):
		status, slug = http.StatusNotFound, "not-found"
	case errors.Is(err, errs.ErrConflict):
		status, slug = http.StatusConflict, "conflict"
	case errors.Is(err, errs.ErrPreconditionFailed):
		status, slug = http.StatusPreconditionFailed, "precondition-failed"
	case errors.Is(err, errs.ErrUnavailable):
		status, slug = http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, errs.ErrTooMany):
		status, slug = http.StatusTooManyRequests, "too-many-requests"
	case errors.As(err, &he):
		status = he.Code
		slug = map[int]string{
			http.StatusNotFound: "not-found", http.StatusMethodNotAllowed: "method-not-allowed",
			http.StatusRequestEntityTooLarge: "too-large", http.StatusBadRequest: "bad-request",
			http.StatusUnsupportedMediaType: "unsupported-media-type",
		}[status]
		if slug == "" {
			slug = "http-error"
		}
		detail = http.StatusText(status)
		if msg, ok := he.Message.(string); ok && msg != "" {
			detail = msg
		}
	default:
		status, slug, detail = http.StatusInternalServerError, "internal", "an internal error occurred; the request id identifies it in Berth's logs"
	}
	p := api.Problem{Type: problemType(slug), Title: http.StatusText(status), Status: status, Detail: &detail}
	if len(fields) > 0 {
		fe := make([]api.FieldError, len(fields))
		for i, f := range fields {
			fe[i] = api.FieldError{Detail: f.Detail}
			if f.Pointer != "" {
				fe[i].Pointer = &f.Pointer
			}
			if f.Parameter != "" {
				fe[i].Parameter = &f.Parameter
			}
		}
		p.Errors = &fe
	}
	if viol != nil {
		v := apiViolations(viol.Findings)
		p.Violations = &v
	}
	return p, status == http.StatusInternalServerError
}

// errorHandler writes every error as application/problem+json.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p, internal := toProblem(err)
		id := requestIDOf(c)
		p.RequestId = &id
		inst := c.Request().URL.Path
		p.Instance = &inst
		if internal {
			loggerOf(c, log).Error("request failed", "error", err)
		}
		if p.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
		}
		if p.Status == http.StatusTooManyRequests {
			after := retryAfterSeconds
			var ra retryAfter
			if errors.As(err, &ra) {
				after = ra.seconds()
			}
			c.Response().Header().Set("Retry-After", after)
		}
		body, _ := json.Marshal(p)
		c.Response().Header().Set(echo.HeaderContentType, problemContentType)
		c.Response().WriteHeader(p.Status)
		if c.Request().Method != http.MethodHead {
			_, _ = c.Response().Write(body)
		}
	}
}

func onlyParameters(fields []errs.Field) bool {
	for _, f := range fields {
		if f.Parameter == "" {
			return false
		}
	}
	return len(fields) > 0
}
