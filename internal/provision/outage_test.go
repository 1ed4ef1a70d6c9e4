package provision

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/gitops"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A server that did not answer is waited for, and so is a GitOps remote that does not take the
// commit for now; a refusal is not. The wait says what it waits for without the raw error (it
// names internal addresses) and without the time waited (the row is written once), and an
// outage past its limit fails saying so.
func TestOutagesWaitRefusalsFail(t *testing.T) {
	refused := &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/apis", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	frozen := &gitops.RemoteError{Op: "push", Said: "main is frozen", Err: errors.New("pre-receive hook declined at https://git.internal:8443/gitops.git")}
	gr := schema.GroupResource{Group: "argoproj.io", Resource: "applications"}
	const server, git = "a server Berth needs did not answer", "the GitOps remote has not taken the commit"
	for _, c := range []struct {
		err  error
		wait string // the kind waited for; "" when the error fails the step at once
	}{
		{refused, server},
		{fmt.Errorf("refresh: %w", refused), server},
		{context.DeadlineExceeded, server},
		{apierrors.NewServiceUnavailable("etcd is restarting"), server},
		{apierrors.NewTooManyRequests("slow down", 1), server},
		{frozen, git},
		{fmt.Errorf("commit: %w", &gitops.RemoteError{Op: "fetch", Err: refused}), git},
		{apierrors.NewForbidden(gr, "x", errors.New("no")), ""},
		{apierrors.NewNotFound(gr, "x"), ""},
		{&url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, ""},
		{errors.New("blueprint go-api: parameter replicas: at most 10"), ""},
	} {
		s := &Service{deps: Deps{OutageTimeout: time.Minute, GitTimeout: 2 * time.Minute, Log: slog.New(slog.DiscardHandler)}}
		first, later := s.outage(c.err, "r", "commit", time.Now()), s.outage(c.err, "r", "commit", time.Now().Add(-50*time.Second))
		var w, w2 *waiting
		switch {
		case c.wait == "":
			if first != c.err || later != c.err {
				t.Errorf("%v: %v, %v; want the error itself", c.err, first, later)
			}
			continue
		case !errors.As(first, &w) || !errors.As(later, &w2):
			t.Errorf("%v: %v, %v; want waits", c.err, first, later)
			continue
		case !strings.HasPrefix(w.message, "waiting: "+c.wait+"; trying again"), w2.message != w.message,
			strings.Contains(w.message, "127.0.0.1"), strings.Contains(w.message, "git.internal"):
			t.Errorf("%v: waits with %q then %q", c.err, w.message, w2.message)
		case c.err == frozen && !strings.Contains(w.message, "(the remote said: main is frozen)"):
			t.Errorf("the remote's words are not in %q", w.message)
		}
		limit := map[string]string{server: "1m0s", git: "2m0s"}[c.wait]
		past := s.outage(c.err, "r", "commit", time.Now().Add(-3*time.Minute))
		if errors.As(past, &w) || !strings.HasPrefix(past.Error(), c.wait+" for "+limit) || strings.Contains(past.Error(), "127.0.0.1") {
			t.Errorf("%v past the timeout: %v", c.err, past)
		}
	}
}
