package workloads

import (
	"context"
	"slices"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// Service answers views of a team's services for the people allowed to read them.
type Service struct {
	store    *store.Store
	tenancy  *tenancy.Service
	registry *Registry
	logs     logMemo
}

// NewService reads views from registry's caches.
func NewService(st *store.Store, ten *tenancy.Service, r *Registry) *Service {
	return &Service{store: st, tenancy: ten, registry: r}
}

// EnvironmentView is a service's view in one of its environments. Synced is false while the
// environment's cluster has no synced cache (Berth just started, or cannot reach it): the
// view is then empty, not a claim that nothing runs.
type EnvironmentView struct {
	Env     store.Environment
	Service store.Service
	Synced  bool
	View    View
}

// Views reads a service's view in each of its environments (team viewer; an outsider hears
// that the team does not exist).
func (s *Service) Views(ctx context.Context, p access.Principal, team, service string) ([]EnvironmentView, error) {
	t, err := s.tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return nil, err
	}
	q := s.store.Q()
	svc, err := q.ServiceByName(ctx, t.ID, service)
	if err != nil {
		return nil, err
	}
	var out []EnvironmentView
	for _, name := range svc.Environments {
		env, err := q.EnvironmentByName(ctx, t.ID, name)
		if err != nil {
			continue // an environment being deleted
		}
		ev := EnvironmentView{Env: env, Service: svc, View: View{Namespace: env.Namespace, Service: svc.Name}}
		if c := s.registry.Get(env.Cluster); c != nil && c.Synced() {
			ev.Synced, ev.View = true, c.Service(env.Namespace, svc.Name)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Environment reads the view of every service of a team deployed to one environment (team
// viewer), by service name.
func (s *Service) Environment(ctx context.Context, p access.Principal, team, env string) ([]EnvironmentView, error) {
	t, err := s.tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return nil, err
	}
	q := s.store.Q()
	e, err := q.EnvironmentByName(ctx, t.ID, env)
	if err != nil {
		return nil, err
	}
	services, err := q.ListServices(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	c := s.registry.Get(e.Cluster)
	synced := c != nil && c.Synced()
	var out []EnvironmentView
	for _, svc := range services {
		if !slices.Contains(svc.Environments, env) {
			continue
		}
		ev := EnvironmentView{Env: e, Service: svc, View: View{Namespace: e.Namespace, Service: svc.Name}}
		if synced {
			ev.Synced, ev.View = true, c.Service(e.Namespace, svc.Name)
		}
		out = append(out, ev)
	}
	return out, nil
}
