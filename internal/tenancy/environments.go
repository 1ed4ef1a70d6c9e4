package tenancy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// namespaceFor applies the naming pattern and checks the result is a namespace name.
func (s *Service) namespaceFor(team, env string) (string, error) {
	ns := strings.NewReplacer("{team}", team, "{env}", env).Replace(s.opts.NamespacePattern)
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return "", errs.Invalid("/name", "the namespace %q that the naming pattern gives is not a DNS label of at most 63 characters", ns)
	}
	if s.reservedNamespace(ns) {
		return "", unavailable("namespace", ns)
	}
	return ns, nil
}

func (s *Service) insertEnvironment(ctx context.Context, q store.Queries, t store.Team, e store.Environment, now time.Time) error {
	e.ID, e.TeamID, e.TeamName = audit.NewID(), t.ID, t.Name
	e.Phase, e.CreatedAt, e.UpdatedAt = PhasePending, now, now
	// Read before inserting: after a failed insert, PostgreSQL refuses every further query of
	// the transaction.
	if _, err := q.EnvironmentByName(ctx, t.ID, e.Name); err == nil {
		return fmt.Errorf("%w: team %s already has an environment %s", errs.ErrConflict, t.Name, e.Name)
	} else if !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	if err := q.CreateEnvironment(ctx, e); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return unavailable("namespace", e.Namespace) // another team's: say nothing of it
		}
		return err
	}
	return nil
}

// QuotaChoice sizes an environment: a named tier, or a monthly budget (zero fields take the
// configured defaults).
type QuotaChoice struct {
	Tier   string
	Budget *Budget
}

func (s *Service) sized(e store.Environment, c QuotaChoice) (store.Environment, error) {
	if c.Tier != "" && c.Budget != nil {
		return e, errs.Invalid("/budget", "give a tier or a budget, not both")
	}
	switch {
	case c.Budget != nil:
		b := *c.Budget
		if b.CPUShare == 0 {
			b.CPUShare = s.opts.CPUShare
		}
		if b.LimitRatio == 0 {
			b.LimitRatio = s.opts.LimitRatio
		}
		if _, _, err := QuotaForBudget(b, s.opts.Prices); err != nil {
			return e, err
		}
		e.Tier, e.Budget, e.CPUShare, e.LimitRatio = "", b.Monthly, b.CPUShare, b.LimitRatio
	case c.Tier != "":
		if _, ok := Tiers[c.Tier]; !ok {
			return e, errs.Invalid("/tier", "unknown tier %q", c.Tier)
		}
		e.Tier, e.Budget, e.CPUShare, e.LimitRatio = c.Tier, 0, 0, 0
	}
	return e, nil
}

// CreateEnvironment adds an environment to a team (team admin). Choosing its quota is the
// platform's call: only platform admins may pass a tier or budget.
func (s *Service) CreateEnvironment(ctx context.Context, p access.Principal, team, name string, c QuotaChoice, cluster string) (store.Environment, error) {
	if (c.Tier != "" || c.Budget != nil || cluster != "") && !p.PlatformAdmin {
		return store.Environment{}, fmt.Errorf("%w: only platform admins size quotas and place environments; leave tier, budget and cluster out for the defaults", errs.ErrForbidden)
	}
	// The cluster is asked before the transaction: no database lock waits on the API server.
	t, err := s.authorize(ctx, s.store.Q(), p, team, access.Admin)
	if err != nil {
		return store.Environment{}, err
	}
	ns, err := s.namespaceFor(t.Name, name)
	if err != nil {
		return store.Environment{}, err
	}
	if err := s.namespacesFree(ctx, t.ID, t.Name, []store.Environment{{Name: name, Namespace: ns, Cluster: cluster}}); err != nil {
		return store.Environment{}, err
	}
	var env store.Environment
	err = s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, team, access.Admin)
		if err != nil {
			return err
		}
		ns, err := s.namespaceFor(t.Name, name)
		if err != nil {
			return err
		}
		env, err = s.sized(store.Environment{Name: name, Namespace: ns, Tier: s.opts.DefaultTier, Cluster: cluster}, c)
		if err != nil {
			return err
		}
		if err := requireCluster(ctx, q, cluster); err != nil {
			return err
		}
		now := s.now()
		if err := s.insertEnvironment(ctx, q, t, env, now); err != nil {
			return err
		}
		if env, err = q.EnvironmentByName(ctx, t.ID, name); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "environment.create", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/environment/" + name,
			Detail: map[string]any{"namespace": ns, "tier": env.Tier, "budget": env.Budget, "cluster": env.Cluster}}, now)
	})
	if err == nil {
		s.notify(env.Namespace)
	}
	return env, err
}

// GetEnvironment returns one environment (team viewer).
func (s *Service) GetEnvironment(ctx context.Context, p access.Principal, team, name string) (store.Environment, error) {
	q := s.store.Q()
	t, err := s.authorize(ctx, q, p, team, access.Viewer)
	if err != nil {
		return store.Environment{}, err
	}
	return q.EnvironmentByName(ctx, t.ID, name)
}

// ListEnvironments returns a team's environments (team viewer).
func (s *Service) ListEnvironments(ctx context.Context, p access.Principal, team string) ([]store.Environment, error) {
	q := s.store.Q()
	t, err := s.authorize(ctx, q, p, team, access.Viewer)
	if err != nil {
		return nil, err
	}
	return q.ListEnvironments(ctx, t.ID)
}

// ResizeEnvironment changes how an environment's quota is sized (platform admins only).
func (s *Service) ResizeEnvironment(ctx context.Context, p access.Principal, team, name string, c QuotaChoice) (store.Environment, error) {
	if !p.PlatformAdmin {
		return store.Environment{}, fmt.Errorf("%w: only platform admins size quotas", errs.ErrForbidden)
	}
	if c.Tier == "" && c.Budget == nil {
		return store.Environment{}, errs.Invalid("", "give a tier, a budget or a cluster")
	}
	var env store.Environment
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, team, access.Admin)
		if err != nil {
			return err
		}
		cur, err := q.EnvironmentByName(ctx, t.ID, name)
		if err != nil {
			return err
		}
		if env, err = s.sized(cur, c); err != nil {
			return err
		}
		env.Phase, env.UpdatedAt = PhasePending, s.now()
		if err := q.UpdateEnvironmentQuota(ctx, env); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "environment.resize", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/environment/" + name,
			Detail: map[string]any{"tier": env.Tier, "budget": env.Budget, "previousTier": cur.Tier, "previousBudget": cur.Budget}}, env.UpdatedAt)
	})
	if err == nil {
		s.notify(env.Namespace)
	}
	return env, err
}

// DeleteEnvironment removes an environment; the reconciler deletes its namespace (team admin).
func (s *Service) DeleteEnvironment(ctx context.Context, p access.Principal, team, name string) error {
	if err := s.teardown(ctx, p, team, name); err != nil {
		return err
	}
	var ns string
	err := s.store.Tx(ctx, func(q store.Queries) error {
		t, err := s.authorize(ctx, q, p, team, access.Admin)
		if err != nil {
			return err
		}
		env, err := q.EnvironmentByName(ctx, t.ID, name)
		if err != nil {
			return err
		}
		ns = env.Namespace
		if err := q.DeleteEnvironment(ctx, env.ID); err != nil {
			return err
		}
		if err := q.ReleaseEnvironmentHosts(ctx, t.ID, name); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "environment.delete", Team: t.Name, TeamID: t.ID, Target: "team/" + t.Name + "/environment/" + name,
			Detail: map[string]any{"namespace": ns}}, s.now())
	})
	if err == nil {
		s.notify(ns)
	}
	return err
}

// QuotaView is an environment's quota as configured and as the cluster reports it.
type QuotaView struct {
	Hard, Used map[string]string
	Arithmetic *Arithmetic
	Reported   bool // Hard and Used come from the cluster
}

// Quota describes an environment's quota: what Berth asks for, the budget arithmetic, and
// what the cluster reports as used.
func (s *Service) Quota(env store.Environment) (QuotaView, error) {
	q, a, err := QuotaOf(env, s.opts.Prices)
	if err != nil {
		return QuotaView{}, err
	}
	v := QuotaView{Arithmetic: a, Hard: map[string]string{}}
	for name, qty := range q.Hard() {
		v.Hard[string(name)] = qty.String()
	}
	if s.opts.Quotas != nil {
		if hard, used, ok := s.opts.Quotas.QuotaStatus(env); ok {
			v.Used, v.Reported = used, true
			if len(hard) > 0 {
				v.Hard = hard
			}
		}
	}
	return v, nil
}
