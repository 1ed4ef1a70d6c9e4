package provision

import (
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/workloads"
	appsv1 "k8s.io/api/apps/v1"
)

// refusalSettles is how long a refusal of pods must hold, with no progress, to fail a run (a
// rollout that shrinks a full environment is refused its surge pod until old pods go).
const refusalSettles = 15 * time.Second

// crashesBeforeFailing is how many restarts of a new pod's container fail a rollout.
const crashesBeforeFailing = 3

// cache is a cluster's synced workloads informers, nil without.
func (s *Service) cache(cluster string) *workloads.Cache {
	if s.deps.Workloads == nil {
		return nil
	}
	if c := s.deps.Workloads.Get(cluster); c != nil && c.Synced() {
		return c
	}
	return nil
}

// hopeless reads the diagnosis of the rollout's newest ReplicaSet and says why waiting will not
// help, "" while it may: pods refused (over quota, Pod Security, a policy) for refusalSettles
// with no progress, an image that does not exist or may not be pulled, a missing Secret or
// ConfigMap (unless Crossplane is still to write the database's), a crash loop past
// crashesBeforeFailing restarts, or the progress deadline passed.
func hopeless(v workloads.View, claims bool, now time.Time) string {
	v = newest(v)
	var progressed time.Time
	if v.Deployment != nil {
		for _, c := range v.Deployment.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing {
				progressed = c.LastUpdateTime.Time
			}
		}
	}
	for _, f := range diagnose.Diagnose(v, now) {
		stop := false
		switch f.Code {
		case diagnose.CodeQuotaExceeded, diagnose.CodePodSecurity, diagnose.CodeAdmissionDenied, diagnose.CodePodCreateFailed:
			stop = now.Sub(f.FirstSeen) > refusalSettles && now.Sub(progressed) > refusalSettles
		case diagnose.CodeImagePull:
			stop = f.Detail == diagnose.CodeImagePullNotFound || f.Detail == diagnose.CodeImagePullDenied
		case diagnose.CodeMissingConfig:
			stop = !claims
		case diagnose.CodeCrashLoop, diagnose.CodeOOMKilled, diagnose.CodeInitFailing:
			stop = restarts(f) >= crashesBeforeFailing
		case diagnose.CodeProgressDeadline:
			stop = true
		}
		if stop {
			return fmt.Sprintf("%s: %s Fix: %s", f.Code, f.Summary, f.Recommendation)
		}
	}
	return ""
}

// newest keeps, of a view's pods, those of the newest ReplicaSet (the rollout's); old pods
// that fail are being replaced.
func newest(v workloads.View) workloads.View {
	if len(v.ReplicaSets) == 0 {
		return v
	}
	rs := v.ReplicaSets[0].Name
	pods := v.Pods[:0:0]
	for _, p := range v.Pods {
		for _, o := range p.OwnerReferences {
			if o.Kind == "ReplicaSet" && o.Name == rs {
				pods = append(pods, p)
			}
		}
	}
	v.Pods = pods
	return v
}

// restarts is the restart count a finding's evidence holds.
func restarts(f diagnose.Finding) int32 {
	for _, e := range f.Evidence {
		if e.Field == "restartCount" {
			return e.Count
		}
	}
	return 0
}
