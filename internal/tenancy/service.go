package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/seal"
	"github.com/berth-platform/berth/internal/store"
)

// Service is the tenancy domain.
type Service struct {
	store *store.Store
	opts  Options
	now   func() time.Time
}

// QuotaReader reads an environment's quota as its cluster reports it (hard and used).
type QuotaReader interface {
	QuotaStatus(env store.Environment) (hard, used map[string]string, ok bool)
}

// Options configure a Service.
type Options struct {
	// AnyoneCreatesTeams lets every authenticated caller create a team (and become its
	// admin); otherwise only platform admins can.
	AnyoneCreatesTeams bool
	// Environments every new team gets, and the quota tier they start with.
	Environments []string
	DefaultTier  string
	// NamespacePattern names team namespaces; {team} and {env} are replaced.
	NamespacePattern string
	// Budget defaults and prices, for environments sized by a monthly budget.
	CPUShare, LimitRatio float64
	Prices               Prices
	// Notify, when set, is told which namespaces to reconcile after a change is committed.
	Notify func(namespaces ...string)
	// Quotas, when set, reports quota usage from the cluster.
	Quotas QuotaReader
	// Sealer keeps registered clusters' credentials; without it clusters cannot be registered.
	Sealer *seal.Sealer
	// Fleet, when set, reconciles registered clusters.
	Fleet ClusterFleet
	// ReservedNamespaces are names and prefixes ("kube-*") no environment's namespace may
	// have; the team-name list below applies as well.
	ReservedNamespaces []string
	// Namespaces, when set, says whether a namespace already exists in Berth's own cluster
	// without being this environment's: such a name is never taken over.
	Namespaces NamespaceOwners
	// Teardown, when set, removes what lives outside the database (Argo CD objects, GitOps
	// files) before a team (env "") or an environment is deleted; its failure stops the
	// deletion. Provisioning sets it with SetTeardown.
	Teardown func(ctx context.Context, team store.Team, env string) error
	// Placed, when set, runs after an environment moved to another cluster: provisioning
	// redeploys its services there. Provisioning sets it with SetPlaced.
	Placed func(ctx context.Context, p access.Principal, team store.Team, env store.Environment) error
	// MaxTeamsPerUser bounds the teams one caller (not a platform admin) creates; 0: no bound.
	MaxTeamsPerUser int
	// TeamCreated, when set, runs after a team is created (identity-provider group mappings
	// that name the team apply from then on).
	TeamCreated func(ctx context.Context) error
}

// NamespaceOwners tells whether a namespace in the cluster belongs to someone else.
type NamespaceOwners interface {
	NamespaceTaken(ctx context.Context, namespace, teamID, team, env string) (bool, error)
}

// unavailable is the one answer to a name that cannot be had: taken by another team (which
// the caller may not see), by the platform, or by something in the cluster. One answer for
// all, so that it tells nothing of which.
func unavailable(kind, name string) error {
	return fmt.Errorf("%w: the %s %q is not available; choose another", errs.ErrConflict, kind, name)
}

// DefaultOptions are the documented defaults.
func DefaultOptions() Options {
	return Options{AnyoneCreatesTeams: true, Environments: []string{"dev", "staging", "prod"}, DefaultTier: "small",
		NamespacePattern: "{team}-{env}", CPUShare: 0.5, LimitRatio: 2, Prices: DefaultPrices}
}

// NewService returns the tenancy domain over st.
func NewService(st *store.Store, o Options) *Service {
	return &Service{store: st, opts: o, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// SetTeardown installs the teardown of deleted teams and environments (provisioning is made
// after tenancy, so it cannot be an option given at construction).
func (s *Service) SetTeardown(fn func(ctx context.Context, team store.Team, env string) error) {
	s.opts.Teardown = fn
}

// SetPlaced installs what follows an environment's move to another cluster.
func (s *Service) SetPlaced(fn func(ctx context.Context, p access.Principal, team store.Team, env store.Environment) error) {
	s.opts.Placed = fn
}

func (s *Service) teardown(ctx context.Context, p access.Principal, team, env string) error {
	if s.opts.Teardown == nil {
		return nil
	}
	t, err := s.authorize(ctx, s.store.Q(), p, team, access.Admin)
	if err != nil {
		return err
	}
	if env != "" {
		if _, err := s.store.Q().EnvironmentByName(ctx, t.ID, env); err != nil {
			return err
		}
	}
	if err := s.opts.Teardown(ctx, t, env); err != nil {
		return fmt.Errorf("%w: removing what the services left (Argo CD applications, GitOps files) failed, so nothing was deleted; retry: %v", errs.ErrUnavailable, err)
	}
	return nil
}

func (s *Service) notify(namespaces ...string) {
	if s.opts.Notify != nil && len(namespaces) > 0 {
		s.opts.Notify(namespaces...)
	}
}

// teamNamespaces lists the namespaces of a team's environments.
func (s *Service) teamNamespaces(ctx context.Context, q store.Queries, teamID string) ([]string, error) {
	envs, err := q.ListEnvironments(ctx, teamID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.Namespace
	}
	return out, nil
}

// reservedNames would make team namespaces collide with the platform's own.
var reservedNames = []string{"default", "kube", "berth", "argocd", "kyverno", "system", "openshift"}

// ValidateTeamName checks what the spec's pattern cannot: names reserved for the platform,
// which get the same answer as a name another team has.
func ValidateTeamName(name string) error {
	for _, r := range reservedNames {
		if name == r || strings.HasPrefix(name, r+"-") {
			return unavailable("team name", name)
		}
	}
	return nil
}

// reservedNamespace reports whether ns is one of the platform's (configured or built in).
func (s *Service) reservedNamespace(ns string) bool {
	for _, r := range reservedNames {
		if ns == r || strings.HasPrefix(ns, r+"-") {
			return true
		}
	}
	for _, r := range s.opts.ReservedNamespaces {
		if p, ok := strings.CutSuffix(r, "*"); ok && strings.HasPrefix(ns, p) || ns == r {
			return true
		}
	}
	return false
}

// namespacesFree checks, against the live cluster, that no namespace of envs exists unless
// Berth made it for this team (teamID "" for a new team: then none may exist).
func (s *Service) namespacesFree(ctx context.Context, teamID, team string, envs []store.Environment) error {
	if s.opts.Namespaces == nil {
		return nil
	}
	for _, e := range envs {
		if e.Cluster != "" {
			continue // placed elsewhere: that cluster's reconciler checks
		}
		taken, err := s.opts.Namespaces.NamespaceTaken(ctx, e.Namespace, teamID, team, e.Name)
		if err != nil {
			return fmt.Errorf("%w: cannot check namespace %s in the cluster: %v", errs.ErrUnavailable, e.Namespace, err)
		}
		if taken {
			return unavailable("namespace", e.Namespace)
		}
	}
	return nil
}

// ETag is the entity tag of a team's current state.
func ETag(t store.Team) string { return fmt.Sprintf(`"%s-%d"`, t.ID, t.Version) }

// Role returns the caller's role in team: the strongest of their own and their groups'.
func (s *Service) role(ctx context.Context, q store.Queries, p access.Principal, teamID string) (access.Role, error) {
	roles, err := q.RolesIn(ctx, teamID, subjects(p))
	if err != nil {
		return access.None, err
	}
	role := access.None
	for _, r := range roles {
		role = access.Highest(role, access.Role(r))
	}
	return role, nil
}

// authorize loads the team and checks the caller holds need in it. A caller with no role at
// all gets ErrNotFound, so that another team's existence is not revealed.
func (s *Service) authorize(ctx context.Context, q store.Queries, p access.Principal, team string, need access.Role) (store.Team, error) {
	t, err := q.TeamByName(ctx, team)
	if err != nil {
		return store.Team{}, err
	}
	if p.PlatformAdmin {
		return t, nil
	}
	role, err := s.role(ctx, q, p, t.ID)
	if err != nil {
		return store.Team{}, err
	}
	if role == access.None {
		return store.Team{}, fmt.Errorf("team %s: %w", team, errs.ErrNotFound)
	}
	if !role.AtLeast(need) {
		return store.Team{}, fmt.Errorf("%w: %s of team %s needs the %s role, you have %s", errs.ErrForbidden, "this", team, need, role)
	}
	return t, nil
}

func subjects(p access.Principal) store.Subjects {
	return store.Subjects{User: p.Subject, Groups: p.Groups}
}

// TeamRole is one team and the caller's role in it.
type TeamRole struct {
	Team string
	Role access.Role
}

// Memberships lists the caller's teams and their strongest role in each.
func (s *Service) Memberships(ctx context.Context, p access.Principal) ([]TeamRole, error) {
	ms, err := s.store.Q().MembershipsOf(ctx, subjects(p))
	if err != nil {
		return nil, err
	}
	var out []TeamRole
	idx := map[string]int{}
	for _, m := range ms {
		if i, ok := idx[m.TeamName]; ok {
			out[i].Role = access.Highest(out[i].Role, access.Role(m.Role))
			continue
		}
		idx[m.TeamName] = len(out)
		out = append(out, TeamRole{Team: m.TeamName, Role: access.Role(m.Role)})
	}
	return out, nil
}

// Authorize loads a team and checks the caller holds need in it (ErrNotFound for callers
// with no role, so another team's existence is not revealed). Other capabilities use it.
func (s *Service) Authorize(ctx context.Context, p access.Principal, team string, need access.Role) (store.Team, error) {
	return s.authorize(ctx, s.store.Q(), p, team, need)
}
