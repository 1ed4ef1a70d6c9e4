package errs_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/berth-platform/berth/internal/errs"
)

// A failure a team reads keeps what Berth was doing and why, not the internal URL it called.
func TestWithoutURL(t *testing.T) {
	ue := &url.Error{Op: "Post", URL: "https://argocd-server.argocd.svc:443/api/v1/applications", Err: x509.UnknownAuthorityError{}}
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("argocd: create app shop-api-dev: %w", ue), "argocd: create app shop-api-dev: Post: x509: certificate signed by unknown authority"},
		{fmt.Errorf("database of dev: %w", &url.Error{Op: "Get", URL: "https://10.0.0.5:8443/v1", Err: &net.OpError{Op: "dial", Net: "tcp",
			Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 8443}, Err: errors.New("connect: no route to host")}}),
			"database of dev: Get: dial tcp: connect: no route to host"},
		{errors.New("blueprint go-api: parameter replicas: at most 10"), "blueprint go-api: parameter replicas: at most 10"},
	} {
		if got := errs.WithoutURL(c.err); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
}
