package policy

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	policiesv1beta1 "github.com/kyverno/api/api/policies.kyverno.io/v1beta1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

//go:embed library/*.yaml
var libraryFS embed.FS

// Modes of a policy.
const (
	ModeOff     = "off"
	ModeAudit   = "audit"
	ModeEnforce = "enforce"
)

// Scopes: a team policy applies to team namespaces and can be overridden per team; a cluster
// policy has its own namespace selector (e.g. the default namespace) and no overrides.
const (
	ScopeTeam    = "team"
	ScopeCluster = "cluster"
)

// Policy is one policy of the library.
type Policy struct {
	Name, Title, Category, Severity, Description, Remediation string
	DefaultMode, Scope                                        string
	// Parameter names the policy's list-of-strings parameter ("" for none), a CEL variable
	// of the policy; Default is its value in the library.
	Parameter string
	Default   []string
	// Message is what a failing resource is told.
	Message string
	source  policiesv1beta1.ValidatingPolicy
}

// Library is every policy, by name.
type Library struct {
	byName map[string]*Policy
	names  []string
}

// Load reads the embedded library.
func Load() (*Library, error) {
	files, err := fs.Glob(libraryFS, "library/*.yaml")
	if err != nil {
		return nil, err
	}
	l := &Library{byName: map[string]*Policy{}}
	for _, f := range files {
		raw, err := libraryFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		p, err := parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		l.byName[p.Name] = p
		l.names = append(l.names, p.Name)
	}
	slices.Sort(l.names)
	return l, nil
}

// MustLoad is Load for the embedded library, which tests keep valid.
func MustLoad() *Library {
	l, err := Load()
	if err != nil {
		panic(err)
	}
	return l
}

func parse(raw []byte) (*Policy, error) {
	var vp policiesv1beta1.ValidatingPolicy
	if err := yaml.UnmarshalStrict(raw, &vp); err != nil {
		return nil, err
	}
	a := vp.Annotations
	p := &Policy{Name: vp.Name, Title: a["policies.kyverno.io/title"], Category: a["policies.kyverno.io/category"], Severity: a["policies.kyverno.io/severity"],
		Description: a["policies.kyverno.io/description"], Remediation: a["berth.dev/remediation"], DefaultMode: a["berth.dev/default-mode"],
		Scope: a["berth.dev/scope"], Parameter: a["berth.dev/parameter"], source: vp}
	if p.Title == "" || p.Category == "" || p.Description == "" || p.Remediation == "" {
		return nil, fmt.Errorf("policy %s: title, category, description and remediation are required", p.Name)
	}
	if !slices.Contains([]string{"low", "medium", "high", "critical"}, p.Severity) {
		return nil, fmt.Errorf("policy %s: severity %q", p.Name, p.Severity)
	}
	if !slices.Contains([]string{ModeOff, ModeAudit, ModeEnforce}, p.DefaultMode) || (p.Scope != ScopeTeam && p.Scope != ScopeCluster) {
		return nil, fmt.Errorf("policy %s: default mode %q, scope %q", p.Name, p.DefaultMode, p.Scope)
	}
	if len(vp.Spec.Validations) != 1 {
		return nil, fmt.Errorf("policy %s: exactly one validation", p.Name)
	}
	p.Message = vp.Spec.Validations[0].Message
	if p.Parameter != "" {
		found := false
		for _, v := range vp.Spec.Variables {
			if v.Name == p.Parameter {
				found = true
				if err := json.Unmarshal([]byte(strings.ReplaceAll(v.Expression, "'", `"`)), &p.Default); err != nil {
					return nil, fmt.Errorf("policy %s: parameter %s's default must be a list of strings: %w", p.Name, p.Parameter, err)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("policy %s: parameter %s is not a variable", p.Name, p.Parameter)
		}
	}
	return p, nil
}

// List returns the policies by name.
func (l *Library) List() []*Policy {
	out := make([]*Policy, len(l.names))
	for i, n := range l.names {
		out[i] = l.byName[n]
	}
	return out
}

// Get returns a policy, or nil.
func (l *Library) Get(name string) *Policy { return l.byName[name] }

var paramValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,252}$`)

// CheckParameter validates a parameter value: at least one item, each a registry prefix or
// label key of safe characters (values become a CEL list literal).
func CheckParameter(values []string) error {
	if len(values) == 0 || len(values) > 50 {
		return fmt.Errorf("between 1 and 50 values")
	}
	for _, v := range values {
		if !paramValue.MatchString(v) {
			return fmt.Errorf("%q: letters, digits and . _ : / - only", v)
		}
	}
	return nil
}

// Kyverno returns the policy as Kyverno should run it: under name, in the given action
// (Deny or Audit), with its parameter set (nil keeps the default) and, for team-scoped
// policies, limited to the namespaces selectorNS matches (nil: no selector).
func (p *Policy) Kyverno(name, action string, param []string, selectorNS *NamespaceSelector) *policiesv1beta1.ValidatingPolicy {
	vp := p.source.DeepCopy()
	vp.Name = name
	vp.Spec.ValidationAction = []admissionregistrationv1.ValidationAction{actionOf(action)}
	if p.Parameter != "" && param != nil {
		lit, _ := json.Marshal(param) // checked values: a JSON list of plain strings is a CEL list
		for i := range vp.Spec.Variables {
			if vp.Spec.Variables[i].Name == p.Parameter {
				vp.Spec.Variables[i].Expression = string(lit)
			}
		}
	}
	if selectorNS != nil && p.Scope == ScopeTeam && vp.Spec.MatchConstraints != nil {
		vp.Spec.MatchConstraints.NamespaceSelector = selectorNS.LabelSelector()
	}
	return vp
}

func actionOf(action string) admissionregistrationv1.ValidationAction {
	if action == ModeAudit {
		return admissionregistrationv1.Audit
	}
	return admissionregistrationv1.Deny
}

// NamespaceSelector picks team namespaces: those of Teams, or every team's but NotTeams'.
type NamespaceSelector struct {
	Teams, NotTeams []string
}

// LabelSelector is the selector on the berth.dev/team label of team namespaces.
func (s NamespaceSelector) LabelSelector() *metav1.LabelSelector {
	req := metav1.LabelSelectorRequirement{Key: teamLabel, Operator: metav1.LabelSelectorOpExists}
	switch {
	case len(s.Teams) > 0:
		req = metav1.LabelSelectorRequirement{Key: teamLabel, Operator: metav1.LabelSelectorOpIn, Values: slices.Sorted(slices.Values(s.Teams))}
	case len(s.NotTeams) > 0:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req,
			{Key: teamLabel, Operator: metav1.LabelSelectorOpNotIn, Values: slices.Sorted(slices.Values(s.NotTeams))}}}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req}}
}

const teamLabel = "berth.dev/team"
