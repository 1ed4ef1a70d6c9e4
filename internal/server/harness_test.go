package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/server"
	"github.com/berth-platform/berth/internal/sleeper"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"k8s.io/client-go/kubernetes"
)

// Tokens of the callers every test has. Each is a static service token; "root" is a
// platform admin, the others get roles in team payments from seed.
var tokens = map[string]string{
	"root":     "token-root-0123456789",
	"alice":    "token-alice-0123456789", // admin of payments
	"ed":       "token-ed-0123456789",    // editor of payments
	"vi":       "token-vi-0123456789",    // viewer of payments
	"outsider": "token-outsider-0123456789",
	"other":    "token-other-0123456789", // admin of another team, rivals (the matrix seeds it)
}

type env struct {
	gitops  string // the GitOps repository's path
	t       testing.TB
	handler http.Handler
	url     string
	store   *store.Store
	client  *http.Client
}

type envOptions struct {
	driver      string
	adminsOnly  bool
	maxBody     int64
	limits      server.Limits
	extraConfig func(*config.Config)
}

// newBenchEnv is newEnv for benchmarks, with team payments seeded.
func newBenchEnv(b *testing.B) *env {
	e := newEnv(b, envOptions{})
	e.seed()
	b.ResetTimer()
	return e
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.driver == "" {
		o.driver = "sqlite"
	}
	if o.maxBody == 0 {
		o.maxBody = 1 << 20
	}
	cfg := &config.Config{PlatformAdmins: []string{"service:root"}}
	for name, tok := range tokens {
		st, err := config.ParseServiceToken(name + "=" + tok)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServiceTokens = append(cfg.ServiceTokens, st)
	}
	if o.extraConfig != nil {
		o.extraConfig(cfg)
	}
	st := storetest.Open(t, o.driver)
	catalog, err := blueprint.Load("")
	if err != nil {
		t.Fatal(err)
	}
	topts := tenancyOptions(o)
	topts.MaxTeamsPerUser = cfg.Boundary.MaxTeamsPerUser
	ten := tenancy.NewService(st, topts)
	remote := filepath.Join(t.TempDir(), "gitops.git")
	repo, err := gitops.Open(context.Background(), remote, filepath.Join(t.TempDir(), "work"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// No cluster here: runs commit, then stop at the Argo CD step and say why. Databases are
	// Crossplane claims (no database server is needed for what the API tests check).
	policies := policy.NewService(policy.MustLoad(), st, ten, nil)
	prov := provision.New(provision.Deps{Store: st, Tenancy: ten, Blueprints: catalog, Repo: repo, RepoURL: "file://" + remote, Preflight: policies.Preflight,
		DatabaseClaims: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = prov.Run(pctx, 2); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	e, err := server.New(server.Deps{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Auth: auth.New(cfg), Admins: access.NewAdmins(cfg.PlatformAdmins),
		Tenancy: ten, Blueprints: catalog, Provision: prov, Policies: policies, MaxBodyBytes: o.maxBody, Limits: o.limits,
		Sleeper: sleeper.New(st, ten, func(context.Context, string) (kubernetes.Interface, error) {
			return nil, fmt.Errorf("%w: no cluster here", errs.ErrUnavailable)
		}, slog.New(slog.NewTextHandler(io.Discard, nil))),
		ReadyChecks: map[string]func(context.Context) error{"database": st.Ping},
		ReadyNotes: map[string]func(context.Context) error{"argocd": func(context.Context) error {
			return errors.New("no cluster configured (--kubeconfig or --in-cluster)")
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, handler: e, url: srv.URL, gitops: remote, store: st, client: &http.Client{Transport: &specCheckingTransport{t: t, next: http.DefaultTransport}}}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request as a caller ("" for no token). body may be a string (sent as is) or a
// value (sent as JSON). hdr is pairs of header names and values.
func (e *env) do(who, method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		tok, ok := tokens[who]
		if !ok {
			tok = who // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) must(want int, r resp) resp {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// seed creates team payments with alice as admin (she creates it), ed as editor and vi as viewer.
func (e *env) seed() (memberIDs map[string]string) {
	e.t.Helper()
	e.must(201, e.do("alice", "POST", "/api/v1/teams", map[string]any{"name": "payments", "displayName": "Payments"}))
	memberIDs = map[string]string{}
	for who, role := range map[string]string{"ed": "editor", "vi": "viewer"} {
		r := e.must(201, e.do("alice", "POST", "/api/v1/teams/payments/members", map[string]any{"kind": "user", "name": "service:" + who, "role": role}))
		memberIDs[who] = r.json(e.t)["id"].(string)
	}
	return memberIDs
}

func (e *env) auditCount() int {
	e.t.Helper()
	ev, err := e.store.Q().ListAuditEvents(e.t.Context(), store.AuditFilter{Limit: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ev)
}

var (
	routerOnce sync.Once
	specRouter routers.Router
)

// specCheckingTransport validates every response against openapi/berth.yaml: status codes the
// operation does not declare, wrong content types and bodies that break the schema all fail.
type specCheckingTransport struct {
	t    testing.TB
	next http.RoundTripper
}

func (s *specCheckingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	routerOnce.Do(func() {
		// Server-sent events are text: check them as a string, like text/plain.
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
		doc, err := server.LoadSpec()
		if err != nil {
			panic(err)
		}
		doc.Servers = nil
		if specRouter, err = gorillamux.NewRouter(doc); err != nil {
			panic(err)
		}
	})
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := s.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		return res, nil // not an API path: nothing to check against
	}
	body, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(body))
	vreq := req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{ExcludeRequestBody: true, ExcludeRequestQueryParams: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		s.t.Errorf("%s %s -> %d does not match the spec: %v\nbody: %s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	return res, nil
}

func tenancyOptions(o envOptions) tenancy.Options {
	t := tenancy.DefaultOptions()
	t.AnyoneCreatesTeams = !o.adminsOnly
	return t
}
