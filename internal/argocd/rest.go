package argocd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"github.com/berth-platform/berth/internal/gitops"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/errs"
)

// RESTClient talks to the Argo CD API server, for installations that want syncs to go
// through Argo CD's own RBAC and audit rather than a write to the Application object.
type RESTClient struct {
	base      *url.URL
	token     string
	namespace string
	http      *http.Client
}

// NewRESTClient returns a client of the Argo CD API server at server (https://argocd.example
// or http://127.0.0.1:8080 for an --insecure server) authenticating with a bearer token (an
// Argo CD account or project token). caFile, if set, is the PEM bundle that signs the
// server's certificate.
func NewRESTClient(server, token, caFile, namespace string) (*RESTClient, error) {
	u, err := url.Parse(strings.TrimSuffix(server, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("argocd server %q: want an http(s) URL", server)
	}
	if token == "" {
		return nil, fmt.Errorf("argocd server %s: a token is required", server)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("argocd CA file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &RESTClient{base: u, token: token, namespace: namespace, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// UseREST makes syncs go through the Argo CD API server.
func (a *Client) UseREST(c *RESTClient) { a.rest = c }

// syncRequest is Argo CD's ApplicationSyncRequest, as far as Berth fills it.
type syncRequest struct {
	Name         string `json:"name"`
	AppNamespace string `json:"appNamespace,omitempty"`
	Revision     string `json:"revision"`
	Prune        bool   `json:"prune"`
	SyncOptions  struct {
		Items []string `json:"items"`
	} `json:"syncOptions"`
}

// Sync asks the API server to sync an Application to the branch's newest commit.
func (c *RESTClient) Sync(ctx context.Context, name string) error {
	body := syncRequest{Name: name, AppNamespace: c.namespace, Revision: gitops.Branch, Prune: true}
	body.SyncOptions.Items = []string{"ServerSideApply=true"}
	return c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(name)+"/sync", body, nil)
}

// Version reads the API server's version: a cheap authenticated probe for readiness.
func (c *RESTClient) Version(ctx context.Context) (string, error) {
	var out struct {
		Version string `json:"Version"`
	}
	err := c.do(ctx, http.MethodGet, "/api/version", nil, &out)
	return out.Version, err
}

// apiError is the body of a failed call (grpc-gateway's shape).
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

func (c *RESTClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: argocd api server: %v", errs.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e apiError
		_ = json.Unmarshal(raw, &e)
		msg := e.Message
		if msg == "" {
			msg = e.Error
		}
		if msg == "" {
			msg = strings.TrimSpace(string(raw))
		}
		switch {
		case strings.Contains(msg, "another operation is already in progress"):
			return fmt.Errorf("%w: argocd: %s", errs.ErrConflict, msg)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: argocd api server refused Berth's token (%d): %s", errs.ErrUnavailable, resp.StatusCode, msg)
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: argocd: %s", errs.ErrNotFound, msg)
		}
		return fmt.Errorf("argocd api server %s %s: %d %s", method, path, resp.StatusCode, msg)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
