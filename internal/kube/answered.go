package kube

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"

	"github.com/berth-platform/berth/internal/errs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// DidNotAnswer says whether a client's error is a server that did not answer (refused or cut
// the connection, timed out, or said it is unavailable or overloaded): an API server being
// restarted, a PostgreSQL failing over. Waiting heals those; a refusal (forbidden, invalid,
// a certificate not trusted) it does not.
func DidNotAnswer(err error) bool {
	var op *net.OpError
	switch {
	case err == nil:
		return false
	case errors.As(err, &op), errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case utilnet.IsConnectionRefused(err), utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err):
		return true
	case apierrors.IsServiceUnavailable(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err):
		return true
	}
	return false
}

// Said is what a team may read of a cluster client's error (cluster is the environment's,
// empty for Berth's own): a cluster that did not answer in fixed words, a transport error
// without its URL (the API server's internal address) but with what it was doing, and the API
// server's own answers (forbidden, invalid, not found) as they are, since they name the team's
// objects. The whole error belongs in Berth's log.
func Said(cluster string, err error) string {
	name := "cluster " + cluster
	if cluster == "" {
		name = "the cluster" // Berth's own
	}
	var ue *url.Error
	switch {
	case err == nil:
		return ""
	case DidNotAnswer(err):
		return name + " did not answer (Berth's log has the cause)"
	case errors.As(err, &ue):
		return name + ": " + errs.WithoutURL(err)
	}
	return err.Error()
}
