package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/actions"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/logs"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/rightsize"
	"github.com/berth-platform/berth/internal/signals"
	"github.com/berth-platform/berth/internal/sleeper"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/internal/workloads"
	"github.com/berth-platform/berth/openapi"
	scaffolderactions "github.com/berth-platform/berth/scaffolder-actions"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Deps are what the server needs from the rest of Berth.
type Deps struct {
	Log        *slog.Logger
	Store      *store.Store
	Auth       *auth.Authenticator
	Admins     *access.Admins
	Tenancy    *tenancy.Service
	Blueprints *blueprint.Catalog
	// Hosts names public services' hosts (for the catalog's links).
	Hosts blueprint.HostNamer
	// Provision is nil when Berth has no cluster: service endpoints then answer 503.
	Provision *provision.Service
	// Workloads is nil without a cluster: workload and diagnosis endpoints then answer 503.
	Workloads *workloads.Service
	// LogStreamsPerCaller and LogStreams bound the log reads open at once (0: 5 and 200).
	LogStreamsPerCaller, LogStreams int
	// Costs is nil without a cluster: cost endpoints then answer 503.
	Costs *cost.Service
	// Signals is nil without Prometheus (--prometheus-url): signal endpoints then answer 503.
	Signals *signals.Reader
	// Sleeper keeps sleep schedules (it acts only with a cluster).
	Sleeper *sleeper.Service
	// Rightsize is nil without Prometheus as well: rightsizing then answers 503.
	Rightsize    *rightsize.Reader
	MaxBodyBytes int64
	// Limits bound each caller's rate and each request's time (zero: none).
	Limits      Limits
	Policies    *policy.Service
	ReadyChecks map[string]func(context.Context) error
	// ReadyNotes are reported by readiness like checks but do not make Berth unready: parts
	// that only some features need (Argo CD, the blueprints repository).
	ReadyNotes map[string]func(context.Context) error
	// SCIM, when set, serves /scim/v2 with its own authentication and error format.
	SCIM interface{ Register(e *echo.Echo) }
	// MetricsToken, when set, is the sha256 of the bearer token /metrics asks for.
	MetricsToken *[32]byte
	// Deactivated, when set, refuses users the identity provider deactivated (SCIM) even
	// while their tokens are still valid.
	Deactivated func(ctx context.Context, subject string) (bool, error)
}

// Server implements the generated strict server interface.
type Server struct {
	deps    Deps
	audit   *audit.Log
	actions []actions.Definition
	metrics *metrics
	notes   *noteCache
	answers answerMemo
	// logLimits bounds the log streams and downloads open at once.
	logLimits *logs.Limiter
}

var _ api.StrictServerInterface = (*Server)(nil)

// New builds the HTTP handler with every middleware in place.
func New(d Deps) (*echo.Echo, error) {
	if d.Hosts.Pattern == "" {
		d.Hosts = blueprint.DefaultHosts
	}
	doc, err := LoadSpec()
	if err != nil {
		return nil, err
	}
	defs, err := actions.Load(scaffolderactions.FS, doc)
	if err != nil {
		return nil, fmt.Errorf("scaffolder actions: %w", err)
	}
	if d.Blueprints == nil {
		if d.Blueprints, err = blueprint.Load(""); err != nil {
			return nil, err
		}
	}
	router, err := newRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi router: %w", err)
	}
	s := &Server{deps: d, audit: audit.NewLog(d.Store), actions: defs, metrics: newMetrics(), notes: newNoteCache(5*time.Second, d.Log),
		logLimits: logs.NewLimiter(orDefault(d.LogStreamsPerCaller, logStreamsPerCaller), orDefault(d.LogStreams, logStreams))}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.IPExtractor = ipExtractor(d.Limits)
	e.Use(
		securityHeaders,
		withRequestID(d.Log),
		observe(d.Log, s.metrics),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			loggerOf(c, d.Log).Error("panic", "error", err, "stack", string(stack))
			return fmt.Errorf("panic: %w", err)
		}}),
		middleware.BodyLimit(fmt.Sprintf("%dB", d.MaxBodyBytes)),
		findRoute(router),
		refusedCredentials(d.Limits),
		guardMetrics(d.MetricsToken),
		authenticate(d.Auth, d.Admins, d.Deactivated),
		rateLimit(d.Limits),
		timeLimit(d.Limits),
		validate(),
		idempotency(d.Store, d.Log),
	)
	api.RegisterHandlers(e, api.NewStrictHandler(s, nil))
	if d.SCIM != nil {
		d.SCIM.Register(e)
	}
	// Echo's own 404/405 never run: findRoute answers first for unknown routes. Keep the
	// fallbacks in problem form all the same.
	echo.NotFoundHandler = func(echo.Context) error { return echo.NewHTTPError(http.StatusNotFound) }
	return e, nil
}

// LoadSpec parses the embedded OpenAPI document.
func LoadSpec() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec)
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi spec: %w", err)
	}
	return doc, nil
}

// principal is the authenticated caller; the authentication middleware guarantees one on
// every secured operation.
func principal(ctx context.Context) (access.Principal, error) {
	p, ok := access.PrincipalFrom(ctx)
	if !ok {
		return access.Principal{}, fmt.Errorf("%w: no credentials", errs.ErrUnauthenticated)
	}
	return p, nil
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
