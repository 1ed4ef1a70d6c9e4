package gitops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// RemoteError is a fetch or push the remote did not accept for a reason that can pass: it
// could not be reached, answered with a server error, or refused the push (a pre-receive hook,
// a branch frozen for maintenance). A caller waits and tries again. Wrong credentials and a
// missing repository are not RemoteErrors: waiting does not heal them.
type RemoteError struct {
	Op string // fetch or push
	// Said is what the remote wrote while refusing (a hook's message), when it wrote anything.
	Said string
	Err  error
}

func (e *RemoteError) Error() string {
	msg := "gitops: " + e.Op + ": " + e.Err.Error()
	if e.Said != "" {
		msg += " (the remote said: " + e.Said + ")"
	}
	return msg
}

func (e *RemoteError) Unwrap() error { return e.Err }

// remoteError classifies a fetch or push error: one that can pass becomes a RemoteError.
func remoteError(op string, err error, said string) error {
	if err == nil || lostRace(err) {
		return err
	}
	for _, final := range []error{transport.ErrAuthenticationRequired, transport.ErrAuthorizationFailed, transport.ErrRepositoryNotFound,
		transport.ErrInvalidAuthMethod, transport.ErrEmptyRemoteRepository} {
		if errors.Is(err, final) {
			return fmt.Errorf("gitops: %s: %w", op, err)
		}
	}
	return &RemoteError{Op: op, Err: err, Said: remoteSaid(said)}
}

// remoteSaid keeps the lines a remote wrote on its progress channel that are not progress
// counters (a hook's message), at most a few hundred bytes.
func remoteSaid(progress string) string {
	var kept []string
	for _, line := range strings.FieldsFunc(progress, func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, "%") || strings.HasPrefix(line, "Total ") {
			continue
		}
		kept = append(kept, line)
	}
	s := strings.Join(kept, "; ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
