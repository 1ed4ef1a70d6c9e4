package provision

import (
	"errors"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/kube"
)

// outage turns a step's error that can pass into a wait: the GitOps remote not taking the
// commit (unreachable, or refusing it for now) up to GitTimeout, any other server that did not
// answer up to OutageTimeout. It tries again more slowly the longer the step has waited; other
// errors, and waits past their limit, are returned as failures.
//
// What a run step says is read by the team, so the wait names the kind of dependency and
// what the GitOps remote said (its hook's words), never the raw error, which holds internal
// addresses: that goes to Berth's log. The message does not hold the time waited either (the
// step's start gives it), so a waiting step's row is written once, not at every try.
func (s *Service) outage(err error, run, step string, started time.Time) error {
	var remote *gitops.RemoteError
	var what, why string
	var limit time.Duration
	switch {
	case errors.As(err, &remote):
		what, limit = "the GitOps remote has not taken the commit", s.deps.GitTimeout
		if remote.Said != "" {
			why = " (the remote said: " + remote.Said + ")"
		}
	case kube.DidNotAnswer(err):
		what, why, limit = "a server Berth needs did not answer", " (Berth's log says which, and why)", s.deps.OutageTimeout
	default:
		return err
	}
	waited := time.Since(started)
	if waited >= limit {
		s.deps.Log.Warn("run step failed: waited too long", "run", run, "step", step, "waited", waited.Round(time.Second), "error", err)
		return fmt.Errorf("%s for %s%s", what, limit.Round(time.Second), why)
	}
	s.deps.Log.Info("run step waits", "run", run, "step", step, "waited", waited.Round(time.Second), "error", err)
	return &waiting{after: min(max(waited/4, time.Second), 30*time.Second), message: "waiting: " + what + "; trying again" + why}
}
