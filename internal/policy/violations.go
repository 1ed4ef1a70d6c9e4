package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
)

// Violation is a failing PolicyReport result in a team's namespace, tied to the team's
// environment and, where the resource's name says so, to one of its services.
type Violation struct {
	Policy, Title, Severity, Remediation string
	// Library is false for a Kyverno policy Berth did not write (its name is kept).
	Library                               bool
	Rule, Result, Message                 string
	Team, Cluster, Environment, Namespace string
	Service                               string
	Kind, Name                            string
	At                                    time.Time
}

// Count is how many violations share a key (a policy, service or environment).
type Count struct {
	Key      string
	Title    string // policies only
	Severity string // policies only
	Count    int
}

// Violations is a team's violations with their counts.
type Violations struct {
	Total                              int
	ByPolicy, ByService, ByEnvironment []Count
	Items                              []Violation
	Truncated                          bool
	// Incomplete names clusters whose reports cannot be read (yet), with why.
	Incomplete map[string]string
}

// ViolationFilter narrows a team's violations; Limit bounds Items (counts are over all).
type ViolationFilter struct {
	Service, Environment, Policy string
	Limit                        int
}

// UseReports makes Violations read from r (nil: no cluster, no reports).
func (s *Service) UseReports(r *Reports) { s.reports = r }

// Violations aggregates the PolicyReports of a team's namespaces in every cluster its
// environments are placed on (team viewer).
func (s *Service) Violations(ctx context.Context, p access.Principal, team string, f ViolationFilter) (Violations, error) {
	t, err := s.teams.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return Violations{}, err
	}
	if f.Policy != "" && s.lib.Get(f.Policy) == nil {
		return Violations{}, errs.Invalid("/policy", "no policy %q in the library", f.Policy)
	}
	if s.reports == nil {
		return Violations{}, fmt.Errorf("%w: Berth runs without a cluster, so there are no policy reports", errs.ErrUnavailable)
	}
	if t.ID == "" {
		return Violations{}, fmt.Errorf("team %s has no id", team) // "" would list every team's environments
	}
	q := s.store.Q()
	envs, err := q.ListEnvironments(ctx, t.ID)
	if err != nil {
		return Violations{}, err
	}
	svcs, err := q.ListServices(ctx, t.ID)
	if err != nil {
		return Violations{}, err
	}
	names := make([]string, len(svcs))
	for i, sv := range svcs {
		names[i] = sv.Name
	}
	if f.Service != "" && !slices.Contains(names, f.Service) {
		return Violations{}, fmt.Errorf("%w: team %s has no service %q", errs.ErrNotFound, team, f.Service)
	}
	var placed []store.Environment
	for _, e := range envs {
		if f.Environment == "" || e.Name == f.Environment {
			placed = append(placed, e)
		}
	}
	if f.Environment != "" && len(placed) == 0 {
		return Violations{}, fmt.Errorf("%w: team %s has no environment %q", errs.ErrNotFound, team, f.Environment)
	}
	reported, incomplete := s.reported(placed)
	var all []Violation
	for _, v := range reported {
		v.Service = owner(names, v.Name)
		if (f.Service != "" && v.Service != f.Service) || (f.Policy != "" && v.Policy != f.Policy) {
			continue
		}
		all = append(all, v)
	}
	slices.SortFunc(all, func(a, b Violation) int {
		return cmp.Or(severityRank(b.Severity)-severityRank(a.Severity), b.At.Compare(a.At),
			strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name), strings.Compare(a.Policy, b.Policy))
	})
	out := Violations{Total: len(all), Incomplete: incomplete}
	out.ByPolicy = counts(all, func(v Violation) Count { return Count{Key: v.Policy, Title: v.Title, Severity: v.Severity} })
	out.ByService = counts(all, func(v Violation) Count { return Count{Key: v.Service} })
	out.ByEnvironment = counts(all, func(v Violation) Count { return Count{Key: v.Environment} })
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if len(all) > limit {
		all, out.Truncated = all[:limit], true
	}
	out.Items = all
	return out, nil
}

// owner is the service a resource belongs to: blueprints name every object after its
// service, and controllers name what they create after their owner (api-7d9f-xk2p2), so the
// longest service name that is the name or a dash-separated prefix of it wins.
func owner(services []string, name string) string {
	best := ""
	for _, s := range services {
		if (name == s || strings.HasPrefix(name, s+"-")) && len(s) > len(best) {
			best = s
		}
	}
	return best
}

func counts(vs []Violation, key func(Violation) Count) []Count {
	idx := map[string]int{}
	var out []Count
	for _, v := range vs {
		k := key(v)
		i, ok := idx[k.Key]
		if !ok {
			i = len(out)
			idx[k.Key] = i
			out = append(out, k)
		}
		out[i].Count++
	}
	slices.SortStableFunc(out, func(a, b Count) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Key, b.Key)) })
	return out
}

func severityRank(s string) int {
	return slices.Index([]string{"low", "medium", "high", "critical"}, s)
}

func clusterLabel(c string) string {
	if c == "" {
		return "default"
	}
	return c
}

// Overview counts violations in every team's namespaces per team and per policy (platform
// admins): where the platform stands before a policy goes from audit to enforce.
type Overview struct {
	Total            int
	ByTeam, ByPolicy []Count
	Incomplete       map[string]string
}

// Overview reads the reports of every team namespace in every cluster.
func (s *Service) Overview(ctx context.Context, p access.Principal) (Overview, error) {
	if !p.PlatformAdmin {
		return Overview{}, fmt.Errorf("%w: only platform admins see every team's violations", errs.ErrForbidden)
	}
	if s.reports == nil {
		return Overview{}, fmt.Errorf("%w: Berth runs without a cluster, so there are no policy reports", errs.ErrUnavailable)
	}
	envs, err := s.store.Q().ListEnvironments(ctx, "")
	if err != nil {
		return Overview{}, err
	}
	all, incomplete := s.reported(envs)
	out := Overview{Total: len(all), Incomplete: incomplete}
	out.ByTeam = counts(all, func(v Violation) Count { return Count{Key: v.Team} })
	out.ByPolicy = counts(all, func(v Violation) Count { return Count{Key: v.Policy, Title: v.Title, Severity: v.Severity} })
	return out, nil
}

// reported reads the failing results in the environments' namespaces, on the cluster each
// is placed on, and says which clusters' reports are missing and why.
func (s *Service) reported(envs []store.Environment) ([]Violation, map[string]string) {
	byCluster := map[string]map[string]bool{}
	envAt := map[string]store.Environment{}
	for _, e := range envs {
		if byCluster[e.Cluster] == nil {
			byCluster[e.Cluster] = map[string]bool{}
		}
		byCluster[e.Cluster][e.Namespace] = true
		envAt[e.Cluster+"/"+e.Namespace] = e
	}
	var out []Violation
	incomplete := map[string]string{}
	problems := s.reports.Problems()
	for cluster, namespaces := range byCluster {
		if p, ok := problems[cluster]; ok {
			incomplete[clusterLabel(cluster)] = p
		} else if !s.reports.Watching(cluster) {
			incomplete[clusterLabel(cluster)] = "Berth does not watch this cluster's reports"
		}
		for _, r := range s.reports.Failing(cluster, namespaces) {
			e := envAt[cluster+"/"+r.Namespace]
			v := Violation{Team: e.TeamName, Environment: e.Name, Cluster: cluster, Namespace: r.Namespace,
				Rule: r.Rule, Result: r.Result, Message: r.Message, Kind: r.Kind, Name: r.Name, At: r.At}
			v.Policy, v.Library = s.lib.LibraryName(r.Policy)
			if pol := s.lib.Get(v.Policy); v.Library && pol != nil {
				v.Title, v.Severity, v.Remediation = pol.Title, pol.Severity, pol.Remediation
			}
			out = append(out, v)
		}
	}
	return out, incomplete
}
