package provision

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A server that did not answer is waited for; a refusal, and an outage past the timeout, are not.
func TestOutagesWaitRefusalsFail(t *testing.T) {
	refused := &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/apis", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	gr := schema.GroupResource{Group: "argoproj.io", Resource: "applications"}
	for _, c := range []struct {
		err  error
		wait bool
	}{
		{refused, true},
		{fmt.Errorf("refresh: %w", refused), true},
		{context.DeadlineExceeded, true},
		{apierrors.NewServiceUnavailable("etcd is restarting"), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		{apierrors.NewNotFound(gr, "x"), false},
		{&url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false},
		{errors.New("blueprint go-api: parameter replicas: at most 10"), false},
	} {
		s := &Service{deps: Deps{OutageTimeout: time.Minute}}
		var w *waiting
		if got := errors.As(s.outage(c.err, time.Now()), &w); got != c.wait {
			t.Errorf("%v: waits %v, want %v", c.err, got, c.wait)
		}
		if err := s.outage(c.err, time.Now().Add(-2*time.Minute)); errors.As(err, &w) || err != c.err {
			t.Errorf("%v past the timeout: %v", c.err, err)
		}
	}
}
