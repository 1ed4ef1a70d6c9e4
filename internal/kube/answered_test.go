package kube_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-platform/berth/internal/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// What a team reads of a cluster's error names no internal address; the API server's own
// refusals are kept word for word.
func TestSaidHidesAddresses(t *testing.T) {
	refused := &url.Error{Op: "Patch", URL: "https://10.0.0.7:6443/apis/apps/v1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	untrusted := &url.Error{Op: "Get", URL: "https://10.0.0.7:6443/api", Err: x509.UnknownAuthorityError{}}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "api", errors.New("no"))
	for _, c := range []struct {
		err    error
		answer bool
		want   string
	}{
		{fmt.Errorf("scale api: %w", refused), false, "cluster eu did not answer (Berth's log has the cause)"},
		{apierrors.NewServiceUnavailable("etcd is restarting"), false, "cluster eu did not answer (Berth's log has the cause)"},
		{fmt.Errorf("scale api: %w", untrusted), true, "cluster eu: scale api: Get: x509: certificate signed by unknown authority"},
		{forbidden, true, forbidden.Error()},
	} {
		if got := kube.Said("eu", c.err); got != c.want || strings.Contains(got, "10.0.0.7") {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
		if kube.DidNotAnswer(c.err) == c.answer {
			t.Errorf("%v: did not answer %v", c.err, !c.answer)
		}
	}
	if got := kube.Said("", apierrors.NewServiceUnavailable("etcd is restarting")); got != "the cluster did not answer (Berth's log has the cause)" {
		t.Errorf("Berth's own cluster: %q", got)
	}
}
