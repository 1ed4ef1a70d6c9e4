package provision

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// Placed starts a run of every service deployed to an environment that moved to another
// cluster: the run waits for the namespace there, writes the service's credentials there and
// points its Application at the new cluster (Argo CD then syncs it there; the old namespace
// goes with tenancy's reconciler of the old cluster). Manually synced environments (prod) then
// wait for a person's sync, as after any release.
//
// The run acts in the cluster as the person who last released the service (a platform admin
// who moves environments need not be a member of the team); the audit log names the admin.
// A service with a run still going is moved when that run ends (see followMove).
func (s *Service) Placed(ctx context.Context, p access.Principal, team store.Team, env store.Environment) error {
	q := s.deps.Store.Q()
	services, err := q.ListServices(ctx, team.ID)
	if err != nil {
		return err
	}
	for _, svc := range services {
		if !slices.Contains(svc.Environments, env.Name) {
			continue
		}
		runs, err := q.ListServiceRuns(ctx, svc.ID, 1)
		if err != nil {
			return err
		}
		as := p
		if len(runs) > 0 {
			r := runs[0]
			if r.Status == StatusQueued || r.Status == StatusRunning {
				continue // followMove moves it when the run ends
			}
			as.Subject, as.Groups = r.RequestedBy, r.RequestedGroups
		}
		if err := s.startMove(ctx, p, as, svc, env.Name); err != nil {
			return err
		}
	}
	return nil
}

// followMove starts a move run when an environment of a finished run was placed on another
// cluster while the run went (its Applications may point where the environment was).
func (s *Service) followMove(ctx context.Context, st *state) {
	if len(st.envs) == 0 {
		return
	}
	for _, e := range st.envs {
		now, err := s.deps.Store.Q().EnvironmentByName(ctx, e.TeamID, e.Name)
		if err != nil || now.Cluster == e.Cluster {
			continue
		}
		as := access.Principal{}
		as.Subject, as.Groups = st.run.RequestedBy, st.run.RequestedGroups
		if err := s.startMove(ctx, as, as, st.svc, e.Name); err != nil {
			s.deps.Log.Warn("service not moved after its run; update it to deploy it where its environment is", "service", st.svc.Name, "environment", e.Name, "error", err)
		}
		return
	}
}

// startMove records and queues a move run of svc, requested by p and acting as as.
func (s *Service) startMove(ctx context.Context, p, as access.Principal, svc store.Service, env string) error {
	now := s.now()
	run := newRun(svc.TeamID, svc.ID, "move", svc.Tag, svc.Parameters, as, now)
	err := s.deps.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateRun(ctx, run); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "service.move", Team: svc.TeamName, TeamID: svc.TeamID, Target: "team/" + svc.TeamName + "/service/" + svc.Name,
			Detail: map[string]any{"run": run.ID, "environment": env, "actingAs": as.Subject}}, now)
	})
	if errors.Is(err, errs.ErrConflict) {
		return nil // a run started in the meantime; it reads where the environment is now
	}
	if err != nil {
		return err
	}
	s.changes.notify()
	s.enqueue(run.ID)
	return nil
}

// ClusterRemoved makes Argo CD forget a cluster that was unregistered (no environment is
// placed on it any more).
func (s *Service) ClusterRemoved(cluster string) {
	if s.deps.Argo == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.deps.Argo.RemoveCluster(ctx, cluster); err != nil {
		s.deps.Log.Error("Argo CD still knows an unregistered cluster; delete its Secret", "cluster", cluster,
			"secret", argocd.ClusterSecretName(cluster), "error", err)
	}
}
