package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// unreachable says whether a step's error is a server that did not answer (refused or cut
// the connection, timed out, or said it is unavailable or overloaded): an API server being
// restarted, a PostgreSQL failing over. Waiting heals those; a refusal (forbidden, invalid,
// a certificate not trusted) it does not.
func unreachable(err error) bool {
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

// outage turns a step's error from a server that did not answer into a wait (tried again,
// more slowly the longer it lasts) while the step has waited less than OutageTimeout; other
// errors, and outages past it, are returned as they are.
func (s *Service) outage(err error, started time.Time) error {
	waited := time.Since(started)
	if !unreachable(err) || waited >= s.deps.OutageTimeout {
		return err
	}
	return &waiting{after: min(max(waited/4, time.Second), 15*time.Second),
		message: fmt.Sprintf("waiting: a server did not answer (for %s; trying again): %v", waited.Round(time.Second), err)}
}
