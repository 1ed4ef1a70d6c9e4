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
	// TeamCreated, when set, runs after a team is created (identity-provider group mappings
	// that name the team apply from then on).
	TeamCreated func(ctx context.Context) error
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

// ValidateTeamName checks what the spec's pattern cannot: reserved names.
func ValidateTeamName(name string) error {
	for _, r := range reservedNames {
		if name == r || strings.HasPrefix(name, r+"-") {
			return errs.Invalid("/name", "%q is reserved for the platform", r)
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
