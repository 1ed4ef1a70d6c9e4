package policy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Authorizer checks a caller's role in a team (tenancy implements it).
type Authorizer interface {
	Authorize(ctx context.Context, p access.Principal, team string, need access.Role) (store.Team, error)
}

// Service stores the toggles, evaluates manifests, and tells the applier when toggles change.
type Service struct {
	lib     *Library
	store   *store.Store
	teams   Authorizer
	notify  func()
	now     func() time.Time
	reports *Reports

	mu    sync.Mutex
	cache map[string]*Evaluator // by settings fingerprint
}

// NewService returns the policy service; notify (may be nil) is called after every change.
func NewService(lib *Library, st *store.Store, teams Authorizer, notify func()) *Service {
	if notify == nil {
		notify = func() {}
	}
	return &Service{lib: lib, store: st, teams: teams, notify: notify, now: time.Now, cache: map[string]*Evaluator{}}
}

// Library is the policy library.
func (s *Service) Library() *Library { return s.lib }

// View is one policy with how it runs.
type View struct {
	Policy *Policy
	Setting
	// Source says where the setting comes from: default, cluster or team.
	Source    string
	Overrides map[string]Setting // per team (cluster-wide views only)
}

// Settings are the cluster-wide settings and every team's overrides.
type Settings struct {
	Cluster map[string]Setting
	Teams   map[string]map[string]Setting
}

// Load reads every setting.
func (s *Service) Load(ctx context.Context) (Settings, error) {
	rows, err := s.store.Q().ListPolicySettings(ctx)
	if err != nil {
		return Settings{}, err
	}
	out := Settings{Cluster: map[string]Setting{}, Teams: map[string]map[string]Setting{}}
	for _, r := range rows {
		if s.lib.Get(r.Policy) == nil {
			continue // a policy removed from the library
		}
		set := Setting{Mode: r.Mode, Param: r.Parameter}
		if r.Team == "" {
			out.Cluster[r.Policy] = set
			continue
		}
		if out.Teams[r.Team] == nil {
			out.Teams[r.Team] = map[string]Setting{}
		}
		out.Teams[r.Team][r.Policy] = set
	}
	return out, nil
}

// Effective is how every policy runs for team ("" for none: cluster-wide only).
func (st Settings) Effective(lib *Library, team string) map[string]View {
	out := map[string]View{}
	for _, p := range lib.List() {
		v := View{Policy: p, Setting: Setting{Mode: p.DefaultMode}, Source: "default"}
		if c, ok := st.Cluster[p.Name]; ok {
			v.Setting, v.Source = c, "cluster"
		}
		if t, ok := st.Teams[team][p.Name]; ok && p.Scope == ScopeTeam {
			v.Setting, v.Source = t, "team"
		}
		if v.Param == nil {
			v.Param = p.Default
		}
		out[p.Name] = v
	}
	return out
}

// List returns every policy with its cluster-wide setting and its team overrides.
//
// Overrides are shown for the teams the caller may see only (all of them to platform
// admins): another team's exceptions say that it exists and where its guardrails are loose.
func (s *Service) List(ctx context.Context, caller access.Principal) ([]View, error) {
	st, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	visible := map[string]bool{}
	for team := range st.Teams {
		if caller.PlatformAdmin {
			visible[team] = true // no role to look up
			continue
		}
		_, err := s.teams.Authorize(ctx, caller, team, access.Viewer)
		visible[team] = err == nil
	}
	eff := st.Effective(s.lib, "")
	out := make([]View, 0, len(eff))
	for _, p := range s.lib.List() {
		v := eff[p.Name]
		v.Overrides = map[string]Setting{}
		for team, sets := range st.Teams {
			if set, ok := sets[p.Name]; ok && visible[team] {
				v.Overrides[team] = set
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// ForTeam returns how every policy runs in a team's namespaces (team viewer).
func (s *Service) ForTeam(ctx context.Context, p access.Principal, team string) ([]View, error) {
	if _, err := s.teams.Authorize(ctx, p, team, access.Viewer); err != nil {
		return nil, err
	}
	st, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	eff := st.Effective(s.lib, team)
	out := make([]View, 0, len(eff))
	for _, pol := range s.lib.List() {
		out = append(out, eff[pol.Name])
	}
	return out, nil
}

func (s *Service) check(name string, set Setting) (*Policy, error) {
	pol := s.lib.Get(name)
	if pol == nil {
		return nil, fmt.Errorf("policy %s: %w", name, errs.ErrNotFound)
	}
	inv := &errs.InvalidError{}
	if set.Mode != ModeOff && set.Mode != ModeAudit && set.Mode != ModeEnforce {
		inv.Fields = append(inv.Fields, errs.Field{Pointer: "/mode", Detail: "must be off, audit or enforce"})
	}
	if set.Param != nil {
		if pol.Parameter == "" {
			inv.Fields = append(inv.Fields, errs.Field{Pointer: "/parameter", Detail: "policy " + name + " has no parameter"})
		} else if err := CheckParameter(set.Param); err != nil {
			inv.Fields = append(inv.Fields, errs.Field{Pointer: "/parameter", Detail: err.Error()})
		}
	}
	if len(inv.Fields) > 0 {
		return nil, inv
	}
	return pol, nil
}

// Set changes how a policy runs cluster-wide, or for one team when team is not "" (platform
// admins: teams do not loosen their own guardrails).
func (s *Service) Set(ctx context.Context, p access.Principal, team, name string, set Setting) error {
	if !p.PlatformAdmin {
		return fmt.Errorf("%w: only platform admins change policies", errs.ErrForbidden)
	}
	pol, err := s.check(name, set)
	if err != nil {
		return err
	}
	target := "policy/" + name
	if team != "" {
		if pol.Scope != ScopeTeam {
			return errs.Invalid("/policy", "policy %s applies cluster-wide and has no team overrides", name)
		}
		if _, err := s.teams.Authorize(ctx, p, team, access.Viewer); err != nil {
			return err
		}
		target = "team/" + team + "/" + target
	}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.PutPolicySetting(ctx, store.PolicySetting{Policy: name, Team: team, Mode: set.Mode, Parameter: set.Param, UpdatedBy: p.Subject, UpdatedAt: s.now()}); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "policy.set", Team: team, Target: target, Detail: map[string]any{"mode": set.Mode, "parameter": set.Param}}, s.now())
	})
	if err == nil {
		s.notify()
	}
	return err
}

// Clear removes a team's override (or the cluster-wide setting, back to the default).
func (s *Service) Clear(ctx context.Context, p access.Principal, team, name string) error {
	if !p.PlatformAdmin {
		return fmt.Errorf("%w: only platform admins change policies", errs.ErrForbidden)
	}
	if s.lib.Get(name) == nil {
		return fmt.Errorf("policy %s: %w", name, errs.ErrNotFound)
	}
	if team != "" {
		if _, err := s.teams.Authorize(ctx, p, team, access.Viewer); err != nil {
			return err // a missing team is 404, not a silent no-op
		}
	}
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.DeletePolicySetting(ctx, name, team); err != nil {
			return err
		}
		target := "policy/" + name
		if team != "" {
			target = "team/" + team + "/" + target
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "policy.clear", Team: team, Target: target}, s.now())
	})
	if err == nil {
		s.notify()
	}
	return err
}

// evaluator returns a compiled evaluator for a team's effective settings, cached.
func (s *Service) evaluator(ctx context.Context, team string) (*Evaluator, error) {
	st, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	eff := st.Effective(s.lib, team)
	settings := map[string]Setting{}
	var key strings.Builder
	for _, p := range s.lib.List() {
		v := eff[p.Name]
		settings[p.Name] = v.Setting
		fmt.Fprintf(&key, "%s=%s%v;", p.Name, v.Mode, v.Param)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev, ok := s.cache[key.String()]; ok {
		return ev, nil
	}
	ev, err := NewEvaluator(s.lib, settings)
	if err != nil {
		return nil, err
	}
	if len(s.cache) > 64 {
		clear(s.cache)
	}
	s.cache[key.String()] = ev
	return ev, nil
}

// Check evaluates objects for a team's namespace (team "" uses cluster-wide settings).
func (s *Service) Check(ctx context.Context, team, namespace string, objects []*unstructured.Unstructured) ([]Finding, error) {
	ev, err := s.evaluator(ctx, team)
	if err != nil {
		return nil, err
	}
	return ev.Evaluate(ctx, objects, namespace)
}

// ViolationError is a preflight stopped by enforced policies.
type ViolationError struct {
	Findings []Finding
}

func (e *ViolationError) Error() string {
	parts := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		parts[i] = fmt.Sprintf("%s (%s %s): %s. Fix: %s", f.Policy, f.Kind, f.Name, f.Message, f.Remediation)
	}
	return fmt.Sprintf("%d enforced policy violation(s): %s", len(e.Findings), strings.Join(parts, "; "))
}

// Is makes a violation an invalid request (422).
func (e *ViolationError) Is(target error) bool { return target == errs.ErrInvalid }

// Preflight checks a service's rendered GitOps files for a team: enforced failures stop it
// with a ViolationError, audited ones come back as warnings. It fills provision.Preflight.
func (s *Service) Preflight(ctx context.Context, team string, files []blueprint.File) ([]string, error) {
	objs, err := Objects(files)
	if err != nil {
		return nil, err
	}
	findings, err := s.Check(ctx, team, "", objs)
	if err != nil {
		return nil, err
	}
	return Split(findings)
}

// Split turns findings into warnings (audit) and an error (enforce).
func Split(findings []Finding) ([]string, error) {
	var warnings []string
	var enforced []Finding
	for _, f := range findings {
		if f.Mode == ModeEnforce {
			enforced = append(enforced, f)
			continue
		}
		warnings = append(warnings, fmt.Sprintf("%s (%s %s): %s", f.Policy, f.Kind, f.Name, f.Message))
	}
	if len(enforced) > 0 {
		return warnings, &ViolationError{Findings: enforced}
	}
	return warnings, nil
}

// Objects parses the Kubernetes objects among files (YAML, several documents each);
// kustomization files and non-YAML files are skipped.
func Objects(files []blueprint.File) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".yaml") && !strings.HasSuffix(f.Path, ".yml") {
			continue
		}
		objs, err := Parse(f.Content)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// Parse reads every Kubernetes object of a YAML stream (kustomizations are not objects).
func Parse(raw []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		if len(m) == 0 || u.GetKind() == "" || u.GetKind() == "Kustomization" || u.GetAPIVersion() == "" {
			continue
		}
		out = append(out, u)
	}
}
