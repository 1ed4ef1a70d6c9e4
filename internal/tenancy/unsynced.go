package tenancy

import (
	"context"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// reportUnsynced tells the environments placed on this cluster why nothing happens while the
// informers cannot sync (Berth lacks a permission there, say), until ctx ends.
func (r *Reconciler) reportUnsynced(ctx context.Context) {
	wait.UntilWithContext(ctx, r.explainUnsynced, 5*time.Second)
}

// explainUnsynced writes the informers' errors, if any, on the cluster's unready environments.
func (r *Reconciler) explainUnsynced(ctx context.Context) {
	r.mu.Lock()
	var problems []string
	for kind, err := range r.watchErrs {
		problems = append(problems, kind+": "+err)
	}
	r.mu.Unlock()
	if len(problems) == 0 {
		return
	}
	slices.Sort(problems)
	msg := "Berth cannot read the cluster yet: " + strings.Join(problems, "; ")
	r.log.Warn("tenancy informers not synced", "problems", problems)
	envs, err := r.store.Q().ListEnvironments(ctx, "")
	if err != nil {
		return
	}
	for _, e := range envs {
		if e.Cluster == r.cluster && e.Phase != PhaseReady && e.Message != msg {
			_ = r.store.Q().SetEnvironmentStatus(ctx, e.ID, e.Phase, msg, e.AppliedAt, e.DriftRepairedAt)
		}
	}
}
