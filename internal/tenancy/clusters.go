package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

var metav1ListOne = metav1.ListOptions{Limit: 1}

// ClusterFleet starts and stops reconciling registered clusters.
type ClusterFleet interface {
	AddCluster(store.Cluster) error
	RemoveCluster(name string)
}

// NewCluster is a cluster to register.
type NewCluster struct {
	Name, Server, CAData string
	Credentials          ClusterCredentials
}

// RegisterCluster checks that Berth can reach and authenticate to a cluster, then keeps it
// with its credentials sealed (platform admins only). The credentials are never returned.
func (s *Service) RegisterCluster(ctx context.Context, p access.Principal, in NewCluster) (store.Cluster, error) {
	if !p.PlatformAdmin {
		return store.Cluster{}, fmt.Errorf("%w: only platform admins register clusters", errs.ErrForbidden)
	}
	if s.opts.Sealer == nil {
		return store.Cluster{}, fmt.Errorf("%w: registering clusters needs --cluster-secret-key (credentials are kept encrypted)", errs.ErrUnavailable)
	}
	if err := ValidateTeamName(in.Name); err != nil {
		return store.Cluster{}, err
	}
	if u, err := url.Parse(in.Server); err != nil || u.Scheme != "https" || u.Host == "" {
		return store.Cluster{}, errs.Invalid("/server", "must be an https:// URL")
	}
	c := in.Credentials
	if (c.Token == "") == (c.ClientCert == "" && c.ClientKey == "") || (c.ClientCert == "") != (c.ClientKey == "") {
		return store.Cluster{}, errs.Invalid("/credentials", "give a token, or a client certificate and its key")
	}
	if err := probeCluster(ctx, in.Server, in.CAData, c); err != nil {
		return store.Cluster{}, errs.Invalid("/server", "cannot use the cluster: %v", err)
	}
	raw, _ := json.Marshal(c)
	sealed, err := s.opts.Sealer.Seal(raw, in.Name)
	if err != nil {
		return store.Cluster{}, err
	}
	now := s.now()
	cl := store.Cluster{ID: audit.NewID(), Name: in.Name, Server: in.Server, CAData: in.CAData, Credentials: sealed, CreatedAt: now, UpdatedAt: now}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateCluster(ctx, cl); err != nil {
			if errors.Is(err, errs.ErrConflict) {
				return fmt.Errorf("%w: cluster %s is already registered", errs.ErrConflict, in.Name)
			}
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "cluster.register", Target: "cluster/" + in.Name, Detail: map[string]any{"server": in.Server}}, now)
	})
	if err != nil {
		return store.Cluster{}, err
	}
	if s.opts.Fleet != nil {
		if err := s.opts.Fleet.AddCluster(cl); err != nil {
			return cl, err
		}
	}
	return cl, nil
}

// probeCluster asks the API server who we are allowed to be: a version call that needs
// authentication when anonymous access is off, and a namespace list that needs authorisation.
func probeCluster(ctx context.Context, server, ca string, c ClusterCredentials) error {
	cs, err := kubernetes.NewForConfig(RestConfig(server, ca, c))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().List(ctx, metav1ListOne); err != nil {
		return err
	}
	return nil
}

// ListClusters returns the registered clusters (any authenticated caller may see where teams
// run; credentials are never part of a cluster's view).
func (s *Service) ListClusters(ctx context.Context) ([]store.Cluster, error) {
	return s.store.Q().ListClusters(ctx)
}

// GetCluster returns one registered cluster.
func (s *Service) GetCluster(ctx context.Context, name string) (store.Cluster, error) {
	return s.store.Q().ClusterByName(ctx, name)
}

// DeleteCluster unregisters a cluster no environment is placed on (platform admins only).
func (s *Service) DeleteCluster(ctx context.Context, p access.Principal, name string) error {
	if !p.PlatformAdmin {
		return fmt.Errorf("%w: only platform admins unregister clusters", errs.ErrForbidden)
	}
	err := s.store.Tx(ctx, func(q store.Queries) error {
		c, err := q.ClusterByName(ctx, name)
		if err != nil {
			return err
		}
		n, err := q.EnvironmentsOnCluster(ctx, name)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %d environments are placed on cluster %s; move them first", errs.ErrConflict, n, name)
		}
		if err := q.DeleteCluster(ctx, c.ID); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "cluster.unregister", Target: "cluster/" + name}, s.now())
	})
	if err == nil && s.opts.Fleet != nil {
		s.opts.Fleet.RemoveCluster(name)
	}
	return err
}

// PlaceEnvironment moves an environment to a registered cluster ("" for Berth's own); the
// namespace is created there and removed from where it was (platform admins only).
func (s *Service) PlaceEnvironment(ctx context.Context, p access.Principal, team, name, cluster string) (store.Environment, error) {
	if !p.PlatformAdmin {
		return store.Environment{}, fmt.Errorf("%w: only platform admins place environments on clusters", errs.ErrForbidden)
	}
	var env store.Environment
	var t store.Team
	moved := false
	err := s.store.Tx(ctx, func(q store.Queries) error {
		var err error
		if t, err = s.authorize(ctx, q, p, team, access.Admin); err != nil {
			return err
		}
		if env, err = q.EnvironmentByName(ctx, t.ID, name); err != nil {
			return err
		}
		if err := requireCluster(ctx, q, cluster); err != nil {
			return err
		}
		if env.Cluster == cluster {
			return nil
		}
		moved = true
		from := env.Cluster
		now := s.now()
		if err := q.PlaceEnvironment(ctx, env.ID, cluster, now); err != nil {
			return err
		}
		env.Cluster, env.Phase, env.UpdatedAt = cluster, PhasePending, now
		return audit.Record(ctx, q, p, audit.Entry{Action: "environment.place", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/environment/" + name,
			Detail: map[string]any{"from": from, "to": cluster}}, now)
	})
	if err != nil {
		return env, err
	}
	s.notify(env.Namespace)
	if moved && s.opts.Placed != nil {
		// The move is stored: what follows (the services' runs) is retried, not undone.
		if err := s.opts.Placed(ctx, p, t, env); err != nil {
			return env, fmt.Errorf("%w: environment %s is placed on the cluster, but starting its services' runs there failed: update each service (or retry its last run) to deploy it there: %v", errs.ErrUnavailable, name, err)
		}
	}
	return env, nil
}

// requireCluster checks that a placement names a registered cluster ("" is Berth's own).
func requireCluster(ctx context.Context, q store.Queries, name string) error {
	if name == "" {
		return nil
	}
	if _, err := q.ClusterByName(ctx, name); errors.Is(err, errs.ErrNotFound) {
		return errs.Invalid("/cluster", "no registered cluster %q", name)
	} else if err != nil {
		return err
	}
	return nil
}
